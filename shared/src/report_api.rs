//! The reporting API: the traits the handlers depend on, and the HTTP client
//! that implements them.
//!
//! Handlers take only the capability they use ([`ReportCreator`],
//! [`StatusReader`], [`ReportFetcher`]) so their unit tests can fake one
//! method instead of a whole API. [`HttpReportApi`] implements all three with
//! reqwest; [`ApiDialect`] maps a real API's field names and status words onto
//! the pipeline's own.

use std::io;
use std::pin::Pin;
use std::time::Duration;

use async_compression::tokio::bufread::GzipDecoder;
use async_trait::async_trait;
use futures::TryStreamExt;
use reqwest::header::{HeaderName, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE};
use reqwest::StatusCode;
use serde_json::{Map, Value};
use tokio::io::{AsyncRead, BufReader};
use tokio_util::io::StreamReader;

use crate::config::{self, ConfigError, Lookup, Secret};
use crate::errors::ErrorName;
use crate::payload::ReportStatus;
use crate::url_policy::UrlPolicy;

/// A report the API accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct CreatedReport {
    pub report_id: String,
    pub status_url: String,
}

/// One status reply, already translated through the dialect.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusReply {
    pub status: ReportStatus,
    pub download_url: Option<String>,
}

/// A streaming, already-decompressed report body.
pub struct Download {
    pub body: Pin<Box<dyn AsyncRead + Send>>,
    /// The media type the server declared, if any (used to refuse HTML or JSON
    /// error pages that a misbehaving API returns with status 200).
    pub content_type: Option<String>,
}

#[async_trait]
pub trait ReportCreator: Send + Sync {
    async fn create(
        &self,
        parameters: &Map<String, Value>,
        idempotency_key: Option<&str>,
    ) -> Result<CreatedReport, ApiError>;
}

#[async_trait]
pub trait StatusReader: Send + Sync {
    async fn status(&self, status_url: &str) -> Result<StatusReply, ApiError>;
}

#[async_trait]
pub trait ReportFetcher: Send + Sync {
    async fn fetch(&self, download_url: &str) -> Result<Download, ApiError>;
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Transport failures, timeouts, 5xx and 429: worth retrying.
    #[error("reporting API unavailable ({context}): {reason}")]
    Unavailable { context: String, reason: String },
    /// 4xx other than 429: retrying will not help.
    #[error("reporting API rejected the request ({context}): HTTP {status}: {body}")]
    Rejected {
        context: String,
        status: u16,
        body: String,
    },
    /// 403/404/410 on a download URL: the file is missing or the link expired.
    #[error("report download is gone: HTTP {status} from {url}")]
    Gone { url: String, status: u16 },
    /// A reply we cannot understand.
    #[error("reporting API answered something unexpected ({context}): {reason}")]
    BadResponse { context: String, reason: String },
    /// A URL (or a redirect) the [`UrlPolicy`] does not allow.
    #[error("refusing to fetch the {what}: {reason}")]
    Refused { what: &'static str, reason: String },
}

impl ApiError {
    pub fn name(&self) -> ErrorName {
        match self {
            ApiError::Unavailable { .. } => ErrorName::ReportApiUnavailable,
            ApiError::Rejected { .. } => ErrorName::ReportApiRejected,
            ApiError::Gone { .. } => ErrorName::DownloadGone,
            ApiError::BadResponse { .. } => ErrorName::ReportApiBadResponse,
            ApiError::Refused { .. } => ErrorName::InputInvalid,
        }
    }
}

/// How a real reporting API spells things. The defaults are the pipeline's
/// own contract (`status`, `IN_PROGRESS`/`COMPLETED`/`FAILED`, `download_url`).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiDialect {
    pub id_field: String,
    pub status_url_field: String,
    pub status_field: String,
    pub download_url_field: String,
    pub in_progress: Vec<String>,
    pub completed: Vec<String>,
    pub failed: Vec<String>,
}

