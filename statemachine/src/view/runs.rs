//! What happened, from the history: one entry per time a state was entered
//! (its input, output, task attempts with their parameters, results, errors
//! and the waits between them), each state's outcome, and the execution's.
//!
//! Events are matched to entries the way AWS links them: `…StateEntered`
//! opens an entry, `…StateExited` of the same name closes the oldest open
//! one, and task events follow their `previousEventId` to the entry they
//! belong to (else the latest open Task entry, for histories whose previous
//! ids are only the event before).

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use crate::history::HistoryEvent;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Outcome {
    NotEntered,
    Succeeded,
    Running,
    Retried,
    Caught,
    Failed,
}

impl Outcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::NotEntered => "not entered",
            Outcome::Succeeded => "succeeded",
            Outcome::Running => "in progress",
            Outcome::Retried => "retried",
            Outcome::Caught => "caught",
            Outcome::Failed => "failed",
        }
    }

    /// The CSS class and the key of the legend.
    pub(crate) fn class(self) -> &'static str {
        match self {
            Outcome::NotEntered => "not-entered",
            Outcome::Succeeded => "succeeded",
            Outcome::Running => "running",
            Outcome::Retried => "retried",
            Outcome::Caught => "caught",
            Outcome::Failed => "failed",
        }
    }
}

/// One task attempt: scheduled, then succeeded, failed or timed out.
#[derive(Debug, Clone, Default)]
pub(crate) struct Attempt {
    pub(crate) resource: Option<String>,
    pub(crate) parameters: Option<Arc<Value>>,
    pub(crate) result: Option<Arc<Value>>,
    pub(crate) error: Option<String>,
    pub(crate) cause: Option<String>,
    pub(crate) scheduled_at: f64,
    pub(crate) ended_at: Option<f64>,
    pub(crate) failed: bool,
}

/// One time a state was entered.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) state: Arc<str>,
    /// `Task`, `Wait`, … from the event type.
    pub(crate) kind: String,
    pub(crate) entered_at: f64,
    pub(crate) exited_at: Option<f64>,
    pub(crate) input: Option<Arc<Value>>,
    pub(crate) output: Option<Arc<Value>>,
    pub(crate) attempts: Vec<Attempt>,
    /// A Map or Parallel that failed (`MapStateFailed`, …), or the error the
    /// execution failed with while this entry was open.
    pub(crate) error: Option<String>,
    pub(crate) cause: Option<String>,
    pub(crate) outcome: Outcome,
}

impl Entry {
    pub(crate) fn resource(&self) -> Option<&str> {
        self.attempts.iter().find_map(|a| a.resource.as_deref())
    }

    pub(crate) fn duration(&self, end: f64) -> f64 {
        self.exited_at.unwrap_or(end) - self.entered_at
    }
}

/// The execution as a whole.
#[derive(Debug, Clone, Default)]
pub(crate) struct Summary {
    pub(crate) status: String,
    pub(crate) start: Arc<str>,
    pub(crate) end: Option<Arc<str>>,
    pub(crate) duration: f64,
    pub(crate) input: Option<Arc<Value>>,
    pub(crate) output: Option<Arc<Value>>,
    pub(crate) error: Option<String>,
    pub(crate) cause: Option<String>,
    /// States entered: what Standard Workflows bill, as `StateEntered` events.
    pub(crate) transitions: usize,
}

pub(crate) struct Run {
    pub(crate) entries: Vec<Entry>,
    pub(crate) summary: Summary,
    /// Entry indexes of each state, in the order entered.
    pub(crate) by_state: HashMap<Arc<str>, Vec<usize>>,
}

impl Run {
    /// The state's outcome over all its entries (the worst one).
    pub(crate) fn outcome(&self, state: &str) -> Outcome {
        self.by_state
            .get(state)
            .map(|ix| {
                ix.iter()
                    .map(|i| self.entries[*i].outcome)
                    .max()
                    .unwrap_or(Outcome::NotEntered)
            })
            .unwrap_or(Outcome::NotEntered)
    }

    pub(crate) fn count(&self, state: &str) -> usize {
        self.by_state.get(state).map_or(0, Vec::len)
    }
}

fn is_task_event(ty: &str) -> bool {
    (ty.starts_with("Task") && !ty.starts_with("TaskState")) || ty.starts_with("LambdaFunction")
}

