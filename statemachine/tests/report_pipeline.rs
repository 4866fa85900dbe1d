//! The repository's report pipeline (`statemachine/report-pipeline.asl.json`)
//! run end to end with mocked Lambda results: the happy path, the report
//! failing, the poll budget running out, and a task error caught by `Catch`.

use std::path::Path;

use serde_json::{json, Value};
use statemachine::{execute, ExecutionStatus, MockInvoker, RunOptions, StateMachine};

fn pipeline() -> StateMachine {
    StateMachine::from_path(&Path::new(env!("CARGO_MANIFEST_DIR")).join("report-pipeline.asl.json"))
        .expect("report-pipeline.asl.json parses")
}

fn created() -> Value {
    json!({"output": {
        "status_url": "https://reports.example/r/42",
        "poll_count": 0, "wait_seconds": 5, "max_polls": 3
    }})
}

fn poll(status: &str, count: u64) -> Value {
    let url = if status == "COMPLETED" {
        json!("https://reports.example/r/42.csv")
    } else {
        Value::Null
    };
    json!({"output": {
        "status_url": "https://reports.example/r/42", "status": status,
        "download_url": url, "poll_count": count, "wait_seconds": 10, "max_polls": 3
    }})
}

async fn run(mocks: Value) -> statemachine::Execution {
    let invoker = MockInvoker::from_value(&mocks).expect("mocks");
    let opts = RunOptions {
        wait_scale: 0.0,
        ..RunOptions::default()
    };
    execute(&pipeline(), json!({}), &invoker, opts).await
}

fn visited(exec: &statemachine::Execution) -> Vec<String> {
    exec.history
        .iter()
        .filter(|e| e.event_type.ends_with("StateEntered"))
        .filter_map(|e| e.state_name.as_deref().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn given_report_in_progress_twice_then_completed_when_run_then_it_reaches_published() {
    let exec = run(json!({
        "CreateReport": [created()],
        "PollReport": [poll("IN_PROGRESS", 1), poll("IN_PROGRESS", 2), poll("COMPLETED", 3)],
        "DownloadReport": [{"output": {"bucket": "reports", "key": "r/42.csv", "size": 1234}}],
        "UpdateSite": [{"output": {"bucket": "site", "key": "index.html"}}]
    }))
    .await;
    assert_eq!(
        exec.status,
        ExecutionStatus::Succeeded,
        "{:?} {:?}",
        exec.error,
        exec.cause
    );
    assert_eq!(
        exec.output,
        Some(json!({"bucket": "site", "key": "index.html"}))
    );
    let states = visited(&exec);
    assert_eq!(states.iter().filter(|s| *s == "PollReport").count(), 3);
    assert_eq!(states.last().map(String::as_str), Some("Published"));
    // Virtual clock: three waits (5 s, 10 s, 10 s) were accounted without sleeping.
    let last = exec.history.last().unwrap();
    assert_eq!(last.event_type, "ExecutionSucceeded");
    assert!(last.elapsed_seconds >= 25.0);
}

#[tokio::test]
async fn given_report_status_failed_when_run_then_execution_fails_with_report_failed() {
    let exec = run(json!({
        "CreateReport": [created()],
        "PollReport": [poll("IN_PROGRESS", 1), poll("FAILED", 2)]
    }))
    .await;
    assert_eq!(exec.status, ExecutionStatus::Failed);
    assert_eq!(exec.error.as_deref(), Some("Report.Failed"));
    assert_eq!(
        visited(&exec).last().map(String::as_str),
        Some("ReportFailed")
    );
}

#[tokio::test]
async fn given_report_never_ready_when_max_polls_is_reached_then_execution_fails_with_report_timed_out(
) {
    let exec = run(json!({
        "CreateReport": [created()],
        "PollReport": [poll("IN_PROGRESS", 1), poll("IN_PROGRESS", 2), poll("IN_PROGRESS", 3)]
    }))
    .await;
    assert_eq!(exec.status, ExecutionStatus::Failed);
    assert_eq!(exec.error.as_deref(), Some("Report.TimedOut"));
    assert_eq!(
        visited(&exec).iter().filter(|s| *s == "PollReport").count(),
        3
    );
}

#[tokio::test]
async fn given_download_raises_csv_malformed_when_caught_then_pipeline_failed_reports_that_error_and_cause(
) {
    let exec = run(json!({
        "CreateReport": [created()],
        "PollReport": [poll("COMPLETED", 1)],
        "DownloadReport": [{"error": "Csv.Malformed", "cause": "line 3: expected 5 fields, got 4"}]
    }))
    .await;
    assert_eq!(exec.status, ExecutionStatus::Failed);
    assert_eq!(exec.error.as_deref(), Some("Csv.Malformed"));
    assert_eq!(
        exec.cause.as_deref(),
        Some("line 3: expected 5 fields, got 4")
    );
    assert_eq!(
        visited(&exec).last().map(String::as_str),
        Some("PipelineFailed")
    );
}

#[tokio::test]
async fn given_a_transient_api_error_when_retried_then_the_pipeline_still_succeeds() {
    let exec = run(json!({
        "CreateReport": [{"error": "ReportApi.Unavailable", "cause": "503"}, created()],
        "PollReport": [poll("COMPLETED", 1)],
        "DownloadReport": [{"output": {"bucket": "reports", "key": "k", "size": 1}}],
        "UpdateSite": [{"output": {"ok": true}}]
    }))
    .await;
    assert_eq!(
        exec.status,
        ExecutionStatus::Succeeded,
        "{:?} {:?}",
        exec.error,
        exec.cause
    );
    let failed = exec.history.iter().filter(|e| e.is_task_failure()).count();
    assert_eq!(failed, 1);
}

/// A task error that carries no cause (AWS's `States.Timeout` for a Lambda
/// timeout has none) must still end the execution with that error, not with
/// a `States.Runtime` from a `CausePath` that cannot be resolved.
#[tokio::test]
async fn given_a_task_timeout_without_cause_when_caught_then_the_execution_fails_with_that_error() {
    let exec = run(json!({
        "CreateReport": [created()],
        "PollReport": [poll("COMPLETED", 1)],
        "DownloadReport": [{"error": "States.Timeout"}]
    }))
    .await;
    assert_eq!(exec.status, ExecutionStatus::Failed);
    assert_eq!(exec.error.as_deref(), Some("States.Timeout"));
    assert_eq!(
        visited(&exec).last().map(String::as_str),
        Some("PipelineFailedWithoutCause")
    );
}

/// Documents a contract the poll Lambda must keep: Wait's `SecondsPath` needs
/// an integer, so a fractional backoff (e.g. 7.5) fails the execution.
#[tokio::test]
async fn given_a_fractional_wait_seconds_when_waiting_then_execution_fails_with_states_runtime() {
    let exec = run(json!({
        "CreateReport": [{"output": {"status_url": "u", "poll_count": 0, "wait_seconds": 7.5, "max_polls": 3}}]
    }))
    .await;
    assert_eq!(exec.status, ExecutionStatus::Failed);
    assert_eq!(exec.error.as_deref(), Some("States.Runtime"));
    assert!(exec.cause.unwrap_or_default().contains(
        "The SecondsPath parameter cannot be parsed as a long value: $.wait_seconds == 7.5"
    ));
}