impl Default for ApiDialect {
    fn default() -> Self {
        ApiDialect {
            id_field: "report_id".into(),
            status_url_field: "status_url".into(),
            status_field: "status".into(),
            download_url_field: "download_url".into(),
            in_progress: vec!["IN_PROGRESS".into()],
            completed: vec!["COMPLETED".into()],
            failed: vec!["FAILED".into()],
        }
    }
}

impl ApiDialect {
    pub fn from_lookup(env: &dyn Lookup) -> Self {
        let d = ApiDialect::default();
        ApiDialect {
            id_field: config::string_or(env, "REPORT_ID_FIELD", &d.id_field),
            status_url_field: config::string_or(
                env,
                "REPORT_STATUS_URL_FIELD",
                &d.status_url_field,
            ),
            status_field: config::string_or(env, "REPORT_STATUS_FIELD", &d.status_field),
            download_url_field: config::string_or(
                env,
                "REPORT_DOWNLOAD_URL_FIELD",
                &d.download_url_field,
            ),
            in_progress: config::list_or(env, "REPORT_STATUS_IN_PROGRESS", &["IN_PROGRESS"]),
            completed: config::list_or(env, "REPORT_STATUS_COMPLETED", &["COMPLETED"]),
            failed: config::list_or(env, "REPORT_STATUS_FAILED", &["FAILED"]),
        }
    }

    /// Translates a status body. An unknown status word is an error rather
    /// than "still in progress": polling on a word we do not understand would
    /// burn the whole poll budget and hide the real problem.
    pub fn read_status(&self, body: &Value) -> Result<StatusReply, String> {
        let word = match lookup_field(body, &self.status_field) {
            Some(Value::String(s)) => s.as_str(),
            Some(other) => {
                return Err(format!(
                    "field {:?} is not a string: {other}",
                    self.status_field
                ))
            }
            None => return Err(format!("field {:?} is missing", self.status_field)),
        };
        let status = if self.completed.iter().any(|w| w == word) {
            ReportStatus::Completed
        } else if self.failed.iter().any(|w| w == word) {
            ReportStatus::Failed
        } else if self.in_progress.iter().any(|w| w == word) {
            ReportStatus::InProgress
        } else {
            return Err(format!(
                "unknown status {word:?} in field {:?}",
                self.status_field
            ));
        };
        let download_url = match lookup_field(body, &self.download_url_field) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                return Err(format!(
                    "field {:?} is not a string: {other}",
                    self.download_url_field
                ))
            }
        };
        if status == ReportStatus::Completed && download_url.is_none() {
            return Err(format!(
                "status is {word:?} but field {:?} is empty",
                self.download_url_field
            ));
        }
        Ok(StatusReply {
            status,
            download_url,
        })
    }

    pub fn read_created(&self, body: &Value) -> Result<CreatedReport, String> {
        let text = |field: &str| match lookup_field(body, field) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            Some(other) => Err(format!(
                "field {field:?} is not a non-empty string: {other}"
            )),
            None => Err(format!("field {field:?} is missing")),
        };
        Ok(CreatedReport {
            report_id: text(&self.id_field)?,
            status_url: text(&self.status_url_field)?,
        })
    }
}

/// A field by name, or by a dotted path (`data.status`) for APIs that nest.
fn lookup_field<'a>(body: &'a Value, field: &str) -> Option<&'a Value> {
    if let Some(v) = body.get(field) {
        return Some(v);
    }
    field.split('.').try_fold(body, |v, part| v.get(part))
}

/// How to authenticate to the reporting API.
#[derive(Debug, Clone)]
pub struct Auth {
    pub header: HeaderName,
    pub token: Secret,
}

impl Auth {
    fn header_value(&self) -> HeaderValue {
        let raw = if self.header == reqwest::header::AUTHORIZATION {
            format!("Bearer {}", self.token.expose())
        } else {
            self.token.expose().to_string()
        };
        let mut value =
            HeaderValue::from_str(&raw).unwrap_or_else(|_| HeaderValue::from_static(""));
        value.set_sensitive(true);
        value
    }
}

/// Everything needed to talk to the reporting API.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub base_url: String,
    pub auth: Option<Auth>,
    pub dialect: ApiDialect,
    pub connect_timeout: Duration,
    /// Time allowed for a whole status/create request, and between two reads
    /// of a download body (downloads themselves may take minutes).
    pub timeout: Duration,
    /// Which status and download URLs may be fetched.
    pub urls: UrlPolicy,
    pub retry: RetryPolicy,
}

