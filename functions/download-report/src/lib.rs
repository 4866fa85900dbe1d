//! # DownloadReport
//!
//! Streams the finished report from its `download_url` into the private
//! reports bucket (`<REPORTS_PREFIX><report_id>.csv`), decompressing gzip on
//! the way, and returns only where it put it: Step Functions caps a payload
//! at 256 KiB, a report can be gigabytes.
//!
//! Before a byte is stored the URL is checked ([`shared::url_policy`]: the
//! reporting API's host or an allowed one, https outside local mode, never an
//! internal address, on every redirect too) and the body's first bytes are
//! sniffed, so an HTML error page or an empty body fails with
//! `Csv.Malformed` instead of becoming a report.
//!
//! While it streams, the report is also scanned and gzipped (`profile.rs`)
//! into its profile and download beside it, so that UpdateSite reads it
//! once and compresses nothing.

mod profile;

use chrono::{DateTime, Utc};
use serde_json::Value;
use shared::config::{self, ConfigError, Lookup};
use shared::errors::{ErrorName, NamedError};
use shared::function::{Function, InitError};
use shared::payload::{self, PollOutcome, StoredReport};
use shared::pipe::pipe;
use shared::report_api::{
    ApiConfig, ApiError, BodyError, HttpReportApi, LimitedBody, ReportFetcher,
};
use shared::store::{ObjectWriter, PutRequest, S3Settings, S3Store, StoreError, MIN_PART_SIZE};
use tokio::io::{AsyncBufReadExt, BufReader};

/// DownloadReport's settings, read once at cold start.
#[derive(Debug, Clone)]
pub struct Config {
    pub api: ApiConfig,
    pub reports_bucket: String,
    pub reports_prefix: String,
    pub max_bytes: u64,
    /// UpdateSite's limits and diff size, which the profile is made with.
    pub limits: update_site::Limits,
    pub diff_max_bytes: u64,
}

impl Config {
    pub fn from_lookup(
        env: &dyn Lookup,
        token: Option<config::Secret>,
    ) -> Result<Self, ConfigError> {
        let api = ApiConfig::from_lookup(env, token)?;
        Ok(Config {
            api,
            reports_bucket: config::required(env, "REPORTS_BUCKET")?,
            reports_prefix: config::string_or(env, "REPORTS_PREFIX", "reports/"),
            max_bytes: config::parse_or(env, "MAX_REPORT_BYTES", 5 * 1024 * 1024 * 1024)?,
            limits: update_site::Limits::from_lookup(env)?,
            diff_max_bytes: update_site::diff_max_bytes(env)?,
        })
    }

