//! Calls about one Task: the callbacks of `.waitForTaskToken` Tasks, and
//! `TestState` (also behind `asl test-state`, which prints the same JSON).

use serde_json::{json, Map, Value};

use super::callbacks::Delivery;
use super::errors::ApiError;
use super::{Req, Shared};
use crate::exec::{self, TestStateOptions};
use crate::invoke::{TaskFailure, TaskInvoker};
use crate::model::StateMachine;

/// A token is at most 1,024 characters on AWS.
fn token<'a>(req: Req<'a>) -> Result<&'a str, ApiError> {
    let t = req.str("taskToken")?;
    if t.is_empty() || t.len() > 1024 {
        return Err(ApiError::invalid_token(
            "a task token is 1 to 1024 characters",
        ));
    }
    Ok(t)
}

fn delivered(d: Delivery) -> Result<Value, ApiError> {
    match d {
        Delivery::Delivered => Ok(json!({})),
        Delivery::Unknown => Err(ApiError::task_does_not_exist()),
    }
}

pub(crate) fn send_success(shared: &Shared, req: Req<'_>) -> Result<Value, ApiError> {
    let t = token(req)?;
    let text = req.str("output")?;
    let output: Value =
        serde_json::from_str(text).map_err(|e| ApiError::invalid_output(&e.to_string()))?;
    delivered(shared.callbacks.complete(t, Ok(output)))
}

pub(crate) fn send_failure(shared: &Shared, req: Req<'_>) -> Result<Value, ApiError> {
    let t = token(req)?;
    let error = req.opt_str("error")?.unwrap_or_default();
    let cause = req.opt_str("cause")?.unwrap_or_default();
    delivered(
        shared
            .callbacks
            .complete(t, Err(TaskFailure::new(error, cause))),
    )
}

pub(crate) fn send_heartbeat(shared: &Shared, req: Req<'_>) -> Result<Value, ApiError> {
    delivered(shared.callbacks.heartbeat(token(req)?))
}

pub(crate) async fn test_state(shared: &Shared, req: Req<'_>) -> Result<Value, ApiError> {
    test_state_answer(req.0, shared.opts.functions.as_ref()).await
}

/// The name a lone state is tested under.
const LONE_STATE: &str = "TestState";

fn json_field(req: Req<'_>, field: &str) -> Result<Option<Value>, ApiError> {
    req.opt_str(field)?
        .map(|t| {
            serde_json::from_str(t)
                .map_err(|e| ApiError::validation(format!("'{field}' is not JSON: {e}")))
        })
        .transpose()
}

/// `TestState`: the request's JSON in, the answer's JSON out (`output`,
/// `status`, `nextState`, `error`, `cause`, and `inspectionData` at DEBUG
/// and TRACE, its payloads as JSON text as AWS sends them).
pub async fn test_state_answer(
    request: &Value,
    functions: &dyn TaskInvoker,
) -> Result<Value, ApiError> {
    let req = Req(request);
    let definition = req.str("definition")?;
    let level = req.opt_str("inspectionLevel")?.unwrap_or("INFO");
    if !["INFO", "DEBUG", "TRACE"].contains(&level) {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{level}' at 'inspectionLevel' failed to satisfy constraint: Member must satisfy enum value set: [INFO, DEBUG, TRACE]"
        )));
    }
    let doc: Value = serde_json::from_str(definition)
        .map_err(|e| ApiError::invalid_definition(&e.to_string()))?;
    let (machine, state) = match req.opt_str("stateName")? {
        Some(name) => {
            let m = super::machines::parse_definition(definition)?;
            if m.state(name).is_none() {
                return Err(ApiError::validation(format!(
                    "The state '{name}' is not in the definition's top-level States"
                )));
            }
            (m, name.to_string())
        }
        None => {
            if doc.get("Type").and_then(Value::as_str).is_none() {
                return Err(ApiError::invalid_definition(
                    "SCHEMA_VALIDATION_FAILED: a state needs a \"Type\" (give stateName to test a state of a whole state machine)",
                ));
            }
            let wrapped = json!({"StartAt": LONE_STATE, "States": {LONE_STATE: doc}});
            let m = StateMachine::from_value(wrapped)
                .map_err(|e| ApiError::invalid_definition(&e.to_string()))?;
            (m, LONE_STATE.to_string())
        }
    };
    let input = json_field(req, "input")?.unwrap_or_else(|| json!({}));
    let variables = match json_field(req, "variables")? {
        None => Map::new(),
        Some(Value::Object(o)) => o,
        Some(_) => return Err(ApiError::validation("'variables' must be a JSON object")),
    };
    let mock = match req.get("mock") {
        None => None,
        Some(m) => Some(
            match (
                m.get("result").and_then(Value::as_str),
                m.get("errorOutput"),
            ) {
                (Some(r), None) => Ok(serde_json::from_str(r).map_err(|e| {
                    ApiError::validation(format!("'mock.result' is not JSON: {e}"))
                })?),
                (None, Some(e)) => Err(TaskFailure::new(
                    e.get("error").and_then(Value::as_str).unwrap_or_default(),
                    e.get("cause").and_then(Value::as_str).unwrap_or_default(),
                )),
                _ => {
                    return Err(ApiError::validation(
                        "'mock' needs exactly one of 'result' and 'errorOutput'",
                    ))
                }
            },
        ),
    };
    let retry_count = req
        .get("stateConfiguration")
        .and_then(|c| c.get("retrierRetryCount"))
        .and_then(Value::as_u64)
        .unwrap_or(0) as u32;
    let opts = TestStateOptions {
        variables,
        context: json_field(req, "context")?,
        retry_count,
        mock,
    };
    let t = exec::test_state(&machine, &state, input, functions, opts).await;
    let mut out = json!({ "status": t.status });
    if let Some(o) = &t.output {
        out["output"] = json!(o.to_string());
    }
    for (k, v) in [
        ("error", &t.error),
        ("cause", &t.cause),
        ("nextState", &t.next_state),
    ] {
        if let Some(v) = v {
            out[k] = json!(v);
        }
    }
    if level != "INFO" {
        let data: Map<String, Value> = t
            .inspection
            .into_iter()
            .map(|(k, v)| match k.as_str() {
                // Objects and numbers in the API; every payload is JSON text.
                "errorDetails"
                | "maxConcurrency"
                | "toleratedFailureCount"
                | "toleratedFailurePercentage" => (k, v),
                _ => (k, json!(v.to_string())),
            })
            .collect();
        out["inspectionData"] = Value::Object(data);
    }
    Ok(out)
}
