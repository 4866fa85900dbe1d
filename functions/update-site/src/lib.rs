//! # UpdateSite
//!
//! The last step: reads the stored CSV from S3 and publishes it as the
//! report site ([`site`]): pages of rows a reader can page through, sort and
//! filter, the CSV as a gzip download (which the page script also reads to
//! sort and filter a whole report that is small enough), a manifest,
//! and the archive of every report with what changed, as `archive.html` and
//! an Atom feed.
//!
//! The CSV is streamed twice (once for the column types and row count, once
//! to render), so memory stays at one page and the gzip upload's parts in
//! flight, whatever the report's size. Everything of a report is stored
//! under `reports/<id>/` before `archive.json`,
//! `index.html`, `archive.html` and `feed.xml` point to it, each by a
//! conditional write that never lets an older report replace a newer one,
//! so a failure at any point leaves the published site as it was.

pub mod render;
pub mod site;
mod swar;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;
use shared::config::{self, ConfigError, Lookup};
use shared::errors::{ErrorName, NamedError};
use shared::function::{Function, InitError};
use shared::payload::{self, PublishedSite, StoredReport};
use shared::store::{ObjectReader, ObjectWriter, S3Settings, S3Store, StoreError, MIN_PART_SIZE};

pub use render::{Limits, RenderError};

/// `SITE_DIFF_MAX_BYTES` (20 MB): also read by DownloadReport, whose profile
/// keeps the fingerprints of a report up to this size.
pub fn diff_max_bytes(env: &dyn config::Lookup) -> Result<u64, config::ConfigError> {
    config::parse_or(env, "SITE_DIFF_MAX_BYTES", 20_000_000)
}

/// UpdateSite's settings, read once at cold start.
#[derive(Debug, Clone)]
pub struct Config {
    pub site_bucket: String,
    /// Prefix of every site key, e.g. `""` or `reports-site/`.
    pub site_prefix: String,
    pub title: String,
    pub index_cache_control: String,
    pub archive_cache_control: String,
    pub limits: Limits,
    /// Rows per page (`SITE_PAGE_ROWS`; 0, the default: about 5,000 cells a page).
    pub page_rows: usize,
    /// Reports up to this size (`SITE_DATA_MAX_BYTES`, 20 MB) are sortable and
    /// filterable whole in the browser; larger ones page by page.
    pub data_max_bytes: u64,
    /// Reports up to this size (`SITE_DIFF_MAX_BYTES`, 20 MB) are compared row
    /// by row with the report before; larger ones by their row and byte counts.
    pub diff_max_bytes: u64,
    /// Reports kept (`SITE_KEEP_REPORTS`; 0, the default, keeps them all):
    /// older ones leave the archive and their objects are deleted.
    pub keep_reports: usize,
    /// The schedule's period in seconds (`SITE_SCHEDULE_PERIOD_SECONDS`; the
    /// same figure the stale alarm uses), for the pages to say when the next
    /// report is expected; unset (or 0) says nothing.
    pub schedule_period_seconds: Option<i64>,
}

impl Config {
    pub fn from_lookup(env: &dyn Lookup) -> Result<Self, ConfigError> {
        Ok(Config {
            site_bucket: config::required(env, "SITE_BUCKET")?,
            site_prefix: config::string_or(env, "SITE_PREFIX", ""),
            title: config::string_or(env, "SITE_TITLE", "Report"),
            // Short, so readers see a new report within a minute of publishing.
            index_cache_control: config::string_or(
                env,
                "SITE_INDEX_CACHE_CONTROL",
                "public, max-age=60",
            ),
            // An archived page never changes once published.
            archive_cache_control: config::string_or(
                env,
                "SITE_ARCHIVE_CACHE_CONTROL",
                "public, max-age=86400",
            ),
            limits: Limits::from_lookup(env)?,
            page_rows: config::parse_or(env, "SITE_PAGE_ROWS", 0)?,
            data_max_bytes: config::parse_or(env, "SITE_DATA_MAX_BYTES", 20_000_000)?,
            diff_max_bytes: diff_max_bytes(env)?,
            keep_reports: config::parse_or(env, "SITE_KEEP_REPORTS", 0)?,
            schedule_period_seconds: match env.get("SITE_SCHEDULE_PERIOD_SECONDS") {
                Some(_) => Some(config::parse_or(env, "SITE_SCHEDULE_PERIOD_SECONDS", 0)?)
                    .filter(|s| *s > 0),
                None => None,
            },
        })
    }

