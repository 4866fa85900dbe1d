//! Execution actions: start (Standard in the background, Express in the
//! request), describe, list and stop. The run itself is `run.rs`, a redrive
//! `redrive.rs`.

use std::sync::Arc;

use serde_json::{json, Value};

use super::errors::ApiError;
use super::machines::{machine_arn_name, parse_definition};
use super::redrive::redrivable;
use super::run::{append_end_event, run, spawn, Launch};
use super::store::{newest_first, ExecutionRecord, StoredExecution};
use super::{check_name, now, page, Req, Shared};
use crate::exec::{local_arn, MAX_PAYLOAD_BYTES};

/// The input text checked as `StartExecution` checks it.
fn parse_input(req: Req<'_>) -> Result<(String, Value), ApiError> {
    let text = req.opt_str("input")?.unwrap_or("{}");
    if text.len() > MAX_PAYLOAD_BYTES {
        return Err(ApiError::invalid_execution_input(&format!(
            "the input is {} bytes; the most is {MAX_PAYLOAD_BYTES}",
            text.len()
        )));
    }
    let v = serde_json::from_str(text)
        .map_err(|e| ApiError::invalid_execution_input(&e.to_string()))?;
    Ok((text.to_string(), v))
}

/// The request's `name` (checked), else a new UUID, as AWS names them.
fn execution_name(req: Req<'_>) -> Result<String, ApiError> {
    match req.opt_str("name")? {
        Some(n) => check_name(n).map(|()| n.to_string()),
        None => Ok(uuid::Uuid::new_v4().to_string()),
    }
}

pub(crate) fn start(
    shared: &Arc<Shared>,
    req: Req<'_>,
    wait_scale: Option<f64>,
) -> Result<Value, ApiError> {
    let sm_arn = req.str("stateMachineArn")?;
    let machine_rec = shared.machine(sm_arn)?;
    let (_, case) = machine_arn_name(sm_arn)?;
    if let Some(c) = case {
        let known = shared
            .opts
            .mocks
            .as_ref()
            .is_some_and(|m| m.has_case(&machine_rec.name, c));
        if !known {
            return Err(ApiError::validation(format!(
                "the mock configuration has no test case '{c}' for state machine '{}' (start the endpoint with --mock-config FILE)",
                machine_rec.name
            )));
        }
    }
    let name = execution_name(req)?;
    let (input_text, input) = parse_input(req)?;
    let arn = local_arn("execution", &format!("{}:{name}", machine_rec.name));
    if let Ok(old) = shared.execution(&arn) {
        // Idempotent while it runs with the same input, as on AWS.
        if old.record.status == "RUNNING" && old.record.input == input_text {
            return Ok(json!({"executionArn": arn, "startDate": old.record.start_date}));
        }
        return Err(ApiError::execution_already_exists(&arn));
    }
    let machine = parse_definition(&machine_rec.definition)?;
    let wait_scale = wait_scale.unwrap_or(shared.opts.wait_scale);
    let rec = ExecutionRecord::running(
        &arn,
        &machine_rec,
        &name,
        input_text,
        case.map(str::to_string),
        wait_scale,
    );
    let start_date = rec.start_date;
    let stored = shared.put_execution(rec, Vec::new());
    shared.save(&stored)?;
    spawn(
        shared.clone(),
        stored,
        Launch {
            machine,
            input,
            start_at: None,
            prior: Vec::new(),
            wait_scale,
        },
    );
    Ok(json!({"executionArn": arn, "startDate": start_date}))
}

/// `StartSyncExecution`: an Express state machine, run to its end in the request.
pub(crate) async fn start_sync(
    shared: &Arc<Shared>,
    req: Req<'_>,
    wait_scale: Option<f64>,
) -> Result<Value, ApiError> {
    let sm_arn = req.str("stateMachineArn")?;
    let machine_rec = shared.machine(sm_arn)?;
    if machine_rec.kind != "EXPRESS" {
        return Err(ApiError::state_machine_type_not_supported(
            "This operation is not supported by this type of state machine: StartSyncExecution needs an EXPRESS state machine",
        ));
    }
    let name = execution_name(req)?;
    let (input_text, input) = parse_input(req)?;
    let machine = parse_definition(&machine_rec.definition)?;
    let arn = local_arn(
        "express",
        &format!("{}:{name}:{}", machine_rec.name, uuid::Uuid::new_v4()),
    );
    let rec = ExecutionRecord::running(
        &arn,
        &machine_rec,
        &name,
        input_text.clone(),
        machine_arn_name(sm_arn)?.1.map(str::to_string),
        wait_scale.unwrap_or(shared.opts.wait_scale),
    );
    // Express executions are not kept, as on AWS (no DescribeExecution, no history).
    let stored = StoredExecution {
        record: rec.clone(),
        history: Arc::default(),
    };
    let launch = Launch {
        machine,
        input,
        start_at: None,
        prior: Vec::new(),
        wait_scale: rec.wait_scale,
    };
    let (execution, _, _) = run(shared, &stored, launch).await;
    let stop = now();
    let mut out = json!({
        "executionArn": arn,
        "stateMachineArn": machine_rec.state_machine_arn,
        "name": name,
        "startDate": rec.start_date,
        "stopDate": stop,
        "status": execution.status.as_aws(),
        "input": input_text,
        "inputDetails": {"included": true},
        "billingDetails": {
            "billedMemoryUsedInMB": 64,
            "billedDurationInMilliseconds": (((stop - rec.start_date) * 1000.0 / 100.0).ceil() * 100.0).max(100.0) as u64
        },
    });
    if let Some(o) = &execution.output {
        out["output"] = json!(o.to_string());
        out["outputDetails"] = json!({"included": true});
    }
    if let Some(e) = &execution.error {
        out["error"] = json!(e);
    }
    if let Some(c) = &execution.cause {
        out["cause"] = json!(c);
    }
    Ok(out)
}

