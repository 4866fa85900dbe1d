//! # CreateReport
//!
//! The first step: asks the reporting API for a report and returns a
//! [`ReportHandle`] that the state machine's Wait/PollReport loop carries.
//!
//! The EventBridge event id is sent as an `Idempotency-Key`, so a retried
//! invocation of the same scheduled run asks for the same report instead of a
//! second one (where the API honours the header).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use shared::config::{self, ConfigError, Lookup};
use shared::errors::{ErrorName, NamedError};
use shared::function::{Function, InitError};
use shared::payload::{self, CreateReportInput, ReportHandle};
use shared::polling::PollPolicy;
use shared::report_api::{ApiConfig, ApiError, HttpReportApi, ReportCreator};

/// CreateReport's settings, read once at cold start.
#[derive(Debug, Clone)]
pub struct Config {
    pub api: ApiConfig,
    /// The POST body when the input names no parameters (`REPORT_PARAMETERS`, a JSON object).
    pub parameters: Map<String, Value>,
    pub polling: PollPolicy,
}

impl Config {
    /// Reads the settings; `token` comes from [`shared::secrets::resolve_token`].
    pub fn from_lookup(
        env: &dyn Lookup,
        token: Option<config::Secret>,
    ) -> Result<Self, ConfigError> {
        config::required(env, "REPORT_API_URL")?;
        let parameters = match env.get("REPORT_PARAMETERS") {
            None => Map::new(),
            Some(text) => match serde_json::from_str(&text) {
                Ok(Value::Object(map)) => map,
                Ok(_) => return Err(invalid_parameters(&text, "must be a JSON object")),
                Err(e) => return Err(invalid_parameters(&text, &e.to_string())),
            },
        };
        Ok(Config {
            api: ApiConfig::from_lookup(env, token)?,
            parameters,
            polling: PollPolicy::from_lookup(env)?,
        })
    }
}

