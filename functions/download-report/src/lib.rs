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

use chrono::{DateTime, Utc};
use serde_json::Value;
use shared::config::{self, ConfigError, Lookup};
use shared::errors::{ErrorName, NamedError};
use shared::function::{Function, InitError};
use shared::payload::{self, PollOutcome, StoredReport};
use shared::report_api::{
    ApiConfig, ApiError, BodyError, HttpReportApi, LimitedBody, ReportFetcher,
};
use shared::store::{ObjectWriter, PutRequest, S3Settings, S3Store, StoreError};
use tokio::io::{AsyncBufReadExt, BufReader};

/// DownloadReport's settings, read once at cold start.
#[derive(Debug, Clone)]
pub struct Config {
    pub api: ApiConfig,
    pub reports_bucket: String,
    pub reports_prefix: String,
    pub max_bytes: u64,
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
    let stored = store.put_stream(&req, &mut body).await?;
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
        let store = S3Store::new(S3Settings::from_lookup(env)?.client().await);
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

    #[tokio::test]
    async fn given_a_body_over_the_limit_then_limit_exceeded() {
        let mut cfg = config();
        cfg.max_bytes = 4;
        let err = handle(
            &FakeFetcher(b"a,b\n1,2\n", None),
            &MemoryStore::default(),
            &cfg,
            completed("https://api.example.com/f.csv"),
        )
        .await
        .unwrap_err();
        assert_eq!(err.name(), ErrorName::CsvLimitExceeded, "{err}");
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
