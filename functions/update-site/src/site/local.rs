//! The site of one report written into a folder, as UpdateSite would publish
//! it to an empty bucket: `make render` (the `render` binary), to look at the
//! pages before deploying.

use std::fs;
use std::io::{self, BufReader};
use std::path::Path;

use flate2::write::GzEncoder;

use super::archive::{self, Archive, ArchiveEntry};
use super::layout;
use super::pages::{self, PageOptions, Rendered, SiteMeta, SiteObject};
use super::scan::{self, Scan};
use crate::render::{Limits, RenderError};

fn write(out: &Path, rel: &str, body: &[u8]) -> io::Result<()> {
    let path = out.join(rel);
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    fs::write(path, body)
}

/// Renders the CSV file `csv` into the folder `out`.
pub fn render_to_folder(
    csv: &Path,
    out: &Path,
    meta: &SiteMeta,
    opts: PageOptions,
    limits: &Limits,
    created_at: &str,
) -> Result<(Scan, Rendered), RenderError> {
    let open = || fs::File::open(csv).map(|f| BufReader::with_capacity(256 * 1024, f));
    let scanned = scan::scan(open().map_err(RenderError::Read)?, limits, u64::MAX)?;
    let folder = layout::report_dir(&meta.report_id);
    let gz_path = out.join(format!("{folder}{}", layout::DOWNLOAD));
    fs::create_dir_all(out.join(&folder)).map_err(RenderError::Write)?;
    let gz = GzEncoder::new(
        fs::File::create(&gz_path).map_err(RenderError::Write)?,
        flate2::Compression::fast(),
    );
    let mut emit = |o: SiteObject| write(out, &o.key, &o.body);
    let (rendered, gz) = pages::render(
        open().map_err(RenderError::Read)?,
        gz,
        &scanned,
        meta,
        opts,
        limits,
        &mut emit,
    )?;
    gz.finish().map_err(RenderError::Write)?;
    let fail = |e: askama::Error| RenderError::Write(io::Error::other(e));
    let mut a = Archive::default();
    a.insert(ArchiveEntry {
        report_id: meta.report_id.clone(),
        created_at: created_at.to_string(),
        published_at: meta.generated_at.clone(),
        rows: scanned.rows,
        columns: scanned.header.len(),
        bytes: scanned.bytes,
        pages: rendered.pages,
        key: scanned.header.first().cloned().unwrap_or_default(),
        changes: None,
        compared_with: None,
    });
    let manifest = pages::manifest(meta, created_at, &scanned, &rendered, opts);
    let files = [
        (
            format!("{folder}manifest.json"),
            serde_json::to_vec_pretty(&manifest).unwrap_or_default(),
        ),
        (layout::INDEX.to_string(), rendered.index.clone()),
        (
            layout::ARCHIVE_HTML.to_string(),
            archive::archive_html(&a, &meta.title)
                .map_err(fail)?
                .into_bytes(),
        ),
        (
            layout::FEED.to_string(),
            archive::feed_xml(&a, &meta.title, "urn:report-pipeline:local")
                .map_err(fail)?
                .into_bytes(),
        ),
        (
            layout::ARCHIVE_JSON.to_string(),
            serde_json::to_vec_pretty(&a).unwrap_or_default(),
        ),
    ];
    for (rel, body) in files {
        write(out, &rel, &body).map_err(RenderError::Write)?;
    }
    for (rel, _, body) in layout::ASSETS {
        write(out, rel, body.as_bytes()).map_err(RenderError::Write)?;
    }
    Ok((scanned, rendered))
}
