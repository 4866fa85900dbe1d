//! The reporting API: the traits the handlers depend on, and the HTTP client
//! that implements them.
//!
//! Handlers take only the capability they use ([`ReportCreator`],
//! [`StatusReader`], [`ReportFetcher`]) so their unit tests can fake one
//! method instead of a whole API. [`HttpReportApi`] implements all three with
//! reqwest; [`ApiDialect`] maps a real API's field names and status words onto
//! the pipeline's own.
//!
//! - `dialect.rs`: field names and status words of a real API;
//! - `http.rs`: [`HttpReportApi`], the reqwest client (retries, timeouts,
//!   the URL policy on every hop, gzip);
//! - the body limits and error tags are in [`crate::body`].

use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::{Map, Value};
use tokio::io::AsyncRead;

use crate::config::{self, ConfigError, Lookup, Secret};
use crate::errors::ErrorName;
use crate::payload::ReportStatus;
use crate::url_policy::UrlPolicy;

mod dialect;
mod http;
#[cfg(test)]
mod tests;

pub use crate::body::{BodyError, LimitedBody};
pub use dialect::ApiDialect;
pub use http::HttpReportApi;

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
