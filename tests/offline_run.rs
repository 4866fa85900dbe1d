//! The main job (`make run`) end to end: the deployed definition file, run by
//! the local executor, with the handlers in-process against the simulator and
//! the embedded S3.

use local_services::simulator::Outcome;
use offline_runner::local_run::{self, RunConfig};
use pipeline_tests::{html, run_config};
use statemachine::ExecutionStatus;

fn visited(exec: &statemachine::Execution) -> Vec<String> {
    exec.history
        .iter()
        .filter(|e| e.event_type.ends_with("StateEntered"))
        .filter_map(|e| e.state_name.as_deref().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_ready_after_three_polls_publishes_the_expected_page() {
    let dir = tempfile::tempdir().unwrap();
    let report = local_run::run(&run_config(dir.path()))
        .await
        .expect("the run starts");

    assert_eq!(
        report.execution.status,
        ExecutionStatus::Succeeded,
        "{:?} {:?}",
        report.execution.error,
        report.execution.cause
    );
    let states = visited(&report.execution);
    assert_eq!(states.iter().filter(|s| *s == "PollReport").count(), 4);
    assert_eq!(states.last().map(String::as_str), Some("Published"));
    let page = std::fs::read_to_string(report.page.expect("a page on disk")).unwrap();
    let spec = report.simulator.as_ref().unwrap().csv_spec();
    let rows = html::rows(&page);
    assert_eq!(rows.len(), 250);
    assert_eq!(rows[0], spec.row(0));
    assert_eq!(rows[249], spec.row(249));
    // The history file is GetExecutionHistory's shape, read by the same code as AWS's.
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report.history_file).unwrap()).unwrap();
    let read_back = statemachine::history::aws::from_aws(&doc).unwrap();
    let types = |h: &[statemachine::HistoryEvent]| -> Vec<&'static str> {
        h.iter().map(|e| e.event_type).collect()
    };
    assert_eq!(types(&read_back), types(&report.execution.history));
    assert!(doc["events"][0]["executionStartedEventDetails"]["input"].is_string());
    let output = report.execution.output.unwrap();
    assert_eq!(output["rows"], 250);
    assert_eq!(output["index_key"], "index.html");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_report_fails_the_execution_and_leaves_the_published_page_byte_identical() {
    // GIVEN a page published by an earlier run
    let dir = tempfile::tempdir().unwrap();
    let first = local_run::run(&run_config(dir.path())).await.unwrap();
    assert_eq!(first.execution.status, ExecutionStatus::Succeeded);
    let page_path = first.page.clone().unwrap();
    let before = std::fs::read(&page_path).unwrap();
    drop(first);

    // WHEN the next run's report ends FAILED
    let mut failing = run_config(dir.path());
    failing.sim.outcome = Outcome::Fail;
    let second = local_run::run(&failing).await.unwrap();

    // THEN the execution fails with Report.Failed and the page is untouched
    assert_eq!(second.execution.status, ExecutionStatus::Failed);
    assert_eq!(second.execution.error.as_deref(), Some("Report.Failed"));
    assert_eq!(
        visited(&second.execution).last().map(String::as_str),
        Some("ReportFailed")
    );
    assert_eq!(std::fs::read(&page_path).unwrap(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_that_never_completes_stops_at_the_poll_budget() {
    let dir = tempfile::tempdir().unwrap();
    let mut never = run_config(dir.path());
    never.sim.outcome = Outcome::Never;
    let report = local_run::run(&never).await.unwrap();
    assert_eq!(report.execution.error.as_deref(), Some("Report.TimedOut"));
    let polls = visited(&report.execution)
        .iter()
        .filter(|s| *s == "PollReport")
        .count() as u32;
    assert_eq!(polls, shared::polling::PollPolicy::default().max_polls);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_definition_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.asl.json");
    std::fs::write(
        &broken,
        r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Missing"}}}"#,
    )
    .unwrap();
    let err = local_run::run(&RunConfig {
        definition: broken,
        ..run_config(dir.path())
    })
    .await
    .err()
    .expect("refused");
    assert!(err.contains("Missing"), "{err}");
}