/// `DescribeExecution`'s answer for a record.
fn description(r: &ExecutionRecord) -> Value {
    let mut out = json!({
        "executionArn": r.execution_arn,
        "stateMachineArn": r.state_machine_arn,
        "name": r.name,
        "status": r.status,
        "startDate": r.start_date,
        "input": r.input,
        "inputDetails": {"included": true},
        "redriveCount": r.redrive_count,
    });
    match redrivable(r) {
        Ok(()) => out["redriveStatus"] = json!("REDRIVABLE"),
        Err(why) => {
            out["redriveStatus"] = json!("NOT_REDRIVABLE");
            out["redriveStatusReason"] = json!(format!("Execution is not redrivable: {why}"));
        }
    }
    let optional = [
        ("stopDate", r.stop_date.map(|d| json!(d))),
        ("output", r.output.as_ref().map(|o| json!(o))),
        (
            "outputDetails",
            r.output.as_ref().map(|_| json!({"included": true})),
        ),
        ("error", r.error.as_ref().map(|e| json!(e))),
        ("cause", r.cause.as_ref().map(|c| json!(c))),
        ("redriveDate", r.redrive_date.map(|d| json!(d))),
    ];
    for (k, v) in optional {
        if let Some(v) = v {
            out[k] = v;
        }
    }
    out
}

pub(crate) fn describe(shared: &Shared, req: Req<'_>) -> Result<Value, ApiError> {
    let arn = req.str("executionArn")?;
    check_execution_arn(arn)?;
    Ok(description(&shared.execution(arn)?.record))
}

pub(crate) fn check_execution_arn(arn: &str) -> Result<(), ApiError> {
    let ok = arn.starts_with("arn:aws:states:") && arn.contains(":execution:");
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_arn(arn))
    }
}

pub(crate) fn describe_machine_for(shared: &Shared, req: Req<'_>) -> Result<Value, ApiError> {
    let arn = req.str("executionArn")?;
    check_execution_arn(arn)?;
    let rec = shared.execution(arn)?.record;
    let (name, _) = machine_arn_name(&rec.state_machine_arn)?;
    let machine = shared.machine(&rec.state_machine_arn).ok();
    Ok(json!({
        "stateMachineArn": rec.state_machine_arn,
        "name": name,
        "definition": rec.definition,
        "roleArn": machine.as_ref().map_or("arn:aws:iam::111111111111:role/StepFunctionsLocal", |m| m.role_arn.as_str()),
        "updateDate": machine.as_ref().map_or(rec.start_date, |m| m.update_date.unwrap_or(m.creation_date)),
        "loggingConfiguration": {"level": "OFF", "includeExecutionData": false},
        "tracingConfiguration": {"enabled": false},
    }))
}

pub(crate) fn list(shared: &Shared, req: Req<'_>) -> Result<Value, ApiError> {
    let sm_arn = req.str("stateMachineArn")?;
    let machine = shared.machine(sm_arn)?;
    let filter = req.opt_str("statusFilter")?;
    if let Some(f) = filter {
        if ![
            "RUNNING",
            "SUCCEEDED",
            "FAILED",
            "TIMED_OUT",
            "ABORTED",
            "PENDING_REDRIVE",
        ]
        .contains(&f)
        {
            return Err(ApiError::validation(format!(
                "'statusFilter' has no status '{f}'"
            )));
        }
    }
    let mine: std::collections::BTreeMap<String, StoredExecution> = shared
        .executions
        .lock()
        .expect("executions")
        .iter()
        .filter(|(_, e)| e.record.state_machine_arn == machine.state_machine_arn)
        .filter(|(_, e)| filter.is_none_or(|f| e.record.status == f))
        .map(|(k, e)| (k.clone(), e.clone()))
        .collect();
    let all = newest_first(mine, |e| e.record.start_date);
    let (start, end, next) = page(all.len(), req, 100)?;
    let items: Vec<Value> = all[start..end]
        .iter()
        .map(|e| {
            let r = &e.record;
            let mut item = json!({
                "executionArn": r.execution_arn,
                "stateMachineArn": r.state_machine_arn,
                "name": r.name,
                "status": r.status,
                "startDate": r.start_date,
                "redriveCount": r.redrive_count,
            });
            if let Some(d) = r.stop_date {
                item["stopDate"] = json!(d);
            }
            if let Some(d) = r.redrive_date {
                item["redriveDate"] = json!(d);
            }
            item
        })
        .collect();
    let mut out = json!({ "executions": items });
    if let Some(t) = next {
        out["nextToken"] = json!(t);
    }
    Ok(out)
}

pub(crate) fn stop(shared: &Shared, req: Req<'_>) -> Result<Value, ApiError> {
    let arn = req.str("executionArn")?;
    check_execution_arn(arn)?;
    let error = req.opt_str("error")?;
    let cause = req.opt_str("cause")?;
    shared.execution(arn)?;
    if let Some(h) = shared.running.lock().expect("running").remove(arn) {
        h.abort();
    }
    let stop_date = now();
    let mut all = shared.executions.lock().expect("executions");
    let stored = all.get_mut(arn).expect("looked up above");
    // Stopping an execution that has ended changes nothing, as on AWS.
    if stored.record.status == "RUNNING" {
        let r = &mut stored.record;
        r.status = "ABORTED".into();
        r.stop_date = Some(stop_date);
        r.error = error.map(str::to_string);
        r.cause = cause.map(str::to_string);
        append_end_event(stored, "ExecutionAborted");
        let stored = stored.clone();
        drop(all);
        shared.save(&stored)?;
    }
    Ok(json!({ "stopDate": stop_date }))
}
