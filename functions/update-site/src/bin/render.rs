//! `render FILE.csv > page.html` (or `render < FILE.csv`): renders a CSV
//! exactly as UpdateSite publishes it, to preview a page locally.

use std::io::{self, Read};
use std::process::ExitCode;

use update_site::{render_csv, Limits, PageMeta};

const USAGE: &str = "usage: render [--title TITLE] [--report-id ID] [FILE.csv | -] > page.html";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (mut title, mut report_id, mut file) = ("Report".to_string(), "preview".to_string(), None);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            "--title" => title = args.next().unwrap_or_default(),
            "--report-id" => report_id = args.next().unwrap_or_default(),
            _ if file.is_none() => file = Some(arg),
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let input: Box<dyn Read> = match file.as_deref() {
        None | Some("-") => Box::new(io::stdin().lock()),
        Some(path) => match std::fs::File::open(path) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("render: cannot open {path}: {e}");
                return ExitCode::from(2);
            }
        },
    };
    let meta = PageMeta {
        title,
        report_id,
        generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    };
    let limits = match Limits::from_lookup(&shared::config::ProcessEnv) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("render: {e}");
            return ExitCode::from(2);
        }
    };
    match render_csv(input, io::stdout().lock(), &meta, &limits) {
        Ok(stats) => {
            eprintln!(
                "render: {} rows, {} columns, {} bytes in, {} bytes out",
                stats.rows, stats.columns, stats.bytes_in, stats.bytes_out
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("render: {} ({})", e, e.name());
            ExitCode::FAILURE
        }
    }
}