fn invalid_parameters(text: &str, reason: &str) -> ConfigError {
    ConfigError::Invalid {
        name: "REPORT_PARAMETERS".into(),
        value: text.into(),
        reason: reason.into(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("invalid input: {0}")]
    Input(String),
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl NamedError for CreateError {
    fn name(&self) -> ErrorName {
        match self {
            CreateError::Input(_) => ErrorName::InputInvalid,
            CreateError::Api(e) => e.name(),
        }
    }
}

shared::impl_diagnostic!(CreateError);

/// Handles one CreateReport invocation.
pub async fn handle(
    api: &impl ReportCreator,
    config: &Config,
    event: Value,
    now: DateTime<Utc>,
) -> Result<ReportHandle, CreateError> {
    // `null` is what `cargo lambda invoke` and some consoles send for "no input".
    let event = if event.is_null() {
        Value::Object(Map::new())
    } else {
        event
    };
    let input: CreateReportInput = payload::parse_input(event).map_err(CreateError::Input)?;
    let parameters = input.parameters.as_ref().unwrap_or(&config.parameters);
    let created = api.create(parameters, input.id.as_deref()).await?;
    payload::check_report_id(&created.report_id).map_err(|reason| {
        CreateError::Api(ApiError::BadResponse {
            context: "POST /reports".into(),
            reason,
        })
    })?;
    tracing::info!(report_id = created.report_id, "report requested");
    Ok(ReportHandle {
        report_id: created.report_id,
        status_url: created.status_url,
        created_at: now,
        poll_count: 0,
        max_polls: config.polling.max_polls,
        wait_seconds: config.polling.wait_after(0),
    })
}

/// CreateReport as deployed: its settings and its reporting-API client, built once.
pub struct CreateReport {
    config: Config,
    api: HttpReportApi,
}

#[async_trait::async_trait]
impl Function for CreateReport {
    const NAME: &'static str = "CreateReport";
    type Output = ReportHandle;
    type Error = CreateError;

    async fn build(env: &(dyn Lookup + Sync)) -> Result<Self, InitError> {
        let token = shared::secrets::resolve_token(env).await?;
        let config = Config::from_lookup(env, token)?;
        let api = HttpReportApi::new(config.api.clone())?;
        Ok(CreateReport { config, api })
    }

    async fn handle(&self, event: Value) -> Result<ReportHandle, CreateError> {
        handle(&self.api, &self.config, event, Utc::now()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use serde_json::json;
    use shared::report_api::CreatedReport;
    use std::collections::HashMap;
    use std::sync::Mutex;

    /// A request as the fake saw it: the body and the idempotency key.
    type Seen = (Map<String, Value>, Option<String>);

    #[derive(Default)]
    struct FakeApi {
        seen: Mutex<Vec<Seen>>,
        fail: Option<fn() -> ApiError>,
    }

    #[async_trait]
    impl ReportCreator for FakeApi {
        async fn create(
            &self,
            parameters: &Map<String, Value>,
            key: Option<&str>,
        ) -> Result<CreatedReport, ApiError> {
            self.seen
                .lock()
                .unwrap()
                .push((parameters.clone(), key.map(String::from)));
            match self.fail {
                Some(f) => Err(f()),
                None => Ok(CreatedReport {
                    report_id: "rpt-7".into(),
                    status_url: "http://api/reports/rpt-7".into(),
                }),
            }
        }
    }

    fn config() -> Config {
        let env = HashMap::from([
            ("REPORT_API_URL", "http://api"),
            ("REPORT_PARAMETERS", r#"{"kind":"daily"}"#),
            ("MAX_POLLS", "9"),
        ]);
        Config::from_lookup(&env, None).unwrap()
    }

    #[tokio::test]
    async fn given_a_schedule_event_when_created_then_the_handle_starts_the_poll_loop() {
        let api = FakeApi::default();
        let event = json!({"id": "evt-1", "detail-type": "Scheduled Event", "time": "2026-01-01T00:00:00Z", "detail": {}});
        let handle = handle(&api, &config(), event, Utc::now()).await.unwrap();
        assert_eq!(handle.report_id, "rpt-7");
        assert_eq!(
            (handle.poll_count, handle.max_polls, handle.wait_seconds),
            (0, 9, 10)
        );
        let seen = api.seen.lock().unwrap();
        assert_eq!(seen[0].0["kind"], "daily");
        assert_eq!(seen[0].1.as_deref(), Some("evt-1"));
    }

    #[tokio::test]
    async fn given_parameters_in_the_input_then_they_replace_the_configured_ones() {
        let api = FakeApi::default();
        handle(
            &api,
            &config(),
            json!({"parameters": {"kind": "weekly"}}),
            Utc::now(),
        )
        .await
        .unwrap();
        assert_eq!(api.seen.lock().unwrap()[0].0["kind"], "weekly");
    }

    #[tokio::test]
    async fn given_null_input_then_it_is_treated_as_empty() {
        assert!(
            handle(&FakeApi::default(), &config(), Value::Null, Utc::now())
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn given_parameters_of_the_wrong_type_then_input_invalid() {
        let err = handle(
            &FakeApi::default(),
            &config(),
            json!({"parameters": [1, 2]}),
            Utc::now(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.name(), ErrorName::InputInvalid);
    }

    #[tokio::test]
    async fn given_an_unavailable_api_then_the_transient_name_is_reported() {
        let api = FakeApi {
            fail: Some(|| ApiError::Unavailable {
                context: "POST /reports".into(),
                reason: "HTTP 503".into(),
            }),
            ..Default::default()
        };
        let err = handle(&api, &config(), json!({}), Utc::now())
            .await
            .unwrap_err();
        let diag = lambda_runtime::Diagnostic::from(err);
        assert_eq!(diag.error_type, "ReportApi.Unavailable");
        assert!(diag.error_message.contains("HTTP 503"));
    }

    #[test]
    fn missing_api_url_names_the_variable() {
        let err = Config::from_lookup(&HashMap::<&str, &str>::new(), None).unwrap_err();
        assert!(err.to_string().contains("REPORT_API_URL"));
    }

    #[test]
    fn report_parameters_that_are_not_an_object_are_refused() {
        let env = HashMap::from([
            ("REPORT_API_URL", "http://api"),
            ("REPORT_PARAMETERS", "[1]"),
        ]);
        assert!(Config::from_lookup(&env, None)
            .unwrap_err()
            .to_string()
            .contains("REPORT_PARAMETERS"));
    }
}
