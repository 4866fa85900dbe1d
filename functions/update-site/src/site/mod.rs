//! # The published site
//!
//! A report becomes a set of static pages a reader can page through, sort,
//! filter and download, and the site keeps an archive of every report.
//!
//! - `layout.rs`: where everything lives, the CSP, the assets;
//! - `tokenizer.rs`: CSV bytes cut into records as the csv crate cuts them;
//! - `source.rs`: the stored CSV read row by row within the limits;
//! - `columns.rs`: column types and number formatting;
//! - `scan.rs`: the first pass (types, rows, fingerprints for the diff);
//! - `profile.rs`: the first pass and the download, made by DownloadReport;
//! - `pages.rs`: the second pass (pages, the gzip download);
//! - `nav.rs`: a page's pager and page index;
//! - `archive.rs`: `archive.json`, `archive.html`, `feed.xml`;
//! - `publish.rs`: the order of writes that keeps the site whole;
//! - `rollback.rs`: the site pointed back at an earlier report;
//! - `writes.rs`: the bucket as both write it, one conditional-write loop;
//! - `local.rs`: the same site written into a folder (`make render`).

pub mod archive;
pub mod columns;
pub mod layout;
pub mod local;
mod nav;
pub mod pages;
pub mod profile;
pub(crate) mod publish;
pub(crate) mod record;
pub mod rollback;
pub mod scan;
pub(crate) mod source;
mod tokenizer;
mod writes;