    pub fn index_key(&self) -> String {
        format!("{}index.html", self.site_prefix)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("invalid input: {0}")]
    Input(String),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Another run kept publishing `index.html` between our look and our write.
    #[error("index.html kept changing under this run ({attempts} conditional writes lost); a concurrent run published instead")]
    Superseded { attempts: usize },
    /// A bug in the renderer; the published site is untouched.
    #[error("the renderer panicked: {0}")]
    Panicked(String),
}

impl NamedError for UpdateError {
    fn name(&self) -> ErrorName {
        match self {
            UpdateError::Input(_) => ErrorName::InputInvalid,
            UpdateError::Render(e) => e.name(),
            UpdateError::Store(e) => e.name(),
            UpdateError::Superseded { .. } => ErrorName::SiteSuperseded,
            UpdateError::Panicked(_) => ErrorName::FunctionPanicked,
        }
    }
}

shared::impl_diagnostic!(UpdateError);

/// Handles one UpdateSite invocation.
pub async fn handle<S>(
    store: Arc<S>,
    config: &Config,
    event: Value,
    now: DateTime<Utc>,
) -> Result<PublishedSite, UpdateError>
where
    S: ObjectReader + ObjectWriter + 'static,
{
    let input: StoredReport = payload::parse_input(event).map_err(UpdateError::Input)?;
    let report_id = payload::check_report_id(&input.report_id)
        .map_err(UpdateError::Input)?
        .to_string();
    let published = site::publish::publish(store, config, &input, &report_id, now).await?;
    tracing::info!(
        report_id,
        rows = published.rows,
        bytes = published.bytes,
        index_updated = published.index_updated,
        "report published"
    );
    if !published.index_updated {
        tracing::warn!(
            report_id,
            "index.html already shows a newer report; left it, this report is archived only"
        );
    }
    Ok(published)
}

pub use site::publish::{META_CREATED_AT, META_REPORT_ID};

/// The message a panic carried, when it was text.
pub(crate) fn panic_message(e: tokio::task::JoinError) -> String {
    match e.try_into_panic() {
        Ok(p) => p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into()),
        Err(e) => e.to_string(),
    }
}

/// UpdateSite as deployed: its settings and the S3 client, built once.
pub struct UpdateSite {
    config: Config,
    store: Arc<S3Store>,
}

#[async_trait::async_trait]
impl Function for UpdateSite {
    const NAME: &'static str = "UpdateSite";
    type Output = PublishedSite;
    type Error = UpdateError;

    async fn build(env: &(dyn Lookup + Sync)) -> Result<Self, InitError> {
        let config = Config::from_lookup(env)?;
        // The gzip download's parts are in memory beside the pages being
        // uploaded: S3's smallest parts keep a 1 GB report within 64 MiB.
        let client = S3Settings::from_lookup(env)?.client().await;
        let store = Arc::new(S3Store::new(client).with_part_size(MIN_PART_SIZE));
        Ok(UpdateSite { config, store })
    }

    async fn handle(&self, event: Value) -> Result<PublishedSite, UpdateError> {
        handle(self.store.clone(), &self.config, event, Utc::now()).await
    }
}

