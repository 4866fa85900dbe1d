//! Execution history: AWS's event types with ids and previous ids, as JSON or
//! one line of text per event.
//!
//! An event shares what it records instead of copying it: the state name is
//! the definition's, the input and output are the very values that flow from
//! state to state (a state's output is the next one's input, one `Arc`), and
//! events in the same millisecond share one timestamp text. A long execution's
//! history therefore costs a few machine words per event, not a deep copy of
//! every payload twice.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

pub mod aws;

use crate::model::{ResourceKind, StateType};

/// The blank timestamp of a new event (one shared allocation).
static EMPTY: std::sync::LazyLock<Arc<str>> = std::sync::LazyLock::new(|| Arc::from(""));

/// One history event (`ExecutionStarted`, `TaskStateEntered`, `TaskFailed`, …).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEvent {
    pub id: u64,
    pub previous_event_id: u64,
    /// RFC 3339 time on the execution's (possibly virtual) clock.
    pub timestamp: Arc<str>,
    /// Seconds since the execution started, on the same clock.
    pub elapsed_seconds: f64,
    /// AWS's event type (`TaskStateEntered`, …): one of a fixed set.
    #[serde(rename = "type")]
    pub event_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_name: Option<Arc<str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<Arc<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Arc<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// Map iteration index, or the item count on `MapStateStarted`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
}

/// AWS's `…StateEntered` and `…StateExited` event types of a state type.
pub(crate) fn state_event_types(kind: &StateType) -> (&'static str, &'static str) {
    match kind {
        StateType::Pass => ("PassStateEntered", "PassStateExited"),
        StateType::Task => ("TaskStateEntered", "TaskStateExited"),
        StateType::Choice => ("ChoiceStateEntered", "ChoiceStateExited"),
        StateType::Wait => ("WaitStateEntered", "WaitStateExited"),
        StateType::Succeed => ("SucceedStateEntered", "SucceedStateExited"),
        StateType::Fail => ("FailStateEntered", "FailStateExited"),
        StateType::Parallel => ("ParallelStateEntered", "ParallelStateExited"),
        StateType::Map => ("MapStateEntered", "MapStateExited"),
        // Validation refuses other types; running one anyway fails right
        // after this event with a cause that names the type.
        StateType::Other(_) => ("StateEntered", "StateExited"),
    }
}

/// The events a Task records: `Task…` for service integrations (and
/// `lambda:invoke`), `LambdaFunction…` for a Lambda function ARN resource.
pub(crate) struct TaskEvents {
    pub(crate) scheduled: &'static str,
    pub(crate) started: &'static str,
    pub(crate) succeeded: &'static str,
    pub(crate) failed: &'static str,
    pub(crate) timed_out: &'static str,
}

pub(crate) fn task_event_types(kind: &ResourceKind) -> TaskEvents {
    match kind {
        ResourceKind::LambdaFunction => TaskEvents {
            scheduled: "LambdaFunctionScheduled",
            started: "LambdaFunctionStarted",
            succeeded: "LambdaFunctionSucceeded",
            failed: "LambdaFunctionFailed",
            timed_out: "LambdaFunctionTimedOut",
        },
        _ => TaskEvents {
            scheduled: "TaskScheduled",
            started: "TaskStarted",
            succeeded: "TaskSucceeded",
            failed: "TaskFailed",
            timed_out: "TaskTimedOut",
        },
    }
}

impl HistoryEvent {
    /// A Task attempt that failed or timed out (`TaskFailed`,
    /// `LambdaFunctionFailed`, `TaskTimedOut`, `LambdaFunctionTimedOut`).
    pub fn is_task_failure(&self) -> bool {
        matches!(
            self.event_type,
            "TaskFailed" | "TaskTimedOut" | "LambdaFunctionFailed" | "LambdaFunctionTimedOut"
        )
    }

    /// A blank event of `event_type`; the recorder fills id, time and clock.
    pub fn new(event_type: &'static str) -> Self {
        HistoryEvent {
            id: 0,
            previous_event_id: 0,
            timestamp: EMPTY.clone(),
            elapsed_seconds: 0.0,
            event_type,
            state_name: None,
            resource: None,
            input: None,
            output: None,
            error: None,
            cause: None,
            index: None,
        }
    }

    /// One line: `#5 (prev #4) +0.003s TaskSucceeded PollReport output={...}`.
    pub(crate) fn to_text(&self) -> String {
        let mut s = format!(
            "#{} (prev #{}) +{:.3}s {}",
            self.id, self.previous_event_id, self.elapsed_seconds, self.event_type
        );
        if let Some(n) = &self.state_name {
            s.push_str(&format!(" {n}"));
        }
        if let Some(i) = self.index {
            s.push_str(&format!(" [{i}]"));
        }
        if let Some(r) = &self.resource {
            s.push_str(&format!(" resource={r}"));
        }
        if let Some(e) = &self.error {
            s.push_str(&format!(" error={e}"));
        }
        if let Some(c) = &self.cause {
            s.push_str(&format!(" cause={}", summarize_str(c, 200)));
        }
        if let Some(i) = &self.input {
            s.push_str(&format!(" input={}", summarize(i, 200)));
        }
        if let Some(o) = &self.output {
            s.push_str(&format!(" output={}", summarize(o, 200)));
        }
        s
    }
}

/// Compact JSON cut to `max` characters (for one-line progress output).
pub fn summarize(v: &Value, max: usize) -> String {
    summarize_str(&v.to_string(), max)
}

fn summarize_str(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max).collect();
        format!("{cut}…")
    }
}

/// The whole history as text, one event per line.
pub fn history_to_text(events: &[HistoryEvent]) -> String {
    events
        .iter()
        .map(HistoryEvent::to_text)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Receives every event as it is recorded (e.g. to print progress).
pub trait Observer: Send + Sync {
    fn on_event(&self, event: &HistoryEvent);
}
