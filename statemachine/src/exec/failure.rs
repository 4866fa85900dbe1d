//! Every way a state or an execution fails: AWS's error names and cause
//! texts, each built by one constructor here, so that a name or a wording
//! matches AWS's in one place (checked by the conformance corpus).

use serde_json::{Map, Value};

use crate::invoke::TaskFailure;

/// What may handle a [`Failure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureKind {
    /// Retry/Catch may handle it.
    Catchable,
    /// `States.Runtime` and friends: ends the execution.
    Fatal,
    /// The whole execution's `TimeoutSeconds` elapsed.
    ExecutionTimeout,
}

/// An error with AWS's name and cause, on its way to a Retry/Catch or to the
/// end of the execution.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub(crate) error: String,
    pub(crate) cause: Option<String>,
    pub(crate) kind: FailureKind,
}

impl Failure {
    /// An error Retry/Catch may handle, named by a Task or a Fail state.
    pub(crate) fn catchable(error: impl Into<String>, cause: Option<String>) -> Self {
        Failure {
            error: error.into(),
            cause,
            kind: FailureKind::Catchable,
        }
    }

    /// What a Task's function reported (an empty cause is no cause).
    pub(crate) fn from_task(f: TaskFailure) -> Self {
        Self::catchable(f.error, Some(f.cause).filter(|c| !c.is_empty()))
    }

    /// `States.Runtime` in a state: ends the execution whatever the handlers say.
    pub(crate) fn runtime(state: &str, entered: u64, msg: &str) -> Self {
        Failure {
            error: "States.Runtime".into(),
            cause: Some(format!(
                "An error occurred while executing the state '{state}' (entered at the event id #{entered}). {msg}"
            )),
            kind: FailureKind::Fatal,
        }
    }

    /// A transition to a state the machine does not have.
    pub(crate) fn no_such_state(name: &str) -> Self {
        Failure {
            error: "States.Runtime".into(),
            cause: Some(format!("The state '{name}' does not exist.")),
            kind: FailureKind::Fatal,
        }
    }

    /// `States.QueryEvaluationError` in a JSONata state: an expression failed
    /// or gave what the field cannot take. Retry and Catch may handle it.
    pub(crate) fn query_evaluation(state: &str, entered: u64, msg: &str) -> Self {
        let mut f = Self::runtime(state, entered, msg);
        f.error = "States.QueryEvaluationError".into();
        f.kind = FailureKind::Catchable;
        f
    }

    /// The state machine's `TimeoutSeconds` elapsed.
    pub(crate) fn execution_timeout() -> Self {
        Failure {
            error: "States.Timeout".into(),
            cause: Some(
                "The execution timed out (TimeoutSeconds of the state machine elapsed).".into(),
            ),
            kind: FailureKind::ExecutionTimeout,
        }
    }

    /// The history reached its quota (25,000 events on AWS) with the
    /// execution still running. AWS documents that the execution fails with
    /// `ExecutionFailed` as the last event, not the error name it records;
    /// `States.Runtime` is its name for a failure of the execution itself.
    pub(crate) fn history_limit(max_events: usize) -> Self {
        Failure {
            error: "States.Runtime".into(),
            cause: Some(format!(
                "The execution reached the maximum execution history size of {max_events} events."
            )),
            kind: FailureKind::Fatal,
        }
    }

    /// A Task's `TimeoutSeconds` elapsed before its function answered.
    pub(crate) fn task_timeout() -> Self {
        Self::catchable("States.Timeout", None)
    }

    /// A payload over 256 KiB: fatal for a state's output, catchable for a Task's result.
    pub(crate) fn data_limit_exceeded(who: &str, fatal: bool) -> Self {
        Failure {
            error: "States.DataLimitExceeded".into(),
            cause: Some(format!(
                "The state/task '{who}' returned a result with a size exceeding the maximum number of bytes service limit."
            )),
            kind: if fatal {
                FailureKind::Fatal
            } else {
                FailureKind::Catchable
            },
        }
    }

    /// A Choice with no matching rule and no `Default`.
    pub(crate) fn no_choice_matched(state: &str, entered: u64) -> Self {
        let mut f = Self::runtime(state, entered, "No Choice matched and no Default is set.");
        f.error = "States.NoChoiceMatched".into();
        f
    }

    /// A Map's failed iterations went past `ToleratedFailure*` (or a Distributed Map's 0).
    pub(crate) fn tolerated_failure_exceeded() -> Self {
        Self::catchable(
            "States.ExceedToleratedFailureThreshold",
            Some("The specified tolerated failure threshold was exceeded".into()),
        )
    }

    /// `{"Error": …, "Cause": …}`, as a Catch hands it on and a Map records it.
    pub(crate) fn error_object(&self) -> Value {
        let mut o = Map::new();
        o.insert("Error".into(), Value::String(self.error.clone()));
        if let Some(c) = &self.cause {
            o.insert("Cause".into(), Value::String(c.clone()));
        }
        Value::Object(o)
    }
}

