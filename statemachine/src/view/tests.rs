//! The viewer on the pipeline's own runs and on an AWS-shaped history.

use serde_json::{json, Value};

use super::*;
use crate::{execute, MockInvoker, RunOptions};

fn pipeline_def() -> Value {
    serde_json::from_str(include_str!("../../report-pipeline.asl.json")).unwrap()
}

fn poll(status: &str, count: u64) -> Value {
    json!({"output": {"status_url": "https://r.example/r/1", "status": status,
        "download_url": if status == "COMPLETED" { json!("https://r.example/r/1.csv") } else { Value::Null },
        "poll_count": count, "wait_seconds": 10, "max_polls": 5}})
}

async fn pipeline_run(polls: Vec<Value>) -> Vec<HistoryEvent> {
    let def = pipeline_def();
    let m = crate::StateMachine::from_value(def).unwrap();
    let mocks = json!({
        "CreateReport": [{"output": {"status_url": "https://r.example/r/1", "poll_count": 0, "wait_seconds": 5, "max_polls": 5}}],
        "PollReport": polls,
        "DownloadReport": [{"output": {"report_id": "r1", "bucket": "reports", "key": "r/1.csv", "bytes": 10}}],
        "UpdateSite": [{"output": {"bucket": "site", "index_key": "index.html"}}]
    });
    let inv = MockInvoker::from_value(&mocks).unwrap();
    let opts = RunOptions {
        wait_scale: 0.0,
        ..RunOptions::default()
    };
    execute(&m, json!({}), &inv, opts).await.history
}