    pub(crate) fn report_key(&self, report_id: &str) -> String {
        format!("{}{report_id}.csv", self.reports_prefix)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error("invalid input: {0}")]
    Input(String),
    #[error("refusing the download: {0}")]
    UrlRefused(String),
    #[error("the download is not a CSV report: {0}")]
    NotCsv(String),
    #[error(transparent)]
    Api(#[from] ApiError),
    /// Reading the download itself failed before anything was stored.
    #[error("reading the report from the reporting API failed: {0}")]
    Body(#[source] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl NamedError for DownloadError {
    fn name(&self) -> ErrorName {
        match self {
            DownloadError::Input(_) | DownloadError::UrlRefused(_) => ErrorName::InputInvalid,
            DownloadError::NotCsv(_) => ErrorName::CsvMalformed,
            DownloadError::Api(e) => e.name(),
            DownloadError::Body(e) => BodyError::classify(e),
            DownloadError::Store(e) => e.name(),
        }
    }
}

shared::impl_diagnostic!(DownloadError);

/// Handles one DownloadReport invocation.
pub async fn handle(
    fetcher: &impl ReportFetcher,
    store: &impl ObjectWriter,
    config: &Config,
    event: Value,
) -> Result<StoredReport, DownloadError> {
    let input: PollOutcome = payload::parse_input(event).map_err(DownloadError::Input)?;
    let report_id = payload::check_report_id(&input.report.report_id)
        .map_err(DownloadError::Input)?
        .to_string();
    let raw_url = input.download_url.as_deref().ok_or_else(|| {
        DownloadError::Input(format!(
            "download_url is null: the report is {}, not COMPLETED",
            input.status.as_str()
        ))
    })?;
    // The client checks again on every redirect hop; checking here too
    // refuses a bad URL before any connection, whatever the fetcher.
    let url = config
        .api
        .urls
        .check(raw_url)
        .map_err(DownloadError::UrlRefused)?;

    let download = fetcher.fetch(url.as_str()).await?;
    if let Some(kind) = download
        .content_type
        .as_deref()
        .filter(|t| t.starts_with("text/html") || t.contains("json"))
    {
        return Err(DownloadError::NotCsv(format!("the server sent {kind}")));
    }
    let mut body =
        BufReader::with_capacity(64 * 1024, LimitedBody::new(download.body, config.max_bytes));
    let head = body.fill_buf().await.map_err(DownloadError::Body)?;
    if head.is_empty() {
        return Err(DownloadError::NotCsv("the body is empty".into()));
    }
    if let Some(kind) = payload::sniff_non_csv(head) {
        return Err(DownloadError::NotCsv(format!("the body looks like {kind}")));
    }

    let req = PutRequest {
        bucket: config.reports_bucket.clone(),
        key: config.report_key(&report_id),
        content_type: "text/csv; charset=utf-8".into(),
        ..Default::default()
    };
    let keys = update_site::site::profile::keys(&req.key);
    let (gz_writer, gz_body) = pipe(8);
    let (tapped, profiler) = profile::start(
        body,
        gz_writer,
        config.limits.clone(),
        config.diff_max_bytes,
    );
    let gz_req = PutRequest {
        bucket: req.bucket.clone(),
        key: keys.gzip.clone(),
        content_type: "application/gzip".into(),
        ..Default::default()
    };
    // Each upload owns its reader, so that one ending (even failing) ends
    // the profiler's side too and neither waits on the other.
    let (stored, gz_stored) = tokio::join!(
        async {
            let mut tapped = tapped;
            store.put_stream(&req, &mut tapped).await
        },
        async {
            let mut gz_body = gz_body;
            store.put_stream(&gz_req, &mut gz_body).await
        }
    );
    let stored = stored?;
    let profiled = match (profiler.await, gz_stored) {
        (Ok(Ok(scanned)), Ok(_)) => match &stored.etag {
            Some(etag) => store_profile(store, &req.bucket, &keys, &scanned, etag)
                .await
                .map_err(|e| e.to_string()),
            None => Err("the upload returned no ETag".into()),
        },
        (Ok(Err(e)), _) => Err(e.to_string()),
        (Err(e), _) => Err(format!("the profiler stopped: {e}")),
        (Ok(Ok(_)), Err(e)) => Err(e.to_string()),
    };
    if let Err(why) = profiled {
        tracing::warn!(
            report_id,
            why,
            "no profile: UpdateSite reads the report twice"
        );
    }
    tracing::info!(
        report_id,
        bytes = stored.bytes,
        key = req.key,
        "report stored"
    );
    Ok(StoredReport {
        report_id,
        created_at: created_at(&input),
        bucket: req.bucket,
        key: req.key,
        bytes: stored.bytes,
    })
}

/// The fingerprints (for a report small enough), then the profile that
/// names them: a profile is only there once everything it names is.
async fn store_profile(
    store: &impl ObjectWriter,
    bucket: &str,
    keys: &update_site::site::profile::Keys,
    scanned: &update_site::site::scan::Scan,
    etag: &str,
) -> Result<(), StoreError> {
    let put = |key: &str, content_type: &str| PutRequest {
        bucket: bucket.to_string(),
        key: key.to_string(),
        content_type: content_type.into(),
        ..Default::default()
    };
    if let Some(f) = &scanned.fingerprints {
        let body = update_site::site::scan::encode(f);
        let req = put(&keys.rows, "application/octet-stream");
        store.put_bytes(&req, body.into()).await?;
    }
    let profile = update_site::site::profile::Profile::new(scanned, etag);
    let body = serde_json::to_vec(&profile).unwrap_or_default();
    store
        .put_bytes(&put(&keys.profile, "application/json"), body.into())
        .await?;
    Ok(())
}

fn created_at(input: &PollOutcome) -> DateTime<Utc> {
    input.report.created_at
}

/// DownloadReport as deployed: its settings, the reporting-API client and
/// the S3 client, built once.
pub struct DownloadReport {
    config: Config,
    api: HttpReportApi,
    store: S3Store,
}

#[async_trait::async_trait]
impl Function for DownloadReport {
    const NAME: &'static str = "DownloadReport";
    type Output = StoredReport;
    type Error = DownloadError;

    async fn build(env: &(dyn Lookup + Sync)) -> Result<Self, InitError> {
        let token = shared::secrets::resolve_token(env).await?;
        let config = Config::from_lookup(env, token)?;
        // This is the one function with both clients, and each reads the
        // system's root certificates when built (about 3 ms): build the
        // reporting-API client on a blocking thread while the S3 client is
        // built here, so init takes the longer of the two, not their sum.
        let api_config = config.api.clone();
        let api = tokio::task::spawn_blocking(move || HttpReportApi::new(api_config));
        // Two multipart uploads at once (the report and its gzip download),
        // each holding up to three parts: S3's smallest parts keep a 1 GB
        // report well within 64 MiB (make bench memory).
        let store = S3Store::new(S3Settings::from_lookup(env)?.client().await)
            .with_part_size(MIN_PART_SIZE);
        let api = api.await??;
        Ok(DownloadReport { config, api, store })
    }

    async fn handle(&self, event: Value) -> Result<StoredReport, DownloadError> {
        handle(&self.api, &self.store, &self.config, event).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use serde_json::json;
    use shared::report_api::Download;
    use shared::store::MemoryStore;
    use std::collections::HashMap;

    struct FakeFetcher(&'static [u8], Option<&'static str>);

    #[async_trait]
    impl ReportFetcher for FakeFetcher {
        async fn fetch(&self, _url: &str) -> Result<Download, ApiError> {
            Ok(Download {
                body: Box::pin(self.0),
                content_type: self.1.map(String::from),
            })
        }
    }

    struct GoneFetcher;

    #[async_trait]
    impl ReportFetcher for GoneFetcher {
        async fn fetch(&self, url: &str) -> Result<Download, ApiError> {
            Err(ApiError::Gone {
                url: url.into(),
                status: 404,
            })
        }
    }

    fn config() -> Config {
        Config::from_lookup(
            &HashMap::from([
                ("REPORT_API_URL", "https://api.example.com"),
                ("REPORTS_BUCKET", "reports"),
            ]),
            None,
        )
        .unwrap()
    }

    fn completed(url: &str) -> Value {
        json!({"report_id": "rpt-1", "status_url": "https://api.example.com/reports/rpt-1", "created_at": "2026-01-01T00:00:00Z",
               "poll_count": 2, "max_polls": 10, "wait_seconds": 10, "status": "COMPLETED", "download_url": url})
    }

    #[tokio::test]
    async fn given_a_completed_report_then_the_csv_is_stored_and_only_its_key_returned() {
        let store = MemoryStore::default();
        let out = handle(
            &FakeFetcher(b"a,b\n1,2\n", Some("text/csv")),
            &store,
            &config(),
            completed("https://api.example.com/f.csv"),
        )
        .await
        .unwrap();
        assert_eq!(
            (out.bucket.as_str(), out.key.as_str(), out.bytes),
            ("reports", "reports/rpt-1.csv", 8)
        );
        assert_eq!(
            store.get("reports", "reports/rpt-1.csv").unwrap().data,
            b"a,b\n1,2\n"
        );
    }

    #[tokio::test]
    async fn given_a_404_download_then_download_gone_and_nothing_stored() {
        let store = MemoryStore::default();
        let err = handle(
            &GoneFetcher,
            &store,
            &config(),
            completed("https://api.example.com/f.csv"),
        )
        .await
        .unwrap_err();
        assert_eq!(err.name(), ErrorName::DownloadGone);
        assert!(store.keys().is_empty());
    }

    #[tokio::test]
    async fn given_an_empty_or_html_body_then_csv_malformed_and_nothing_stored() {
        let store = MemoryStore::default();
        for fetcher in [
            FakeFetcher(b"", None),
            FakeFetcher(b"<html>oops</html>", None),
            FakeFetcher(b"a,b", Some("text/html")),
        ] {
            let err = handle(
                &fetcher,
                &store,
                &config(),
                completed("https://api.example.com/f.csv"),
            )
            .await
            .unwrap_err();
            assert_eq!(err.name(), ErrorName::CsvMalformed, "{err}");
        }
        assert!(store.keys().is_empty());
    }

    #[tokio::test]
    async fn given_a_null_download_url_then_input_invalid() {
        let mut input = completed("x");
        input["download_url"] = Value::Null;
        input["status"] = json!("IN_PROGRESS");
        let err = handle(
            &FakeFetcher(b"a\n", None),
            &MemoryStore::default(),
            &config(),
            input,
        )
        .await
        .unwrap_err();
        assert_eq!(err.name(), ErrorName::InputInvalid);
        assert!(err.to_string().contains("IN_PROGRESS"), "{err}");
    }

    /// A report of `rows` rows, leaked for the fetcher's `'static` body.
    fn report(rows: usize) -> &'static [u8] {
        let mut csv = b"id,amount,name\n".to_vec();
        for i in 0..rows {
            csv.extend(format!("{i},{}.5,\"Zoë <{i}>\"\n", i * 3).as_bytes());
        }
        Box::leak(csv.into_boxed_slice())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn given_a_report_when_stored_then_its_profile_and_download_are_beside_it() {
        // GIVEN a report of a few MB (many chunks through the profiler)
        let csv = report(200_000);
        let store = MemoryStore::default();
        // WHEN DownloadReport stores it
        handle(
            &FakeFetcher(csv, Some("text/csv")),
            &store,
            &config(),
            completed("https://api.example.com/f.csv"),
        )
        .await
        .unwrap();
        // THEN the download is the report gzipped
        let stored = store.get("reports", "reports/rpt-1.csv").unwrap();
        let gz = store.get("reports", "reports/rpt-1.csv.gz").unwrap();
        let mut unzipped = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(&gz.data[..]),
            &mut unzipped,
        )
        .unwrap();
        assert_eq!(unzipped, csv);
        // AND the profile names the stored CSV and is the first pass's scan
        let profile: update_site::site::profile::Profile = serde_json::from_slice(
            &store
                .get("reports", "reports/rpt-1.csv.profile.json")
                .unwrap()
                .data,
        )
        .unwrap();
        let scan = profile
            .scan_of(Some(&stored.etag), csv.len() as u64)
            .expect("the profile describes the stored CSV");
        let direct =
            update_site::site::scan::scan(csv, &update_site::Limits::default(), 20_000_000)
                .unwrap();
        assert_eq!(
            (scan.header, scan.types, scan.rows),
            (direct.header, direct.types, direct.rows)
        );
        // AND the fingerprints are stored for a report under the diff size
        let rows = store.get("reports", "reports/rpt-1.csv.rows.bin").unwrap();
        assert_eq!(
            update_site::site::scan::decode(&rows.data),
            direct.fingerprints
        );
    }

    #[tokio::test]
    async fn given_a_csv_the_scan_refuses_when_stored_then_it_is_stored_without_a_profile() {
        // GIVEN a ragged report (UpdateSite refuses it with a clear error)
        let store = MemoryStore::default();
        // WHEN DownloadReport stores it
        let out = handle(
            &FakeFetcher(b"a,b\n1,2\n3\n", Some("text/csv")),
            &store,
            &config(),
            completed("https://api.example.com/f.csv"),
        )
        .await;
        // THEN the report is stored, and no profile or download is
        assert!(out.is_ok(), "{out:?}");
        assert_eq!(
            store.keys(),
            [("reports".to_string(), "reports/rpt-1.csv".to_string())]
        );
    }

    #[tokio::test]
    async fn given_a_body_over_the_limit_then_limit_exceeded() {
        let mut cfg = config();
        cfg.max_bytes = 4;
        let store = MemoryStore::default();
        let err = handle(
            &FakeFetcher(b"a,b\n1,2\n", None),
            &store,
            &cfg,
            completed("https://api.example.com/f.csv"),
        )
        .await
        .unwrap_err();
        assert_eq!(err.name(), ErrorName::CsvLimitExceeded, "{err}");
        // AND neither the report nor a profile or download is stored
        assert!(store.keys().is_empty(), "{:?}", store.keys());
    }

    #[tokio::test]
    async fn given_a_download_url_on_another_host_then_refused_before_fetching() {
        let store = MemoryStore::default();
        for url in [
            "https://evil.example.net/f.csv",
            "http://api.example.com/f.csv",
            "https://169.254.169.254/latest/meta-data",
        ] {
            let err = handle(
                &FakeFetcher(b"a\n1\n", None),
                &store,
                &config(),
                completed(url),
            )
            .await
            .unwrap_err();
            assert_eq!(err.name(), ErrorName::InputInvalid, "{url}: {err}");
        }
        assert!(store.keys().is_empty());
    }
}