impl UpdateSite {
    /// Points the published site back at report `to`, or at the one before
    /// the report it shows (`make rollback`), with the same settings and
    /// client UpdateSite publishes with.
    pub async fn rollback(
        &self,
        to: Option<&str>,
    ) -> Result<site::rollback::RolledBack, UpdateError> {
        site::rollback::rollback(self.store.as_ref(), &self.config, to).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use shared::store::MemoryStore;
    use std::collections::HashMap;

    fn config() -> Config {
        Config::from_lookup(&HashMap::from([
            ("SITE_BUCKET", "site"),
            ("SITE_TITLE", "Daily"),
        ]))
        .unwrap()
    }

    fn event() -> Value {
        json!({"report_id": "rpt-1", "created_at": "2026-01-01T00:00:00Z", "bucket": "reports", "key": "reports/rpt-1.csv", "bytes": 10})
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn given_a_stored_csv_when_handled_then_pages_data_download_manifest_and_archive_are_published(
    ) {
        let store = Arc::new(MemoryStore::default());
        store.insert(
            "reports",
            "reports/rpt-1.csv",
            "a,n\n1,<i>2</i>\n2,1234.5\n",
        );
        let out = handle(store.clone(), &config(), event(), Utc::now())
            .await
            .unwrap();
        assert_eq!(out.rows, 2);
        assert_eq!(out.index_key, "index.html");
        assert_eq!(out.archive_key, "reports/rpt-1/page-1.html");
        let index = store.get("site", "index.html").unwrap();
        assert_eq!(index.content_type, site::layout::HTML);
        assert_eq!(index.cache_control.as_deref(), Some("public, max-age=60"));
        let html = String::from_utf8(index.data).unwrap();
        assert!(
            html.contains("<td class=\"num\">1</td>") && !html.contains("<i>2</i>"),
            "{html}"
        );
        assert!(
            html.contains("href=\"reports/rpt-1/report.csv.gz\""),
            "{html}"
        );
        let page = store.get("site", "reports/rpt-1/page-1.html").unwrap();
        assert_eq!(page.cache_control.as_deref(), Some("public, max-age=86400"));
        assert!(String::from_utf8(page.data)
            .unwrap()
            .contains("href=\"../../assets/site.css\""));
        let gz = store.get("site", "reports/rpt-1/report.csv.gz").unwrap();
        assert_eq!(gz.content_encoding.as_deref(), Some("gzip"));
        let mut csv = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz.data[..]), &mut csv)
            .unwrap();
        assert_eq!(csv, "a,n\n1,<i>2</i>\n2,1234.5\n");
        let manifest: Value = serde_json::from_slice(
            &store
                .get("site", "reports/rpt-1/manifest.json")
                .unwrap()
                .data,
        )
        .unwrap();
        assert_eq!(manifest["rows"], 2);
        assert_eq!(
            manifest["columns"][0],
            json!({"name": "a", "type": "integer"})
        );
        assert_eq!(manifest["columns"][1]["type"], "text");
        // AND the page script may load it whole, from the download: the
        // rows are not written a second time
        assert_eq!(manifest["data"], json!({"complete": true}));
        assert_eq!(manifest["csv"], "report.csv.gz");
        let report: Vec<String> = store
            .keys()
            .into_iter()
            .filter(|(b, k)| b == "site" && k.starts_with("reports/rpt-1/"))
            .map(|(_, k)| k)
            .collect();
        assert_eq!(
            report.len(),
            4,
            "page, download, manifest, fingerprints: {report:?}"
        );
        let archive = String::from_utf8(store.get("site", "archive.html").unwrap().data).unwrap();
        assert!(archive.contains("reports/rpt-1/page-1.html"), "{archive}");
        assert!(store.get("site", "feed.xml").is_some());
        assert!(store.get("site", "assets/site.js").is_some());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn given_three_reports_and_a_retention_of_two_when_published_then_the_oldest_leaves_the_archive_and_the_bucket(
    ) {
        let store = Arc::new(MemoryStore::default());
        let mut config = config();
        config.keep_reports = 2;
        for (i, csv) in ["k,v\n1,a\n2,b\n", "k,v\n1,a\n2,x\n3,c\n", "k,v\n3,c\n"]
            .iter()
            .enumerate()
        {
            let id = format!("rpt-{i}");
            store.insert("reports", &format!("reports/{id}.csv"), *csv);
            let event = json!({"report_id": id, "created_at": format!("2026-01-0{}T00:00:00Z", i + 1),
                "bucket": "reports", "key": format!("reports/{id}.csv"), "bytes": 1});
            handle(store.clone(), &config, event, Utc::now())
                .await
                .unwrap();
        }
        let keys: Vec<String> = store
            .keys()
            .into_iter()
            .filter(|(b, _)| b == "site")
            .map(|(_, k)| k)
            .collect();
        assert!(
            !keys.iter().any(|k| k.starts_with("reports/rpt-0/")),
            "{keys:?}"
        );
        assert!(
            keys.iter().any(|k| k.starts_with("reports/rpt-1/")),
            "{keys:?}"
        );
        let archive: site::archive::Archive =
            serde_json::from_slice(&store.get("site", "archive.json").unwrap().data).unwrap();
        let ids: Vec<&str> = archive
            .reports
            .iter()
            .map(|e| e.report_id.as_str())
            .collect();
        assert_eq!(ids, ["rpt-2", "rpt-1"]);
        // rpt-1 against rpt-0: row 2 changed, row 3 added; rpt-2 against rpt-1: 1 and 2 removed.
        let changes = |i: usize| archive.reports[i].changes.unwrap();
        assert_eq!(
            (changes(1).added, changes(1).removed, changes(1).changed),
            (1, 0, 1)
        );
        assert_eq!(
            (changes(0).added, changes(0).removed, changes(0).changed),
            (0, 2, 0)
        );
        let html = String::from_utf8(store.get("site", "archive.html").unwrap().data).unwrap();
        assert!(
            !html.contains("rpt-0") && html.contains("0 added, 2 removed, 0 changed (by k)."),
            "{html}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn given_the_schedule_period_when_published_then_every_page_says_when_the_next_report_is_expected(
    ) {
        let store = Arc::new(MemoryStore::default());
        store.insert("reports", "reports/rpt-1.csv", "a\n1\n");
        let config = Config::from_lookup(&HashMap::from([
            ("SITE_BUCKET", "site"),
            ("SITE_SCHEDULE_PERIOD_SECONDS", "3600"),
        ]))
        .unwrap();
        let now = DateTime::parse_from_rfc3339("2026-12-04T06:02:30Z")
            .unwrap()
            .to_utc();
        handle(store.clone(), &config, event(), now).await.unwrap();
        for key in ["index.html", "reports/rpt-1/page-1.html"] {
            let html = String::from_utf8(store.get("site", key).unwrap().data).unwrap();
            assert!(
                html.contains("Next report expected by <time datetime=\"2026-12-04T07:02:30Z\">2026-12-04 07:02 UTC</time>."),
                "{key}: {html}"
            );
        }
        // Unset or 0: the page says nothing of it.
        let quiet = Config::from_lookup(&HashMap::from([
            ("SITE_BUCKET", "site"),
            ("SITE_SCHEDULE_PERIOD_SECONDS", "0"),
        ]))
        .unwrap();
        handle(store.clone(), &quiet, event(), now).await.unwrap();
        let html = String::from_utf8(store.get("site", "index.html").unwrap().data).unwrap();
        assert!(!html.contains("Next report"), "{html}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn given_a_ragged_csv_when_handled_then_csv_malformed_and_nothing_is_published() {
        let store = Arc::new(MemoryStore::default());
        store.insert("reports", "reports/rpt-1.csv", "a,b\n1\n");
        store.insert("site", "index.html", "previous page");
        let err = handle(store.clone(), &config(), event(), Utc::now())
            .await
            .unwrap_err();
        assert_eq!(err.name(), ErrorName::CsvMalformed);
        assert_eq!(
            store.get("site", "index.html").unwrap().data,
            b"previous page"
        );
        assert_eq!(store.keys().iter().filter(|(b, _)| b == "site").count(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn given_a_csv_not_utf8_pages_in_when_handled_then_csv_malformed_and_no_page_is_left() {
        // GIVEN a report without a profile, valid for three pages, then a
        // byte that is not UTF-8
        let store = Arc::new(MemoryStore::default());
        let mut csv = b"id,name\n".to_vec();
        for i in 0..2_500 {
            csv.extend(format!("{i},name {i}\n").bytes());
        }
        csv.extend(b"2500,Jos\xe9\n");
        store.insert("reports", "reports/rpt-1.csv", csv);
        store.insert("site", "index.html", "previous page");
        // WHEN handled
        let err = handle(store.clone(), &config(), event(), Utc::now())
            .await
            .unwrap_err();
        // THEN it is refused by the first pass, before any page is written
        assert_eq!(err.name(), ErrorName::CsvMalformed);
        assert!(err.to_string().contains("line 2502"), "{err}");
        let site: Vec<_> = store
            .keys()
            .into_iter()
            .filter(|(b, _)| b == "site")
            .collect();
        assert_eq!(site, [("site".to_string(), "index.html".to_string())]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn given_a_payload_missing_the_key_then_input_invalid_naming_the_field() {
        let store = Arc::new(MemoryStore::default());
        let err = handle(
            store,
            &config(),
            json!({"report_id": "r", "bucket": "b"}),
            Utc::now(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.name(), ErrorName::InputInvalid);
        assert!(err.to_string().contains("missing field"), "{err}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn given_a_missing_object_then_storage_failed() {
        let store = Arc::new(MemoryStore::default());
        let err = handle(store, &config(), event(), Utc::now())
            .await
            .unwrap_err();
        assert_eq!(err.name(), ErrorName::StorageFailed);
    }

    #[test]
    fn missing_site_bucket_names_the_variable() {
        let err = Config::from_lookup(&HashMap::<&str, &str>::new()).unwrap_err();
        assert!(err.to_string().contains("SITE_BUCKET"));
    }
}
