//! The run of one execution on the executor, in the background: its
//! events copied into the stored history as they happen, its record updated
//! when it ends (unless it was stopped meanwhile), and the events that end
//! an execution that did not end by itself.

use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::invoker::ExecutionInvoker;
use super::machines::machine_arn_name;
use super::mocks::TestCase;
use super::now;
use super::store::StoredExecution;
use super::Shared;
use crate::history::{HistoryEvent, Observer};
use crate::{execute, Execution, RunOptions, StateMachine};

/// Copies each event into the stored history as it is recorded; after a
/// redrive, numbered on from the events before it.
struct Live {
    history: Arc<Mutex<Vec<HistoryEvent>>>,
    base: u64,
}

impl Live {
    fn renumber(&self, e: &HistoryEvent) -> HistoryEvent {
        let mut e = e.clone();
        if self.base > 0 {
            if e.event_type == "ExecutionStarted" {
                e.event_type = "ExecutionRedriven";
                e.input = None;
            }
            e.id += self.base;
            e.previous_event_id += self.base;
        }
        e
    }
}

impl Observer for Live {
    fn on_event(&self, event: &HistoryEvent) {
        let e = self.renumber(event);
        self.history.lock().expect("history").push(e);
    }
}

/// Where a run starts: the first time, or again after a failure.
pub(crate) struct Launch {
    pub(crate) machine: StateMachine,
    pub(crate) input: Value,
    pub(crate) start_at: Option<String>,
    pub(crate) prior: Vec<HistoryEvent>,
    pub(crate) wait_scale: f64,
}

/// Runs `launch` in the background; the record is updated when it ends.
pub(crate) fn spawn(shared: Arc<Shared>, stored: StoredExecution, launch: Launch) {
    let arn = stored.record.execution_arn.clone();
    let mut running = shared.running.lock().expect("running");
    let task_shared = shared.clone();
    let handle = tokio::spawn(async move {
        let shared = task_shared;
        let execution = run(&shared, &stored, launch).await;
        finish(&shared, &stored.record.execution_arn, execution);
    });
    running.insert(arn, handle.abort_handle());
}

/// One run on the executor.
pub(crate) async fn run(
    shared: &Shared,
    stored: &StoredExecution,
    launch: Launch,
) -> (Execution, Vec<HistoryEvent>, u64) {
    let rec = &stored.record;
    let base = launch.prior.len() as u64;
    let observer = Arc::new(Live {
        history: stored.history.clone(),
        base,
    });
    let mocks = match (&shared.opts.mocks, &rec.test_case) {
        (Some(config), Some(case)) => {
            let (machine, _) = machine_arn_name(&rec.state_machine_arn).unwrap_or_default();
            let calls = shared
                .test_cases
                .lock()
                .expect("test cases")
                .entry(rec.execution_arn.clone())
                .or_insert_with(|| Arc::new(TestCase::new(machine, case)))
                .clone();
            Some((config, calls))
        }
        _ => None,
    };
    let invoker = ExecutionInvoker {
        functions: shared.opts.functions.clone(),
        mocks,
        callbacks: shared.callbacks.clone(),
    };
    let machine_name = rec
        .state_machine_arn
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_string();
    let options = RunOptions {
        wait_scale: launch.wait_scale,
        observer: Some(observer.clone()),
        execution_name: Some(rec.name.clone()),
        state_machine_name: machine_name,
        execution_arn: Some(rec.execution_arn.clone()),
        state_machine_arn: Some(rec.state_machine_arn.clone()),
        start_at: launch.start_at,
        redrive_count: rec.redrive_count,
        ..Default::default()
    };
    let execution = execute(&launch.machine, launch.input, &invoker, options).await;
    let mut history = launch.prior;
    history.extend(execution.history.iter().map(|e| observer.renumber(e)));
    (execution, history, base)
}

/// Records how a run ended, unless it was stopped meanwhile.
fn finish(
    shared: &Shared,
    arn: &str,
    (execution, history, _): (Execution, Vec<HistoryEvent>, u64),
) {
    shared.running.lock().expect("running").remove(arn);
    let mut all = shared.executions.lock().expect("executions");
    let Some(stored) = all.get_mut(arn) else {
        return;
    };
    if stored.record.status != "RUNNING" {
        return;
    }
    let r = &mut stored.record;
    r.status = execution.status.as_aws().to_string();
    r.stop_date = Some(now());
    r.output = execution.output.as_ref().map(Value::to_string);
    r.error = execution.error.clone();
    r.cause = execution.cause.clone();
    *stored.history.lock().expect("history") = history;
    let stored = stored.clone();
    drop(all);
    if let Err(e) = shared.save(&stored) {
        eprintln!("asl serve: {}", e.message);
    }
    if shared.opts.log {
        let r = &stored.record;
        let took = r.stop_date.unwrap_or(r.start_date) - r.redrive_date.unwrap_or(r.start_date);
        let why = match (&r.error, &r.cause) {
            (Some(e), Some(c)) => format!(": {e}: {c}"),
            (Some(e), None) => format!(": {e}"),
            _ => String::new(),
        };
        eprintln!("{} {} in {took:.2} s{why}", r.execution_arn, r.status);
    }
}

/// Adds the event that ends an execution that did not end by itself.
pub(crate) fn append_end_event(stored: &mut StoredExecution, ty: &'static str) {
    let mut h = stored.history.lock().expect("history");
    let last = h.last().map_or(0, |e| e.id);
    let mut ev = HistoryEvent::new(ty);
    ev.id = last + 1;
    ev.previous_event_id = last;
    let t = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    ev.timestamp = Arc::from(t.as_str());
    ev.error = stored.record.error.clone();
    ev.cause = stored.record.cause.clone();
    h.push(ev);
}

/// A store read back after a stop: what was running is recorded as aborted.
pub(crate) fn abort_on_restart(stored: &mut StoredExecution) {
    let r = &mut stored.record;
    r.status = "ABORTED".into();
    r.stop_date = Some(now());
    r.error = Some("States.Runtime".into());
    r.cause =
        Some("The local endpoint stopped while this execution ran; redrive it to go on.".into());
    append_end_event(stored, "ExecutionAborted");
}
