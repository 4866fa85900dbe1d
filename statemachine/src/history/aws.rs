//! The history in the shape of Step Functions' `GetExecutionHistory`:
//! `{"events": [{"id", "previousEventId", "timestamp", "type",
//! "<type>EventDetails": {…}}]}`, payloads as JSON text, as the AWS CLI
//! (`aws stepfunctions get-execution-history --output json`) prints it. The
//! same reader takes ours and one exported from AWS.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::HistoryEvent;

/// Every event type of the Step Functions API, so that a history read from
/// a file keeps `&'static` types like one we recorded.
const EVENT_TYPES: &[&str] = &[
    "ActivityFailed",
    "ActivityScheduled",
    "ActivityScheduleFailed",
    "ActivityStarted",
    "ActivitySucceeded",
    "ActivityTimedOut",
    "ChoiceStateEntered",
    "ChoiceStateExited",
    "EvaluationFailed",
    "ExecutionAborted",
    "ExecutionFailed",
    "ExecutionRedriven",
    "ExecutionStarted",
    "ExecutionSucceeded",
    "ExecutionTimedOut",
    "FailStateEntered",
    "LambdaFunctionFailed",
    "LambdaFunctionScheduled",
    "LambdaFunctionScheduleFailed",
    "LambdaFunctionStarted",
    "LambdaFunctionStartFailed",
    "LambdaFunctionSucceeded",
    "LambdaFunctionTimedOut",
    "MapIterationAborted",
    "MapIterationFailed",
    "MapIterationStarted",
    "MapIterationSucceeded",
    "MapRunAborted",
    "MapRunFailed",
    "MapRunRedriven",
    "MapRunStarted",
    "MapRunSucceeded",
    "MapStateAborted",
    "MapStateEntered",
    "MapStateExited",
    "MapStateFailed",
    "MapStateStarted",
    "MapStateSucceeded",
    "ParallelStateAborted",
    "ParallelStateEntered",
    "ParallelStateExited",
    "ParallelStateFailed",
    "ParallelStateStarted",
    "ParallelStateSucceeded",
    "PassStateEntered",
    "PassStateExited",
    "SucceedStateEntered",
    "SucceedStateExited",
    "TaskFailed",
    "TaskScheduled",
    "TaskStarted",
    "TaskStartFailed",
    "TaskStateAborted",
    "TaskStateEntered",
    "TaskStateExited",
    "TaskSubmitFailed",
    "TaskSubmitted",
    "TaskSucceeded",
    "TaskTimedOut",
    "WaitStateAborted",
    "WaitStateEntered",
    "WaitStateExited",
];

/// `TaskStateEntered` → `stateEnteredEventDetails`, and the like.
fn details_key(ty: &str) -> String {
    if ty.ends_with("StateEntered") {
        return "stateEnteredEventDetails".into();
    }
    if ty.ends_with("StateExited") {
        return "stateExitedEventDetails".into();
    }
    if let Some(rest) = ty.strip_prefix("MapIteration") {
        return format!("mapIteration{rest}EventDetails");
    }
    let mut k = String::with_capacity(ty.len() + 12);
    let mut chars = ty.chars();
    if let Some(c) = chars.next() {
        k.push(c.to_ascii_lowercase());
    }
    k.extend(chars);
    k.push_str("EventDetails");
    k
}

/// `arn:aws:states:::lambda:invoke` → (`lambda`, `invoke`).
fn service_resource(resource: &str) -> (String, String) {
    match resource.strip_prefix("arn:aws:states:::") {
        Some(rest) => match rest.split_once(':') {
            Some((svc, action)) => (svc.to_string(), action.to_string()),
            None => (rest.to_string(), String::new()),
        },
        None => ("lambda".into(), resource.to_string()),
    }
}

fn text(v: &Option<Arc<Value>>) -> Value {
    Value::String(
        v.as_deref()
            .map(Value::to_string)
            .unwrap_or_else(|| "null".into()),
    )
}

fn not_truncated() -> Value {
    json!({"truncated": false})
}