/// The `<a …>` of a state in the graph: its aria-label.
fn node_label(html: &str, state: &str) -> String {
    let needle = format!("aria-label=\"{state}: ");
    let at = html
        .find(&needle)
        .unwrap_or_else(|| panic!("{state} is not in the graph"));
    let rest = &html[at + "aria-label=\"".len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

#[tokio::test]
async fn given_the_pipelines_published_run_when_viewed_then_every_state_is_drawn_the_loop_counted_and_the_path_green(
) {
    let events = pipeline_run(vec![
        poll("IN_PROGRESS", 1),
        poll("IN_PROGRESS", 2),
        poll("COMPLETED", 3),
    ])
    .await;
    let html = render(&pipeline_def(), &events, "report-pipeline");
    let svg = &html[html.find("<svg").unwrap()..html.find("</svg>").unwrap()];
    for (state, _) in pipeline_def()["States"].as_object().unwrap() {
        assert!(
            svg.contains(&format!("aria-label=\"{state}: ")),
            "{state} missing from the graph"
        );
    }
    assert_eq!(
        node_label(&html, "WaitForReport"),
        "WaitForReport: Wait, succeeded, entered 3 times"
    );
    assert_eq!(
        node_label(&html, "PollReport"),
        "PollReport: Task, succeeded, entered 3 times"
    );
    assert_eq!(
        node_label(&html, "IsReportReady"),
        "IsReportReady: Choice, succeeded, entered 3 times"
    );
    for s in ["CreateReport", "DownloadReport", "UpdateSite", "Published"] {
        assert_eq!(
            node_label(&html, s),
            format!(
                "{s}: {}, succeeded, entered once",
                if s == "Published" { "Succeed" } else { "Task" }
            )
        );
    }
    assert_eq!(
        node_label(&html, "ReportFailed"),
        "ReportFailed: Fail, not entered"
    );
    assert!(!svg.contains("class=\"state failed") && !svg.contains("class=\"state caught"));
    // Choice rules label their edges; the loop back to the Wait is drawn.
    assert!(
        svg.contains("$.status == &quot;COMPLETED&quot;"),
        "rule labels"
    );
    assert!(svg.contains(">Default<"));
    assert!(html.contains("<dt>Status</dt><dd>SUCCEEDED</dd>"));
    // 10 states entered: 1 + 3×3 + 3.
    assert!(
        html.contains("<dt>State transitions</dt><dd>13 ($0.000325 at $0.025 per 1,000)</dd>"),
        "{}",
        &html[html.find("<dl").unwrap()..][..600]
    );
    // Strict CSP: no inline script or style anywhere.
    assert!(!html.contains("<style") && !html.contains(" style=") && !html.contains("<script>"));
    assert!(html.contains(CSP));
}

#[tokio::test]
async fn given_a_report_failed_run_when_viewed_then_the_failing_path_and_the_error_show() {
    let events = pipeline_run(vec![poll("IN_PROGRESS", 1), poll("FAILED", 2)]).await;
    let html = render(&pipeline_def(), &events, "report-pipeline");
    assert_eq!(
        node_label(&html, "ReportFailed"),
        "ReportFailed: Fail, failed, entered once"
    );
    assert_eq!(
        node_label(&html, "PollReport"),
        "PollReport: Task, succeeded, entered 2 times"
    );
    assert_eq!(
        node_label(&html, "DownloadReport"),
        "DownloadReport: Task, not entered"
    );
    assert!(html.contains("<span class=\"status failed\">FAILED</span>"));
    assert!(
        html.contains("<code>Report.Failed</code>"),
        "the error is shown"
    );
    let detail = &html[html.find("id=\"s-ReportFailed\"").unwrap()..];
    assert!(detail[..detail.find("</section>").unwrap()].contains("Report.Failed"));
}

/// A history as `aws stepfunctions get-execution-history` prints it, written
/// from the API reference: Lambda events, a retry, a Catch, a Map.
fn aws_history() -> Value {
    let ev = |id: u64, ty: &str, key: &str, d: Value| {
        let mut e = json!({"id": id, "previousEventId": id - 1, "timestamp": format!("2026-12-04T10:00:{:02}.000Z", id), "type": ty});
        if !key.is_empty() {
            e[key] = d;
        }
        e
    };
    json!({"events": [
        ev(1, "ExecutionStarted", "executionStartedEventDetails", json!({"input": "{\"items\":[1,2]}", "roleArn": "arn:aws:iam::1:role/r"})),
        ev(2, "TaskStateEntered", "stateEnteredEventDetails", json!({"name": "Fetch", "input": "{\"items\":[1,2]}"})),
        ev(3, "LambdaFunctionScheduled", "lambdaFunctionScheduledEventDetails", json!({"resource": "arn:aws:lambda:us-east-1:1:function:fetch", "input": "{}"})),
        ev(4, "LambdaFunctionStarted", "", json!(null)),
        ev(5, "LambdaFunctionFailed", "lambdaFunctionFailedEventDetails", json!({"error": "Lambda.ServiceException", "cause": "busy"})),
        ev(6, "LambdaFunctionScheduled", "lambdaFunctionScheduledEventDetails", json!({"resource": "arn:aws:lambda:us-east-1:1:function:fetch", "input": "{}"})),
        ev(7, "LambdaFunctionStarted", "", json!(null)),
        ev(8, "LambdaFunctionSucceeded", "lambdaFunctionSucceededEventDetails", json!({"output": "[1,2]"})),
        ev(9, "TaskStateExited", "stateExitedEventDetails", json!({"name": "Fetch", "output": "[1,2]"})),
        ev(10, "MapStateEntered", "stateEnteredEventDetails", json!({"name": "Each", "input": "[1,2]"})),
        ev(11, "MapStateStarted", "mapStateStartedEventDetails", json!({"length": 2})),
        ev(12, "MapIterationStarted", "mapIterationStartedEventDetails", json!({"name": "Each", "index": 0})),
        ev(13, "PassStateEntered", "stateEnteredEventDetails", json!({"name": "Double", "input": "1"})),
        ev(14, "PassStateExited", "stateExitedEventDetails", json!({"name": "Double", "output": "2"})),
        ev(15, "MapIterationSucceeded", "mapIterationSucceededEventDetails", json!({"name": "Each", "index": 0})),
        ev(16, "MapIterationStarted", "mapIterationStartedEventDetails", json!({"name": "Each", "index": 1})),
        ev(17, "PassStateEntered", "stateEnteredEventDetails", json!({"name": "Double", "input": "2"})),
        ev(18, "PassStateExited", "stateExitedEventDetails", json!({"name": "Double", "output": "4"})),
        ev(19, "MapIterationSucceeded", "mapIterationSucceededEventDetails", json!({"name": "Each", "index": 1})),
        ev(20, "MapStateSucceeded", "", json!(null)),
        ev(21, "MapStateExited", "stateExitedEventDetails", json!({"name": "Each", "output": "[2,4]"})),
        ev(22, "TaskStateEntered", "stateEnteredEventDetails", json!({"name": "Store", "input": "[2,4]"})),
        ev(23, "TaskScheduled", "taskScheduledEventDetails", json!({"resourceType": "dynamodb", "resource": "putItem", "region": "us-east-1", "parameters": "{}"})),
        ev(24, "TaskStarted", "taskStartedEventDetails", json!({"resourceType": "dynamodb", "resource": "putItem"})),
        ev(25, "TaskFailed", "taskFailedEventDetails", json!({"resourceType": "dynamodb", "resource": "putItem", "error": "DynamoDB.AmazonDynamoDBException", "cause": "denied"})),
        ev(26, "TaskStateExited", "stateExitedEventDetails", json!({"name": "Store", "output": "{\"Error\":\"DynamoDB.AmazonDynamoDBException\"}"})),
        ev(27, "PassStateEntered", "stateEnteredEventDetails", json!({"name": "Recover", "input": "{}"})),
        ev(28, "PassStateExited", "stateExitedEventDetails", json!({"name": "Recover", "output": "{}"})),
        ev(29, "ExecutionSucceeded", "executionSucceededEventDetails", json!({"output": "{}"}))
    ]})
}

#[test]
fn given_an_aws_history_with_a_retry_a_catch_and_a_map_when_viewed_then_each_state_has_its_colour()
{
    let def = json!({"StartAt": "Fetch", "States": {
        "Fetch": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:fetch",
            "Retry": [{"ErrorEquals": ["Lambda.ServiceException"]}], "Next": "Each"},
        "Each": {"Type": "Map", "ItemProcessor": {"StartAt": "Double", "States": {"Double": {"Type": "Pass", "End": true}}}, "Next": "Store"},
        "Store": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem", "Parameters": {},
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Recover"}], "Next": "Done"},
        "Recover": {"Type": "Pass", "End": true},
        "Done": {"Type": "Succeed"}}});
    let events = crate::history::aws::from_aws(&aws_history()).unwrap();
    let html = render(&def, &events, "aws-run");
    assert_eq!(
        node_label(&html, "Fetch"),
        "Fetch: Task, retried, entered once"
    );
    assert_eq!(
        node_label(&html, "Each"),
        "Each: Map, succeeded, entered once"
    );
    assert_eq!(
        node_label(&html, "Double"),
        "Double: Pass, succeeded, entered 2 times"
    );
    assert_eq!(
        node_label(&html, "Store"),
        "Store: Task, caught, entered once"
    );
    assert_eq!(
        node_label(&html, "Recover"),
        "Recover: Pass, succeeded, entered once"
    );
    assert_eq!(node_label(&html, "Done"), "Done: Succeed, not entered");
    // Colours are the outcome's: the retried state yellow, the caught one orange.
    let fetch = &html[html.find("aria-label=\"Fetch: ").unwrap()..];
    assert!(fetch[..400].contains(&format!(
        "fill=\"{}\"",
        svg::colours(runs::Outcome::Retried).0
    )));
    let store = &html[html.find("aria-label=\"Store: ").unwrap()..];
    assert!(store[..400].contains(&format!(
        "fill=\"{}\"",
        svg::colours(runs::Outcome::Caught).0
    )));
    // The retry and its wait; the catch edge; the caught error.
    assert!(
        html.contains("retried after waiting 1.00 s"),
        "the wait between attempts"
    );
    assert!(html.contains("Catch States.ALL"));
    assert!(html.contains("<code>DynamoDB.AmazonDynamoDBException</code>"));
    assert!(
        html.contains("<tr id=\"e29\">"),
        "every event is in the event table"
    );
}

#[test]
fn given_hostile_state_names_and_payloads_when_viewed_then_everything_is_escaped() {
    let def = json!({"StartAt": "<script>x</script>", "States": {"<script>x</script>": {"Type": "Pass", "End": true}}});
    let m = crate::StateMachine::from_value(def.clone()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let e = rt.block_on(execute(
        &m,
        json!({"a": "</pre><img src=x onerror=alert(1)>"}),
        &MockInvoker::new(),
        RunOptions {
            wait_scale: 0.0,
            ..RunOptions::default()
        },
    ));
    let html = render(&def, &e.history, "<b>t</b>");
    assert!(
        !html.contains("<script>x") && !html.contains("<img") && !html.contains("<b>t"),
        "unescaped text"
    );
}

#[tokio::test]
async fn given_a_history_at_the_25000_event_quota_when_viewed_then_tables_come_in_groups_of_1000_the_first_open(
) {
    let def = json!({"StartAt": "Work", "States": {
        "Work": {"Type": "Pass", "Next": "Check"},
        "Check": {"Type": "Choice", "Choices": [{"Variable": "$.stop", "IsPresent": true, "Next": "Done"}], "Default": "Work"},
        "Done": {"Type": "Succeed"}}});
    let m = crate::StateMachine::from_value(def.clone()).unwrap();
    let e = execute(
        &m,
        json!({}),
        &MockInvoker::new(),
        RunOptions {
            wait_scale: 0.0,
            ..RunOptions::default()
        },
    )
    .await;
    assert_eq!(e.history.len(), 25_000);
    let html = render(&def, &e.history, "loop");
    let events = &html[html.find("<section id=\"events\"").unwrap()
        ..html.find("<section id=\"timeline\"").unwrap()];
    assert_eq!(events.matches("<details class=\"chunk\"").count(), 25);
    assert_eq!(events.matches("<details class=\"chunk\" open>").count(), 1);
    assert!(events.contains("<summary>Events 24,001–25,000 of 25,000</summary>"));
    assert!(events.contains("<tr id=\"e25000\">"));
    assert_eq!(
        node_label(&html, "Work"),
        "Work: Pass, succeeded, entered 6250 times"
    );
}