impl ApiConfig {
    /// Reads the API settings. The token itself is passed in, because where it
    /// comes from (SSM at init, or a plain variable locally) is decided by
    /// [`crate::secrets`].
    pub fn from_lookup(env: &dyn Lookup, token: Option<Secret>) -> Result<Self, ConfigError> {
        let base_url = config::string_or(env, "REPORT_API_URL", "")
            .trim_end_matches('/')
            .to_string();
        let header_name = config::string_or(env, "REPORT_API_AUTH_HEADER", "Authorization");
        let header =
            HeaderName::from_bytes(header_name.as_bytes()).map_err(|e| ConfigError::Invalid {
                name: "REPORT_API_AUTH_HEADER".into(),
                value: header_name.clone(),
                reason: e.to_string(),
            })?;
        Ok(ApiConfig {
            auth: token.map(|token| Auth { header, token }),
            dialect: ApiDialect::from_lookup(env),
            connect_timeout: Duration::from_secs(config::parse_or(
                env,
                "HTTP_CONNECT_TIMEOUT_SECONDS",
                5,
            )?),
            timeout: Duration::from_secs(config::parse_or(env, "HTTP_TIMEOUT_SECONDS", 20)?),
            urls: UrlPolicy::from_lookup(env, &base_url)?,
            retry: RetryPolicy::from_lookup(env)?,
            base_url,
        })
    }
}

/// Retries inside one invocation, before the state machine's own `Retry`:
/// a short blip (a 503, a 429 with `Retry-After`, a refused connection)
/// costs a second, not a state transition and another invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Extra attempts after the first.
    pub retries: u32,
    pub base_delay: Duration,
    /// No single wait is longer, whatever `Retry-After` asks: the function's
    /// own timeout must leave room for the request itself.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 2,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    pub fn from_lookup(env: &dyn Lookup) -> Result<Self, ConfigError> {
        let d = RetryPolicy::default();
        Ok(RetryPolicy {
            retries: config::parse_or(env, "HTTP_RETRIES", d.retries)?,
            base_delay: Duration::from_millis(config::parse_or(
                env,
                "HTTP_RETRY_BASE_MS",
                d.base_delay.as_millis() as u64,
            )?),
            max_delay: Duration::from_secs(config::parse_or(
                env,
                "HTTP_RETRY_MAX_SECONDS",
                d.max_delay.as_secs(),
            )?),
        })
    }

    /// The wait before retry number `retry` (0-based): the server's
    /// `Retry-After` when it gave one, else exponential with jitter; never
    /// more than `max_delay`.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let wait = match retry_after {
            Some(d) => d,
            None => {
                let ceiling = self
                    .base_delay
                    .saturating_mul(2u32.saturating_pow(retry.min(16)))
                    .min(self.max_delay);
                // Half to full of the ceiling; the clock's nanoseconds spread concurrent retries.
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.subsec_nanos());
                ceiling.mul_f64(0.5 + f64::from(nanos % 1000) / 2000.0)
            }
        };
        wait.min(self.max_delay)
    }
}

/// The reporting API over HTTP.
#[derive(Clone)]
pub struct HttpReportApi {
    client: reqwest::Client,
    config: ApiConfig,
}