/// One event as AWS writes it.
fn event_json(e: &HistoryEvent, region: &str) -> Value {
    let ty = e.event_type;
    let mut d = Map::new();
    let mut put = |k: &str, v: Value| {
        d.insert(k.into(), v);
    };
    let name = e.state_name.as_deref().map(|n| Value::String(n.into()));
    let error = e.error.clone().map(Value::String);
    let cause = e.cause.clone().map(Value::String);
    let error_cause = |put: &mut dyn FnMut(&str, Value)| {
        if let Some(x) = error.clone() {
            put("error", x);
        }
        if let Some(x) = cause.clone() {
            put("cause", x);
        }
    };
    match ty {
        "ExecutionStarted" => {
            put("input", text(&e.input));
            put("inputDetails", not_truncated());
            put(
                "roleArn",
                json!("arn:aws:iam::111111111111:role/StepFunctionsLocal"),
            );
        }
        "ExecutionSucceeded" => {
            put("output", text(&e.output));
            put("outputDetails", not_truncated());
        }
        t if t.ends_with("StateEntered") => {
            put("name", name.unwrap_or_default());
            put("input", text(&e.input));
            put("inputDetails", not_truncated());
        }
        t if t.ends_with("StateExited") => {
            put("name", name.unwrap_or_default());
            put("output", text(&e.output));
            put("outputDetails", not_truncated());
        }
        "TaskScheduled" | "TaskStarted" | "TaskSucceeded" | "TaskFailed" | "TaskTimedOut" => {
            let (svc, action) = service_resource(e.resource.as_deref().unwrap_or(""));
            put("resourceType", Value::String(svc));
            put("resource", Value::String(action));
            match ty {
                "TaskScheduled" => {
                    put("region", Value::String(region.into()));
                    put("parameters", text(&e.input));
                }
                "TaskSucceeded" => {
                    put("output", text(&e.output));
                    put("outputDetails", not_truncated());
                }
                "TaskFailed" | "TaskTimedOut" => error_cause(&mut put),
                _ => {}
            }
        }
        "LambdaFunctionScheduled" => {
            put("resource", json!(e.resource.clone().unwrap_or_default()));
            put("input", text(&e.input));
            put("inputDetails", not_truncated());
        }
        "LambdaFunctionSucceeded" => {
            put("output", text(&e.output));
            put("outputDetails", not_truncated());
        }
        "MapStateStarted" => put("length", json!(e.index.unwrap_or(0))),
        t if t.starts_with("MapIteration") => {
            put("name", name.unwrap_or_default());
            put("index", json!(e.index.unwrap_or(0)));
        }
        "EvaluationFailed" => {
            put("state", name.unwrap_or_default());
            error_cause(&mut put);
        }
        "ExecutionFailed"
        | "ExecutionTimedOut"
        | "ExecutionAborted"
        | "LambdaFunctionFailed"
        | "LambdaFunctionTimedOut"
        | "MapRunFailed" => error_cause(&mut put),
        _ => {}
    }
    let mut o = Map::new();
    o.insert("timestamp".into(), Value::String(e.timestamp.to_string()));
    o.insert("type".into(), Value::String(ty.into()));
    o.insert("id".into(), json!(e.id));
    o.insert("previousEventId".into(), json!(e.previous_event_id));
    if !d.is_empty() {
        o.insert(details_key(ty), Value::Object(d));
    }
    Value::Object(o)
}

/// `{"events": [...]}`, as `GetExecutionHistory` answers.
pub fn to_aws(events: &[HistoryEvent], region: &str) -> Value {
    json!({"events": events.iter().map(|e| event_json(e, region)).collect::<Vec<_>>()})
}

/// A payload written as JSON text (AWS) or as JSON (a hand-written file).
fn payload(v: Option<&Value>) -> Option<Arc<Value>> {
    match v? {
        Value::String(s) => Some(Arc::new(
            serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone())),
        )),
        other => Some(Arc::new(other.clone())),
    }
}

/// AWS's timestamp: RFC 3339 text (the CLI) or seconds since the epoch (the API).
fn timestamp(v: Option<&Value>) -> Arc<str> {
    match v {
        Some(Value::String(s)) => Arc::from(s.as_str()),
        Some(Value::Number(n)) => {
            let secs = n.as_f64().unwrap_or(0.0);
            let t = chrono::DateTime::from_timestamp_millis((secs * 1000.0).round() as i64)
                .unwrap_or_default();
            Arc::from(
                t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                    .as_str(),
            )
        }
        _ => Arc::from(""),
    }
}