pub(crate) fn read(events: &[HistoryEvent]) -> Run {
    let mut entries: Vec<Entry> = Vec::new();
    let mut open: HashMap<Arc<str>, Vec<usize>> = HashMap::new();
    let mut entry_of_event: HashMap<u64, usize> = HashMap::new();
    let mut last_task: Option<usize> = None;
    let mut summary = Summary::default();
    for ev in events {
        let ty = ev.event_type;
        if let Some(kind) = ty.strip_suffix("StateEntered") {
            let name = ev.state_name.clone().unwrap_or_else(|| Arc::from("?"));
            let i = entries.len();
            entries.push(Entry {
                state: name.clone(),
                kind: kind.to_string(),
                entered_at: ev.elapsed_seconds,
                exited_at: None,
                input: ev.input.clone(),
                output: None,
                attempts: Vec::new(),
                error: None,
                cause: None,
                outcome: Outcome::Running,
            });
            open.entry(name).or_default().push(i);
            entry_of_event.insert(ev.id, i);
            if kind == "Task" {
                last_task = Some(i);
            }
            summary.transitions += 1;
        } else if ty.ends_with("StateExited") {
            let name = ev.state_name.clone().unwrap_or_else(|| Arc::from("?"));
            if let Some(list) = open.get_mut(&name).filter(|l| !l.is_empty()) {
                let i = list.remove(0);
                entries[i].exited_at = Some(ev.elapsed_seconds);
                entries[i].output = ev.output.clone();
                entry_of_event.insert(ev.id, i);
            }
        } else if matches!(ty, "MapStateFailed" | "ParallelStateFailed") {
            let name = ev.state_name.clone().unwrap_or_else(|| Arc::from("?"));
            if let Some(&i) = open.get(&name).and_then(|l| l.last()) {
                entries[i].error = ev.error.clone();
                entries[i].cause = ev.cause.clone();
            }
        } else if is_task_event(ty) {
            let i = entry_of_event
                .get(&ev.previous_event_id)
                .copied()
                .filter(|i| entries[*i].exited_at.is_none() && entries[*i].kind == "Task")
                .or(last_task);
            let Some(i) = i else { continue };
            entry_of_event.insert(ev.id, i);
            let e = &mut entries[i];
            if ty.ends_with("Scheduled") {
                e.attempts.push(Attempt {
                    resource: ev.resource.clone(),
                    parameters: ev.input.clone(),
                    scheduled_at: ev.elapsed_seconds,
                    ..Attempt::default()
                });
            } else if let Some(a) = e.attempts.last_mut() {
                if ty.ends_with("Succeeded") {
                    a.result = ev.output.clone();
                    a.ended_at = Some(ev.elapsed_seconds);
                } else if ty.ends_with("Failed") || ty.ends_with("TimedOut") {
                    a.failed = true;
                    a.error = ev.error.clone();
                    a.cause = ev.cause.clone();
                    a.ended_at = Some(ev.elapsed_seconds);
                }
            }
        } else if ty == "ExecutionStarted" {
            summary.start = ev.timestamp.clone();
            summary.input = ev.input.clone();
        } else if let Some(status) = ty.strip_prefix("Execution") {
            summary.status = match status {
                "Succeeded" => "SUCCEEDED",
                "Failed" => "FAILED",
                "TimedOut" => "TIMED_OUT",
                "Aborted" => "ABORTED",
                other => other,
            }
            .to_string();
            summary.end = Some(ev.timestamp.clone());
            summary.duration = ev.elapsed_seconds;
            summary.output = ev.output.clone();
            summary.error = ev.error.clone();
            summary.cause = ev.cause.clone();
        }
    }
    if summary.status.is_empty() {
        summary.status = "RUNNING".into();
        summary.duration = events.last().map_or(0.0, |e| e.elapsed_seconds);
    }
    let ended_badly = matches!(summary.status.as_str(), "FAILED" | "TIMED_OUT" | "ABORTED");
    for e in &mut entries {
        let last_failed = e.attempts.last().is_some_and(|a| a.failed) || e.error.is_some();
        e.outcome = match (e.exited_at.is_some(), last_failed) {
            (true, true) => Outcome::Caught,
            (true, false) if e.attempts.len() > 1 => Outcome::Retried,
            (true, false) => Outcome::Succeeded,
            (false, _) if ended_badly => Outcome::Failed,
            (false, _) => Outcome::Running,
        };
        if e.outcome == Outcome::Failed && e.error.is_none() {
            let a = e.attempts.last().filter(|a| a.failed);
            e.error = a
                .and_then(|a| a.error.clone())
                .or_else(|| summary.error.clone());
            e.cause = a
                .and_then(|a| a.cause.clone())
                .or_else(|| summary.cause.clone());
        }
    }
    // A Succeed or Fail state is "exited" by the execution's end.
    for e in &mut entries {
        if e.kind == "Succeed" && e.outcome == Outcome::Running && summary.status == "SUCCEEDED" {
            e.outcome = Outcome::Succeeded;
        }
    }
    let mut by_state: HashMap<Arc<str>, Vec<usize>> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        by_state.entry(e.state.clone()).or_default().push(i);
    }
    Run {
        entries,
        summary,
        by_state,
    }
}