impl HttpReportApi {
    pub fn new(config: ApiConfig) -> Result<Self, ApiError> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.timeout)
            .user_agent(concat!("report-pipeline/", env!("CARGO_PKG_VERSION")))
            .redirect(config.urls.redirect_policy())
            .dns_resolver(config.urls.resolver())
            .build()
            .map_err(|e| ApiError::Unavailable {
                context: "building the HTTP client".into(),
                reason: e.to_string(),
            })?;
        Ok(HttpReportApi { client, config })
    }

    pub fn config(&self) -> &ApiConfig {
        &self.config
    }

    fn authorize(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.config.auth {
            Some(auth) => req.header(auth.header.clone(), auth.header_value()),
            None => req,
        }
    }

    fn checked(&self, what: &'static str, url: &str) -> Result<reqwest::Url, ApiError> {
        self.config
            .urls
            .check(url)
            .map_err(|reason| ApiError::Refused { what, reason })
    }

    /// Sends the request `build` makes, retrying transient failures within
    /// [`RetryPolicy`]. With `retry_any` false (a POST without an idempotency
    /// key) only failures where the server cannot have acted are retried:
    /// no connection, 429, 503.
    async fn send_with_retry(
        &self,
        build: impl Fn() -> reqwest::RequestBuilder + Send + Sync,
        context: &str,
        retry_any: bool,
        whole_timeout: bool,
    ) -> Result<reqwest::Response, ApiError> {
        let mut retry = 0;
        loop {
            let mut req = self.authorize(build());
            if whole_timeout {
                req = req.timeout(self.config.timeout);
            }
            let (err, retry_after, safe) = match req.send().await {
                Ok(resp) if resp.status().is_success() => return Ok(resp),
                Ok(resp) => {
                    let status = resp.status();
                    let retry_after = parse_retry_after(resp.headers());
                    let err = status_error(context, status, &resp_snippet(resp).await);
                    (
                        err,
                        retry_after,
                        status == StatusCode::TOO_MANY_REQUESTS
                            || status == StatusCode::SERVICE_UNAVAILABLE,
                    )
                }
                Err(e) if e.is_redirect() => {
                    return Err(ApiError::Refused {
                        what: "redirect",
                        reason: transport(context, e).to_string(),
                    });
                }
                Err(e) => {
                    let safe = e.is_connect();
                    (transport(context, e), None, safe)
                }
            };
            let transient = matches!(err, ApiError::Unavailable { .. });
            if !transient || retry >= self.config.retry.retries || !(retry_any || safe) {
                return Err(err);
            }
            let wait = self.config.retry.delay(retry, retry_after);
            tracing::warn!(context, retry = retry + 1, wait_ms = wait.as_millis() as u64, error = %err, "retrying");
            tokio::time::sleep(wait).await;
            retry += 1;
        }
    }

    async fn send_json(
        &self,
        build: impl Fn() -> reqwest::RequestBuilder + Send + Sync,
        context: &str,
        retry_any: bool,
    ) -> Result<Value, ApiError> {
        let resp = self
            .send_with_retry(build, context, retry_any, true)
            .await?;
        let bytes = resp.bytes().await.map_err(|e| transport(context, e))?;
        serde_json::from_slice(&bytes).map_err(|e| ApiError::BadResponse {
            context: context.to_string(),
            reason: format!("body is not JSON ({e}): {}", snippet(&bytes)),
        })
    }
}

/// `Retry-After` in seconds. The HTTP-date form is rare for APIs and is
/// treated as absent (the exponential backoff applies).
fn parse_retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[async_trait]
impl ReportCreator for HttpReportApi {
    async fn create(
        &self,
        parameters: &Map<String, Value>,
        idempotency_key: Option<&str>,
    ) -> Result<CreatedReport, ApiError> {
        let url = format!("{}/reports", self.config.base_url);
        let build = || {
            let req = self.client.post(&url).json(parameters);
            match idempotency_key {
                Some(key) => req.header("Idempotency-Key", key),
                None => req,
            }
        };
        let body = self
            .send_json(build, "POST /reports", idempotency_key.is_some())
            .await?;
        self.config
            .dialect
            .read_created(&body)
            .map_err(|reason| ApiError::BadResponse {
                context: "POST /reports".into(),
                reason,
            })
    }
}

#[async_trait]
impl StatusReader for HttpReportApi {
    async fn status(&self, status_url: &str) -> Result<StatusReply, ApiError> {
        let url = self.checked("status URL", status_url)?;
        let body = self
            .send_json(|| self.client.get(url.clone()), "GET status", true)
            .await?;
        self.config
            .dialect
            .read_status(&body)
            .map_err(|reason| ApiError::BadResponse {
                context: "GET status".into(),
                reason,
            })
    }
}

