//! The executor under hostile definitions: parse, validate and run a
//! definition with an input, as `asl run` and the offline runner do.
//!
//! The input is JSON: a conformance case (`{"definition": …, "input": …}`, the
//! format of `../shared/asl-conformance/cases`, which `make fuzz` adds as a
//! read-only seed folder when present) or a bare definition run on `{}`.
//! Tasks answer with their payload, or fail with the error named by its
//! `"fail"` field, so Retry and Catch paths are reachable.
//!
//! Properties:
//! - nothing panics, and time is bounded: waits are virtual (scale 0), the
//!   history quota is 2,000 events (AWS's 25,000, scaled down so a case stays
//!   fast), and every run ends;
//! - the history is never longer than the quota; its ids run 1, 2, … with
//!   each event's previous id one less; it starts with `ExecutionStarted` and
//!   ends with the one terminal event that matches the status;
//! - a timed-out execution names its error (a failed one may not: a Fail
//!   state without `Error`, as on AWS); a succeeded one
//!   has an output within the 256 KiB payload quota.
#![no_main]

use std::sync::OnceLock;

use async_trait::async_trait;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use statemachine::{
    execute, validate, ExecutionStatus, RunOptions, StateMachine, TaskFailure, TaskInvoker,
    MAX_PAYLOAD_BYTES,
};

const QUOTA: usize = 2_000;

struct Echo;

#[async_trait]
impl TaskInvoker for Echo {
    async fn invoke(&self, _function: &str, input: Value) -> Result<Value, TaskFailure> {
        match input.get("fail") {
            Some(Value::String(error)) => Err(TaskFailure::new(error.clone(), "fuzz task failure")),
            Some(_) => Err(TaskFailure::new("Fuzz.Failed", "fuzz task failure")),
            None => Ok(input),
        }
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let (definition, input) = match doc.get("definition") {
        Some(def) => (
            def.clone(),
            doc.get("input").cloned().unwrap_or(Value::Null),
        ),
        None => (doc, Value::Object(Default::default())),
    };
    let Ok(machine) = StateMachine::from_value(definition) else {
        return;
    };
    // AWS refuses to create an invalid state machine; only valid ones run.
    if !validate(&machine).is_empty() {
        return;
    }
    let options = RunOptions {
        wait_scale: 0.0,
        enforce_task_timeouts: false,
        max_history_events: QUOTA,
        execution_name: Some("fuzz".into()),
        ..RunOptions::default()
    };
    let e = runtime().block_on(execute(&machine, input, &Echo, options));

    assert!(
        !e.history.is_empty() && e.history.len() <= QUOTA,
        "history of {} events",
        e.history.len()
    );
    assert_eq!(e.history[0].event_type, "ExecutionStarted");
    for (i, ev) in e.history.iter().enumerate() {
        assert_eq!(ev.id, i as u64 + 1, "event ids run 1, 2, …");
        assert_eq!(ev.previous_event_id, i as u64);
    }
    let terminal = e.history.last().unwrap().event_type;
    let terminals = e
        .history
        .iter()
        .filter(|ev| ev.event_type.starts_with("Execution") && ev.event_type != "ExecutionStarted")
        .count();
    assert_eq!(terminals, 1, "one terminal event");
    match e.status {
        ExecutionStatus::Succeeded => {
            assert_eq!(terminal, "ExecutionSucceeded");
            let out = e
                .output
                .as_ref()
                .expect("a succeeded execution has an output");
            let size = serde_json::to_vec(out).unwrap().len();
            assert!(size <= MAX_PAYLOAD_BYTES, "output of {size} bytes");
        }
        // A Fail state without Error fails the execution with no error, as on AWS.
        ExecutionStatus::Failed => assert_eq!(terminal, "ExecutionFailed"),
        ExecutionStatus::TimedOut => {
            assert_eq!(terminal, "ExecutionTimedOut");
            assert!(e.error.as_deref().is_some_and(|s| !s.is_empty()));
        }
        other => panic!("an execution ended {other:?}"),
    }
});
