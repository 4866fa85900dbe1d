//! `render FILE.csv OUT_DIR`: writes the site UpdateSite would publish for
//! this CSV (every page, the download, the manifest, the
//! archive and feed, the assets) into `OUT_DIR`, to look at before deploying.

use std::path::Path;
use std::process::ExitCode;

use update_site::site::local::render_to_folder;
use update_site::site::pages::{PageOptions, SiteMeta};
use update_site::Limits;

const USAGE: &str =
    "usage: render [--title TITLE] [--report-id ID] [--page-rows N] FILE.csv OUT_DIR";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (mut title, mut report_id, mut page_rows) =
        ("Report".to_string(), "preview".to_string(), 0usize);
    let mut positional = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            "--title" => title = args.next().unwrap_or_default(),
            "--report-id" => report_id = args.next().unwrap_or_default(),
            "--page-rows" => page_rows = args.next().and_then(|n| n.parse().ok()).unwrap_or(0),
            _ => positional.push(arg),
        }
    }
    let [csv, out] = positional.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let meta = SiteMeta {
        title,
        report_id,
        generated_at: now.clone(),
        next_expected: None,
    };
    let limits = match Limits::from_lookup(&shared::config::ProcessEnv) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("render: {e}");
            return ExitCode::from(2);
        }
    };
    let opts = PageOptions {
        page_rows,
        data: true,
    };
    match render_to_folder(Path::new(csv), Path::new(out), &meta, opts, &limits, &now) {
        Ok((scan, rendered)) => {
            eprintln!(
                "render: {} rows, {} columns, {} pages in {out} (open {out}/index.html)",
                scan.rows,
                scan.header.len(),
                rendered.pages
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("render: {} ({})", e, e.name());
            ExitCode::FAILURE
        }
    }
}