#[async_trait]
impl ReportFetcher for HttpReportApi {
    async fn fetch(&self, download_url: &str) -> Result<Download, ApiError> {
        let context = "GET download";
        let url = self.checked("download URL", download_url)?;
        // No overall timeout: a large report may stream for minutes; the
        // client's read timeout still catches a stalled body. Only the request
        // is retried here: a body that breaks half-way fails the invocation
        // (its multipart upload is aborted) and the state machine retries it.
        let resp = match self
            .send_with_retry(|| self.client.get(url.clone()), context, true, false)
            .await
        {
            Err(ApiError::Rejected { status, .. }) if matches!(status, 403 | 404 | 410) => {
                return Err(ApiError::Gone {
                    url: redact_url(download_url),
                    status,
                });
            }
            other => other?,
        };
        let header = |name| {
            resp.headers()
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(|s| s.to_ascii_lowercase())
        };
        let content_type = header(CONTENT_TYPE);
        let gzip = header(CONTENT_ENCODING).is_some_and(|e| e.contains("gzip"))
            || content_type.as_deref().is_some_and(|t| t.contains("gzip"))
            || url_path(download_url).ends_with(".gz");
        let stream = resp
            .bytes_stream()
            .map_err(|e| io::Error::other(BodyError::Transport(transport(context, e).to_string())));
        let reader = BufReader::with_capacity(64 * 1024, StreamReader::new(stream));
        let body: Pin<Box<dyn AsyncRead + Send>> = if gzip {
            let mut decoder = GzipDecoder::new(reader);
            decoder.multiple_members(true);
            Box::pin(GzipErrors(decoder))
        } else {
            Box::pin(reader)
        };
        // A gzip body's content type says nothing about the CSV inside.
        let content_type = if gzip { None } else { content_type };
        Ok(Download { body, content_type })
    }
}

/// Why reading a download body failed: the transport (worth a retry) or
/// the bytes themselves (corrupt gzip: a retry gets the same bytes).
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the download stream broke: {0}")]
    Transport(String),
    #[error("the download is not valid gzip: {0}")]
    Corrupt(String),
    #[error("the report is larger than the limit of {0} bytes")]
    TooLarge(u64),
}

impl BodyError {
    /// Classifies an I/O error from a [`Download`] body.
    pub fn classify(err: &io::Error) -> ErrorName {
        match err.get_ref().and_then(|e| e.downcast_ref::<BodyError>()) {
            Some(BodyError::Corrupt(_)) => ErrorName::CsvMalformed,
            Some(BodyError::TooLarge(_)) => ErrorName::CsvLimitExceeded,
            _ => ErrorName::ReportApiUnavailable,
        }
    }
}

/// Fails a body that grows past `max` bytes, while it streams.
pub struct LimitedBody<R> {
    inner: R,
    seen: u64,
    max: u64,
}

impl<R> LimitedBody<R> {
    pub fn new(inner: R, max: u64) -> Self {
        LimitedBody {
            inner,
            seen: 0,
            max,
        }
    }

    /// Bytes read so far.
    pub fn seen(&self) -> u64 {
        self.seen
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for LimitedBody<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let std::task::Poll::Ready(Ok(())) = polled {
            self.seen += (buf.filled().len() - before) as u64;
            if self.seen > self.max {
                return std::task::Poll::Ready(Err(io::Error::other(BodyError::TooLarge(
                    self.max,
                ))));
            }
        }
        polled
    }
}

/// Tags decoder errors as [`BodyError::Corrupt`] unless they are transport
/// errors passed through from the inner stream.
struct GzipErrors<R>(R);

impl<R: AsyncRead + Unpin> AsyncRead for GzipErrors<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        match Pin::new(&mut self.0).poll_read(cx, buf) {
            std::task::Poll::Ready(Err(e))
                if e.get_ref()
                    .and_then(|i| i.downcast_ref::<BodyError>())
                    .is_none() =>
            {
                std::task::Poll::Ready(Err(io::Error::other(BodyError::Corrupt(e.to_string()))))
            }
            other => other,
        }
    }
}