/// Reads a `GetExecutionHistory` answer (or a bare array of its events).
pub fn from_aws(doc: &Value) -> Result<Vec<HistoryEvent>, String> {
    let list = match doc {
        Value::Array(a) => a,
        other => other
            .get("events")
            .and_then(Value::as_array)
            .ok_or("not an execution history: no \"events\" array")?,
    };
    let mut out = Vec::with_capacity(list.len());
    let mut first: Option<chrono::DateTime<chrono::FixedOffset>> = None;
    for (i, e) in list.iter().enumerate() {
        let ty = e.get("type").and_then(Value::as_str).unwrap_or("");
        let event_type = EVENT_TYPES
            .iter()
            .find(|t| **t == ty)
            .copied()
            .ok_or_else(|| format!("event {}: unknown type {ty:?}", i + 1))?;
        let mut ev = HistoryEvent::new(event_type);
        ev.id = e.get("id").and_then(Value::as_u64).unwrap_or(i as u64 + 1);
        ev.previous_event_id = e
            .get("previousEventId")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        ev.timestamp = timestamp(e.get("timestamp"));
        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(&ev.timestamp) {
            let start = *first.get_or_insert(t);
            ev.elapsed_seconds = (t - start).num_milliseconds() as f64 / 1000.0;
        }
        let d = e.get(details_key(ty)).cloned().unwrap_or(Value::Null);
        let s = |k: &str| d.get(k).and_then(Value::as_str).map(str::to_string);
        ev.state_name = s("name")
            .or_else(|| s("state"))
            .map(|n| Arc::from(n.as_str()));
        ev.error = s("error");
        ev.cause = s("cause");
        ev.input = payload(d.get("input").or_else(|| d.get("parameters")));
        ev.output = payload(d.get("output"));
        ev.index = d
            .get("index")
            .or_else(|| d.get("length"))
            .and_then(Value::as_u64)
            .map(|i| i as usize);
        ev.resource = match (s("resourceType"), s("resource")) {
            (Some(t), Some(r)) => Some(format!("arn:aws:states:::{t}:{r}")),
            (None, Some(r)) => Some(r),
            _ => None,
        };
        out.push(ev);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_our_history_when_written_as_aws_then_it_reads_back_the_same() {
        let mut a = HistoryEvent::new("TaskStateEntered");
        a.id = 1;
        a.timestamp = Arc::from("2026-12-04T01:00:00.000Z");
        a.state_name = Some(Arc::from("Poll"));
        a.input = Some(Arc::new(json!({"n": 1})));
        let mut b = HistoryEvent::new("TaskScheduled");
        b.id = 2;
        b.previous_event_id = 1;
        b.timestamp = Arc::from("2026-12-04T01:00:01.500Z");
        b.resource = Some("arn:aws:states:::lambda:invoke".into());
        b.input = Some(Arc::new(json!({"FunctionName": "f"})));
        let doc = to_aws(&[a, b], "us-east-1");
        assert_eq!(
            doc["events"][0]["stateEnteredEventDetails"]["input"],
            "{\"n\":1}"
        );
        assert_eq!(
            doc["events"][1]["taskScheduledEventDetails"]["resourceType"],
            "lambda"
        );
        assert_eq!(
            doc["events"][1]["taskScheduledEventDetails"]["resource"],
            "invoke"
        );
        let back = from_aws(&doc).unwrap();
        assert_eq!(back[0].state_name.as_deref(), Some("Poll"));
        assert_eq!(back[0].input.as_deref(), Some(&json!({"n": 1})));
        assert_eq!(
            back[1].resource.as_deref(),
            Some("arn:aws:states:::lambda:invoke")
        );
        assert_eq!(back[1].elapsed_seconds, 1.5);
    }

    #[test]
    fn given_event_types_when_naming_details_then_they_follow_aws() {
        assert_eq!(
            details_key("MapIterationStarted"),
            "mapIterationStartedEventDetails"
        );
        assert_eq!(details_key("PassStateExited"), "stateExitedEventDetails");
        assert_eq!(
            details_key("LambdaFunctionFailed"),
            "lambdaFunctionFailedEventDetails"
        );
        assert_eq!(
            details_key("EvaluationFailed"),
            "evaluationFailedEventDetails"
        );
    }

    #[test]
    fn given_an_unknown_event_type_when_read_then_it_is_refused_by_name() {
        let err = from_aws(&json!({"events": [{"type": "Nope"}]})).unwrap_err();
        assert!(err.contains("Nope"), "{err}");
    }
}