/// Errors a Retry/Catch `ErrorEquals` list matches (AWS rules: `States.ALL`
/// matches any catchable error, `States.TaskFailed` any but `States.Timeout`).
pub fn error_matches(error_equals: &[Value], error: &str) -> bool {
    error_equals.iter().filter_map(Value::as_str).any(|e| {
        e == error || e == "States.ALL" || (e == "States.TaskFailed" && error != "States.Timeout")
    })
}

/// The texts that follow "An error occurred while executing the state …" in
/// a `States.Runtime` cause, worded as AWS words them.
pub(crate) mod cause {
    use serde_json::Value;

    /// A value as AWS shows it in a cause: strings bare, the rest as JSON.
    fn shown(v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            o => o.to_string(),
        }
    }

    pub(crate) fn invalid_path(path: &str, why: &str) -> String {
        format!("Invalid path '{path}' : {why}")
    }

    pub(crate) fn undefined_variable(name: &str) -> String {
        format!("The variable '${name}' is not defined.")
    }

    pub(crate) fn invalid_field(field: &str, value: &Value) -> String {
        format!("Invalid {field} {value}")
    }

    pub(crate) fn path_not_found(expr: &str, field: &str, input: &Value) -> String {
        format!(
            "The JSONPath '{expr}' specified for the field '{field}' could not be found in the input '{input}'"
        )
    }

    pub(crate) fn unsupported_state_type(kind: &str) -> String {
        format!("Unsupported state type '{kind}'.")
    }

    pub(crate) fn seconds_path_not_long(path: &str, v: &Value) -> String {
        format!(
            "The SecondsPath parameter cannot be parsed as a long value: {path} == {}",
            shown(v)
        )
    }

    pub(crate) fn seconds_path_negative(path: &str, v: &Value) -> String {
        format!(
            "The SecondsPath parameter references a negative value: {path} == {}",
            shown(v)
        )
    }

    pub(crate) fn invalid_timestamp(field: &str, path: &str, v: &Value) -> String {
        format!(
            "The {field} parameter does not reference a valid ISO-8601 extended offset date-time format string: {path} == {}",
            shown(v)
        )
    }

    pub(crate) fn timeout_path_not_positive(path: &str, v: &Value) -> String {
        format!(
            "The TimeoutSecondsPath parameter does not reference a positive integer: {path} == {v}"
        )
    }

    pub(crate) fn not_a_number(path_field: &str, path: &str, v: &Value, float: bool) -> String {
        let what = if float { "float" } else { "integer" };
        format!(
            "The {path_field} field refers to value \"{}\" which is not a valid {what}: {path}",
            shown(v)
        )
    }

    pub(crate) fn map_items_not_array(path: &str, items: &Value) -> String {
        format!("Invalid path '{path}' : The Map state's items must be a JSON array, got: {items}")
    }

    /// JSONata's name for a value's type, as AWS's causes use it.
    fn jsonata_type(v: &Value) -> &'static str {
        match v {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }

    pub(crate) fn jsonata_undefined(expr: &str, field: &str) -> String {
        format!("The JSONata expression '{expr}' specified for the field '{field}' returned nothing (undefined).")
    }

    pub(crate) fn jsonata_wrong_type(expr: &str, field: &str, want: &str, got: &Value) -> String {
        format!(
            "The JSONata expression '{expr}' specified for the field '{field}' returned an unexpected result type. Expected '{want}', but was '{}' for value: {got}",
            jsonata_type(got)
        )
    }

    pub(crate) fn jsonata_failed(expr: &str, field: &str, why: &str) -> String {
        format!("The JSONata expression '{expr}' specified for the field '{field}' threw an error during evaluation. {why}")
    }

    pub(crate) fn jsonata_unparsable(expr: &str, field: &str, why: &str) -> String {
        format!("The JSONata expression '{expr}' specified for the field '{field}' could not be parsed. {why}")
    }

    pub(crate) fn field_wrong_type(field: &str, want: &str, got: &Value) -> String {
        format!(
            "The field '{field}' must be of type '{want}', but was '{}' for value: {got}",
            jsonata_type(got)
        )
    }

    pub(crate) fn map_input_not_array(input: &Value) -> String {
        format!("Map state input must be an array but was: {input}")
    }

    pub(crate) fn jsonata_timestamp(value: &Value) -> String {
        format!(
            "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {}",
            shown(value)
        )
    }

    pub(crate) const TOLERATED_COUNT_NEGATIVE: &str = "ToleratedFailureCount cannot be negative.";
    pub(crate) const TOLERATED_PERCENTAGE_RANGE: &str =
        "ToleratedFailurePercentage must be between 0 and 100.";
    pub(crate) const MAP_WITHOUT_PROCESSOR: &str =
        "The Map state has no ItemProcessor or Iterator.";
}
