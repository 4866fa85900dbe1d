//! # PollReport
//!
//! Asks the reporting API how the report is doing and moves the handle on:
//! `poll_count + 1`, the next (growing, capped) `wait_seconds`, the status in
//! the pipeline's words, and `download_url` (always present, null until the
//! report is completed). The state machine's Choice reads exactly these.
//!
//! A `FAILED` report is returned, not raised: the Choice sends it to the
//! `ReportFailed` state, so the execution fails with `Report.Failed`.

use serde_json::Value;
use shared::config::{self, ConfigError, Lookup};
use shared::errors::{ErrorName, NamedError};
use shared::function::{Function, InitError};
use shared::payload::{self, PollOutcome, ReportHandle};
use shared::polling::PollPolicy;
use shared::report_api::{ApiConfig, ApiError, HttpReportApi, StatusReader};

#[derive(Debug, Clone)]
pub struct Config {
    pub api: ApiConfig,
    pub polling: PollPolicy,
}

impl Config {
    pub fn from_lookup(
        env: &dyn Lookup,
        token: Option<config::Secret>,
    ) -> Result<Self, ConfigError> {
        Ok(Config {
            api: ApiConfig::from_lookup(env, token)?,
            polling: PollPolicy::from_lookup(env)?,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("invalid input: {0}")]
    Input(String),
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl NamedError for PollError {
    fn name(&self) -> ErrorName {
        match self {
            PollError::Input(_) => ErrorName::InputInvalid,
            PollError::Api(e) => e.name(),
        }
    }
}

shared::impl_diagnostic!(PollError);

/// Handles one PollReport invocation.
pub async fn handle(
    api: &impl StatusReader,
    config: &Config,
    event: Value,
) -> Result<PollOutcome, PollError> {
    let report: ReportHandle = payload::parse_input(event).map_err(PollError::Input)?;
    payload::check_report_id(&report.report_id).map_err(PollError::Input)?;
    let reply = api.status(&report.status_url).await?;
    let poll_count = report.poll_count.saturating_add(1);
    tracing::info!(
        report_id = report.report_id,
        poll_count,
        status = reply.status.as_str(),
        "polled"
    );
    Ok(PollOutcome {
        report: ReportHandle {
            poll_count,
            wait_seconds: config.polling.wait_after(poll_count),
            ..report
        },
        status: reply.status,
        download_url: reply.download_url,
    })
}

/// PollReport as deployed: its settings and its reporting-API client, built once.
pub struct PollReport {
    config: Config,
    api: HttpReportApi,
}

#[async_trait::async_trait]
impl Function for PollReport {
    const NAME: &'static str = "PollReport";
    type Output = PollOutcome;
    type Error = PollError;

    async fn build(env: &(dyn Lookup + Sync)) -> Result<Self, InitError> {
        let token = shared::secrets::resolve_token(env).await?;
        let config = Config::from_lookup(env, token)?;
        let api = HttpReportApi::new(config.api.clone())?;
        Ok(PollReport { config, api })
    }

    async fn handle(&self, event: Value) -> Result<PollOutcome, PollError> {
        handle(&self.api, &self.config, event).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use serde_json::json;
    use shared::payload::ReportStatus;
    use shared::report_api::StatusReply;
    use std::collections::HashMap;

    struct FakeApi(Result<StatusReply, fn() -> ApiError>);

    #[async_trait]
    impl StatusReader for FakeApi {
        async fn status(&self, url: &str) -> Result<StatusReply, ApiError> {
            assert_eq!(url, "http://api/reports/r1");
            self.0.clone().map_err(|f| f())
        }
    }

    fn config() -> Config {
        Config::from_lookup(&HashMap::from([("REPORT_API_URL", "http://api")]), None).unwrap()
    }

    fn handle_input(poll_count: u32) -> Value {
        json!({"report_id": "r1", "status_url": "http://api/reports/r1", "created_at": "2026-01-01T00:00:00Z",
               "poll_count": poll_count, "max_polls": 10, "wait_seconds": 5})
    }

    #[tokio::test]
    async fn given_in_progress_then_count_moves_on_wait_grows_and_url_is_null() {
        let api = FakeApi(Ok(StatusReply {
            status: ReportStatus::InProgress,
            download_url: None,
        }));
        let out = handle(&api, &config(), handle_input(2)).await.unwrap();
        assert_eq!((out.report.poll_count, out.report.wait_seconds), (3, 80));
        let v = serde_json::to_value(&out).unwrap();
        assert_eq!(v["download_url"], Value::Null);
        assert_eq!(v["status"], "IN_PROGRESS");
    }

    #[tokio::test]
    async fn given_its_own_output_as_input_then_it_polls_again() {
        let api = FakeApi(Ok(StatusReply {
            status: ReportStatus::InProgress,
            download_url: None,
        }));
        let first = handle(&api, &config(), handle_input(0)).await.unwrap();
        let second = handle(&api, &config(), serde_json::to_value(&first).unwrap())
            .await
            .unwrap();
        assert_eq!(second.report.poll_count, 2);
    }

    #[tokio::test]
    async fn given_completed_then_the_download_url_is_returned() {
        let api = FakeApi(Ok(StatusReply {
            status: ReportStatus::Completed,
            download_url: Some("http://api/f.csv".into()),
        }));
        let out = handle(&api, &config(), handle_input(0)).await.unwrap();
        assert_eq!(out.status, ReportStatus::Completed);
        assert_eq!(out.download_url.as_deref(), Some("http://api/f.csv"));
    }

    #[tokio::test]
    async fn given_a_garbled_status_reply_then_bad_response() {
        let api = FakeApi(Err(|| ApiError::BadResponse {
            context: "GET status".into(),
            reason: "unknown status \"WAT\"".into(),
        }));
        let err = handle(&api, &config(), handle_input(0)).await.unwrap_err();
        assert_eq!(err.name(), ErrorName::ReportApiBadResponse);
    }

    #[tokio::test]
    async fn given_a_poll_count_of_the_wrong_type_then_input_invalid() {
        let api = FakeApi(Ok(StatusReply {
            status: ReportStatus::InProgress,
            download_url: None,
        }));
        let mut input = handle_input(0);
        input["poll_count"] = json!("three");
        let err = handle(&api, &config(), input).await.unwrap_err();
        assert_eq!(err.name(), ErrorName::InputInvalid);
        assert!(err.to_string().contains("invalid type"), "{err}");
    }
}
