//! Where everything of the site lives, and what every page says in its
//! head: keys relative to the site's root (`SITE_PREFIX` comes before them).
//!
//! - `index.html`: the latest report's first page;
//! - `archive.html`, `feed.xml`, `archive.json`: every published report;
//! - `assets/site.css`, `assets/site.js`: the one stylesheet and script;
//! - `reports/<id>/page-<n>.html`, `reports/<id>/manifest.json`,
//!   `reports/<id>/report.csv.gz` (the download, which the page script
//!   also reads to sort and filter a whole report),
//!   `reports/<id>/rows.bin` (row fingerprints for the next report's diff).

use std::fmt::Write as _;

/// The pages' Content-Security-Policy (the `<meta>` copy; the server or
/// CloudFront sends the same with `frame-ancestors 'none'`, which a meta
/// element cannot carry).
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'";

pub const HTML: &str = "text/html; charset=utf-8";
pub const JSON: &str = "application/json";

pub const INDEX: &str = "index.html";
pub const ARCHIVE_HTML: &str = "archive.html";
pub const FEED: &str = "feed.xml";
pub const ARCHIVE_JSON: &str = "archive.json";
/// A report's download, in its folder.
pub const DOWNLOAD: &str = "report.csv.gz";

/// From a report's folder back to the site's root.
pub const REPORT_TO_ROOT: &str = "../../";

pub fn report_dir(report_id: &str) -> String {
    format!("reports/{report_id}/")
}

pub fn page_file(page: u64) -> String {
    let mut s = String::new();
    push_page_file(&mut s, page);
    s
}

/// [`page_file`] appended to `s` (a page index writes a hundred per page).
pub(crate) fn push_page_file(s: &mut String, page: u64) {
    let _ = write!(s, "page-{page}.html");
}

/// `2026-12-04T06:00:00Z` → `2026-12-04 06:00 UTC`.
pub fn human_time(rfc3339: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(rfc3339) {
        Ok(t) => t
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%d %H:%M UTC")
            .to_string(),
        Err(_) => rfc3339.to_string(),
    }
}

/// The site's assets, published with every report (they are a few KB).
pub const ASSETS: [(&str, &str, &str); 3] = [
    (
        "assets/site.css",
        "text/css; charset=utf-8",
        include_str!("../../../../site/assets/site.css"),
    ),
    (
        "assets/site.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../site/assets/site.js"),
    ),
    (
        "assets/favicon.svg",
        "image/svg+xml",
        include_str!("../../../../site/assets/favicon.svg"),
    ),
];