fn transport(context: &str, e: reqwest::Error) -> ApiError {
    let reason = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "could not connect".to_string()
    } else {
        "request failed".to_string()
    };
    // reqwest's Display includes the URL, which may carry a signed query
    // string; keep only the kind and the innermost cause.
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(&e);
    let mut inner = None;
    while let Some(s) = source {
        inner = Some(s.to_string());
        source = s.source();
    }
    let reason = match inner {
        Some(i) => format!("{reason}: {i}"),
        None => reason,
    };
    ApiError::Unavailable {
        context: context.to_string(),
        reason,
    }
}

fn status_error(context: &str, status: StatusCode, body: &str) -> ApiError {
    if status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
    {
        ApiError::Unavailable {
            context: context.to_string(),
            reason: format!("HTTP {}: {body}", status.as_u16()),
        }
    } else {
        ApiError::Rejected {
            context: context.to_string(),
            status: status.as_u16(),
            body: body.to_string(),
        }
    }
}

async fn resp_snippet(resp: reqwest::Response) -> String {
    match resp.bytes().await {
        Ok(b) => snippet(&b),
        Err(_) => String::new(),
    }
}

/// The start of a body, for error messages: enough to recognise an error
/// page, short enough for a Step Functions cause.
fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]);
    let mut s: String = text
        .chars()
        .filter(|c| !c.is_control() || *c == ' ')
        .collect();
    if bytes.len() > 200 {
        s.push('…');
    }
    s
}

fn url_path(url: &str) -> &str {
    let no_query = url.split(['?', '#']).next().unwrap_or(url);
    no_query
}

/// A URL without its query string: presigned URLs carry credentials there.
pub fn redact_url(url: &str) -> String {
    match url.split_once('?') {
        Some((base, _)) => format!("{base}?…"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashMap;

    #[test]
    fn default_dialect_reads_the_contract() {
        let d = ApiDialect::default();
        let r = d
            .read_status(&json!({"status": "IN_PROGRESS", "download_url": null}))
            .unwrap();
        assert_eq!(
            r,
            StatusReply {
                status: ReportStatus::InProgress,
                download_url: None
            }
        );
        let r = d
            .read_status(&json!({"status": "COMPLETED", "download_url": "https://x/y.csv"}))
            .unwrap();
        assert_eq!(r.download_url.as_deref(), Some("https://x/y.csv"));
    }

    #[test]
    fn unknown_status_word_is_an_error_not_in_progress() {
        let err = ApiDialect::default()
            .read_status(&json!({"status": "PENDING"}))
            .unwrap_err();
        assert!(err.contains("PENDING"), "{err}");
    }

    #[test]
    fn completed_without_url_is_an_error() {
        assert!(ApiDialect::default()
            .read_status(&json!({"status": "COMPLETED", "download_url": null}))
            .is_err());
    }

    #[test]
    fn configured_dialect_maps_other_words_and_nested_fields() {
        let env = HashMap::from([
            ("REPORT_STATUS_FIELD", "data.state"),
            ("REPORT_STATUS_COMPLETED", "done, ready"),
            ("REPORT_STATUS_IN_PROGRESS", "queued,running"),
            ("REPORT_DOWNLOAD_URL_FIELD", "data.url"),
        ]);
        let d = ApiDialect::from_lookup(&env);
        let r = d
            .read_status(&json!({"data": {"state": "ready", "url": "https://h/f"}}))
            .unwrap();
        assert_eq!(r.status, ReportStatus::Completed);
        assert_eq!(
            d.read_status(&json!({"data": {"state": "queued"}}))
                .unwrap()
                .status,
            ReportStatus::InProgress
        );
    }

    #[test]
    fn redacted_url_drops_the_query_string() {
        assert_eq!(
            redact_url("https://b/k.csv?X-Amz-Signature=abc"),
            "https://b/k.csv?…"
        );
    }

    #[test]
    fn bearer_header_is_marked_sensitive() {
        let auth = Auth {
            header: reqwest::header::AUTHORIZATION,
            token: Secret::new("t0k"),
        };
        let v = auth.header_value();
        assert!(v.is_sensitive());
        assert_eq!(v.to_str().unwrap(), "Bearer t0k");
    }
}
