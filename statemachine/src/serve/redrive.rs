//! `RedriveExecution`: a failed, timed-out or aborted execution goes on
//! from the top-level state it was in, on that state's input, its history
//! numbered on after an `ExecutionRedriven` event.

use std::sync::Arc;

use serde_json::{json, Value};

use super::errors::ApiError;
use super::executions::check_execution_arn;
use super::machines::parse_definition;
use super::run::{spawn, Launch};
use super::store::ExecutionRecord;
use super::{now, Req, Shared};
use crate::history::HistoryEvent;

pub(crate) fn redrivable(r: &ExecutionRecord) -> Result<(), &'static str> {
    match r.status.as_str() {
        "FAILED" | "TIMED_OUT" | "ABORTED" => Ok(()),
        "RUNNING" => Err("it is still running"),
        _ => Err("it succeeded"),
    }
}

pub(crate) fn redrive(
    shared: &Arc<Shared>,
    req: Req<'_>,
    wait_scale: Option<f64>,
) -> Result<Value, ApiError> {
    let arn = req.str("executionArn")?;
    check_execution_arn(arn)?;
    let old = shared.execution(arn)?;
    if let Err(why) = redrivable(&old.record) {
        return Err(ApiError::execution_not_redrivable(arn, why));
    }
    let machine = parse_definition(&old.record.definition)?;
    let prior: Vec<HistoryEvent> = old.history.lock().expect("history").clone();
    // Again from the top-level state that was running when it failed, on the
    // input that state had (Map and Parallel states run whole again).
    let restart = prior.iter().rev().find(|e| {
        e.event_type.ends_with("StateEntered")
            && e.state_name
                .as_deref()
                .is_some_and(|n| machine.state(n).is_some())
    });
    let (start_at, input) = match restart {
        Some(e) => (
            e.state_name.as_deref().map(str::to_string),
            e.input.as_deref().cloned().unwrap_or(Value::Null),
        ),
        None => (
            None,
            serde_json::from_str(&old.record.input).unwrap_or(Value::Null),
        ),
    };
    let redrive_date = now();
    let wait_scale = wait_scale.unwrap_or(old.record.wait_scale);
    let stored = {
        let mut all = shared.executions.lock().expect("executions");
        let s = all.get_mut(arn).expect("looked up above");
        let r = &mut s.record;
        r.status = "RUNNING".into();
        r.redrive_count += 1;
        r.redrive_date = Some(redrive_date);
        r.stop_date = None;
        r.output = None;
        r.error = None;
        r.cause = None;
        s.clone()
    };
    shared.save(&stored)?;
    spawn(
        shared.clone(),
        stored,
        Launch {
            machine,
            input,
            start_at,
            prior,
            wait_scale,
        },
    );
    Ok(json!({ "redriveDate": redrive_date }))
}
