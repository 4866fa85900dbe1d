//! [`HttpReportApi`]: the reporting API over HTTP with reqwest.

use std::io;
use std::pin::Pin;
use std::time::Duration;

use async_compression::tokio::bufread::GzipDecoder;
use async_trait::async_trait;
use futures::TryStreamExt;
use reqwest::header::{HeaderValue, CONTENT_ENCODING, CONTENT_TYPE};
use reqwest::StatusCode;
use serde_json::{Map, Value};
use tokio::io::{AsyncRead, BufReader};
use tokio_util::io::StreamReader;

use super::{
    ApiConfig, ApiError, CreatedReport, Download, ReportCreator, ReportFetcher, StatusReader,
    StatusReply,
};
use crate::body::{BodyError, GzipErrors};
use crate::url_policy::redact_url;

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
