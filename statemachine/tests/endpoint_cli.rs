//! `asl test-state` and `asl serve` as a user runs them.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

fn asl() -> Command {
    Command::new(env!("CARGO_BIN_EXE_asl"))
}

fn pipeline() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("report-pipeline.asl.json")
}

fn test_state(args: &[&str]) -> (Option<i32>, Value, String) {
    let out = asl()
        .arg("test-state")
        .args(args)
        .output()
        .expect("asl runs");
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code(),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn test_state_prints_the_endpoints_answer_for_a_state_of_the_pipeline() {
    // GIVEN the pipeline's definition and a PollReport output still in progress
    let def = pipeline();
    let input = json!({"status": "IN_PROGRESS", "poll_count": 1, "max_polls": 30}).to_string();
    // WHEN its Choice is tested at DEBUG
    let (code, answer, err) = test_state(&[
        def.to_str().unwrap(),
        "--state",
        "IsReportReady",
        "--input",
        &input,
        "--inspection-level",
        "DEBUG",
    ]);
    // THEN it goes back to waiting, with the input shown as JSON text
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(answer["status"], "SUCCEEDED");
    assert_eq!(answer["nextState"], "WaitForReport");
    assert_eq!(
        answer["inspectionData"]["input"],
        json!(input.replace(' ', ""))
    );
}

#[test]
fn test_state_with_a_mocked_error_no_handler_catches_exits_1() {
    // GIVEN a Task with no Retry or Catch, in a file of its own
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("task.json");
    std::fs::write(&state, r#"{"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f"}, "End": true}"#).unwrap();
    // WHEN it is tested with a mocked error
    let mock = r#"{"errorOutput": {"error": "Boom", "cause": "it broke"}}"#;
    let (code, answer, _) = test_state(&[state.to_str().unwrap(), "--mock", mock]);
    // THEN the answer is FAILED with that error, and the exit status says so
    assert_eq!(code, Some(1));
    assert_eq!(
        answer,
        json!({"status": "FAILED", "error": "Boom", "cause": "it broke"})
    );
}

#[test]
fn test_state_on_a_whole_machine_without_a_state_name_says_what_to_add() {
    let (code, _, err) = test_state(&[pipeline().to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--state NAME"), "{err}");
}

#[tokio::test]
async fn serve_answers_the_protocol_with_a_mock_config_file() {
    // GIVEN `asl serve` on a free port with Step Functions Local's mock file
    let dir = tempfile::tempdir().unwrap();
    let mocks = dir.path().join("mocks.json");
    std::fs::write(
        &mocks,
        json!({
            "StateMachines": {"m": {"TestCases": {"Happy": {"Call": "Ok"}}}},
            "MockedResponses": {"Ok": {"0": {"Return": {"n": 1}}}}
        })
        .to_string(),
    )
    .unwrap();
    let mut child = asl()
        .args(["serve", "--port", "0", "--memory", "--mock-config"])
        .arg(&mocks)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    stderr.read_line(&mut first).unwrap();
    // Keep reading what it prints, so it never writes into a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("the banner names the URL")
        .to_string();
    let call = |action: &str, body: Value| {
        let url = url.clone();
        let target = format!("AWSStepFunctions.{action}");
        async move {
            let r = reqwest::Client::new()
                .post(url)
                .header("x-amz-target", target)
                .header("content-type", "application/x-amz-json-1.0")
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    // WHEN a state machine is created and started with the test case
    let def = json!({"StartAt": "Call", "States": {"Call": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:111111111111:function:f", "End": true}}});
    let (s, created) = call("CreateStateMachine", json!({"name": "m", "definition": def.to_string(), "roleArn": "arn:aws:iam::111111111111:role/r"})).await;
    assert_eq!(s, 200, "{created}");
    let arn = created["stateMachineArn"].as_str().unwrap();
    let (_, started) = call(
        "StartExecution",
        json!({"stateMachineArn": format!("{arn}#Happy")}),
    )
    .await;
    let exec = started["executionArn"].as_str().unwrap().to_string();
    let mut described = Value::Null;
    for _ in 0..100 {
        described = call("DescribeExecution", json!({"executionArn": exec}))
            .await
            .1;
        if described["status"] != "RUNNING" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // THEN the mocked result is the output
    child.kill().ok();
    child.wait().ok();
    assert_eq!(described["status"], "SUCCEEDED", "{described}");
    assert_eq!(described["output"], r#"{"n":1}"#);
}
