//! The local Step Functions endpoint (`make serve`, `asl serve`) driven by
//! the Rust SDK (`aws-sdk-sfn`), as a user's test suite would drive AWS:
//! the pipeline from its definition file, callbacks, redrive, mocks,
//! TestState, bad requests and a restart.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use aws_sdk_sfn::types::{
    ExecutionStatus, HistoryEvent, HistoryEventType, InspectionLevel, MockInput,
};
use aws_sdk_sfn::Client;
use offline_runner::endpoint::{self, EndpointConfig, PipelineEndpoint};
use offline_runner::local_run::{self, workspace_root, RunConfig};
use pipeline_tests::html;
use serde_json::{json, Value};
use statemachine::serve::MockConfig;

/// Takes the `sync-` host prefix off `StartSyncExecution`'s and
/// `TestState`'s requests, as a user's code does for any endpoint on an IP
/// address (docs/endpoint.md).
#[derive(Debug)]
struct NoSyncPrefix;

impl aws_sdk_sfn::config::Intercept for NoSyncPrefix {
    fn name(&self) -> &'static str {
        "NoSyncPrefix"
    }
    fn modify_before_transmit(
        &self,
        ctx: &mut aws_sdk_sfn::config::interceptors::BeforeTransmitInterceptorContextMut<'_>,
        _rc: &aws_sdk_sfn::config::RuntimeComponents,
        _cfg: &mut aws_sdk_sfn::config::ConfigBag,
    ) -> Result<(), aws_sdk_sfn::error::BoxError> {
        let req = ctx.request_mut();
        let uri = req.uri().replacen("://sync-", "://", 1);
        req.set_uri(uri)?;
        Ok(())
    }
}

const ROLE: &str = "arn:aws:iam::111111111111:role/local";

fn run_config(work_dir: &Path) -> RunConfig {
    let mut config = RunConfig {
        work_dir: work_dir.to_path_buf(),
        progress: false,
        ..Default::default()
    };
    config.sim.csv.rows = 250;
    config.sim.polls_to_complete = 3;
    config
}

async fn start(work_dir: &Path, store: Option<&Path>, mocks: Option<Value>) -> PipelineEndpoint {
    endpoint::start(EndpointConfig {
        run: run_config(&work_dir.join("run")),
        store_dir: store.map(Path::to_path_buf),
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        mocks: mocks.map(|m| MockConfig::from_value(m).expect("mock config")),
    })
    .await
    .expect("the endpoint starts")
}

/// A client as a user's code makes one, with `--endpoint-url`'s equivalent.
async fn client(url: &str) -> Client {
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sfn::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await;
    let sfn = aws_sdk_sfn::config::Builder::from(&conf)
        .interceptor(NoSyncPrefix)
        .build();
    Client::from_conf(sfn)
}

async fn create(c: &Client, name: &str, definition: &str) -> String {
    c.create_state_machine()
        .name(name)
        .definition(definition)
        .role_arn(ROLE)
        .send()
        .await
        .expect("CreateStateMachine")
        .state_machine_arn
}

/// Polls DescribeExecution until the execution is no longer running.
async fn wait_done(
    c: &Client,
    arn: &str,
) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
    for _ in 0..600 {
        let d = c
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .expect("DescribeExecution");
        if d.status != ExecutionStatus::Running {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{arn} still running after 30 s");
}

/// The whole history, page by page (maxResults 7 to cross pages).
async fn history(c: &Client, arn: &str) -> Vec<HistoryEvent> {
    let mut events = Vec::new();
    let mut token = None;
    loop {
        let page = c
            .get_execution_history()
            .execution_arn(arn)
            .max_results(7)
            .set_next_token(token)
            .send()
            .await
            .expect("GetExecutionHistory");
        events.extend(page.events);
        token = page.next_token;
        if token.is_none() {
            return events;
        }
    }
}

fn entered(events: &[HistoryEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| e.state_entered_event_details.as_ref())
        .map(|d| d.name.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipeline_created_and_started_through_the_sdk_matches_make_run() {
    // GIVEN the endpoint with the pipeline's functions, and `make run`'s result for the same report
    let dir = tempfile::tempdir().unwrap();
    let reference = local_run::run(&run_config(&dir.path().join("reference")))
        .await
        .unwrap();
    let served = start(dir.path(), None, None).await;
    let c = client(&served.endpoint.url()).await;
    let definition =
        std::fs::read_to_string(workspace_root().join("statemachine/report-pipeline.asl.json"))
            .unwrap();

    // WHEN the SDK creates the state machine from the definition file and starts it
    let sm = create(&c, "report-pipeline", &definition).await;
    let started = c
        .start_execution()
        .state_machine_arn(&sm)
        .name("first")
        .input("{}")
        .send()
        .await
        .unwrap();
    let done = wait_done(&c, &started.execution_arn).await;

    // THEN it succeeds with make run's output, states and page
    assert_eq!(
        done.status,
        ExecutionStatus::Succeeded,
        "{:?} {:?}",
        done.error,
        done.cause
    );
    let output: Value = serde_json::from_str(done.output.as_deref().unwrap()).unwrap();
    assert_eq!(Some(&output), reference.execution.output.as_ref());
    let events = history(&c, &started.execution_arn).await;
    let reference_states: Vec<String> = reference
        .execution
        .history
        .iter()
        .filter(|e| e.event_type.ends_with("StateEntered"))
        .filter_map(|e| e.state_name.as_deref().map(str::to_string))
        .collect();
    assert_eq!(entered(&events), reference_states);
    assert_eq!(events.len(), reference.execution.history.len());
    assert_eq!(events[0].r#type, HistoryEventType::ExecutionStarted);
    assert_eq!(
        events.last().unwrap().r#type,
        HistoryEventType::ExecutionSucceeded
    );
    let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
    assert_eq!(ids, (1..=events.len() as i64).collect::<Vec<_>>());
    let page = std::fs::read_to_string(served.object_path("site", "index.html").unwrap()).unwrap();
    let expected = std::fs::read_to_string(reference.page.unwrap()).unwrap();
    assert_eq!(html::rows(&page).len(), 250);
    assert_eq!(
        html::rows(&page),
        html::rows(&expected),
        "the same report's rows are published"
    );

    // AND the execution's view is at its own URL, under the viewer's CSP
    let view = reqwest::get(format!(
        "{}/executions/report-pipeline/first/",
        served.endpoint.url()
    ))
    .await
    .unwrap();
    assert_eq!(view.status(), 200);
    assert_eq!(
        view.headers()["content-security-policy"],
        statemachine::view::CSP
    );
    let view = view.text().await.unwrap();
    assert!(view.contains("UpdateSite") && view.contains("first"));
    let index = reqwest::get(served.endpoint.url())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        index.contains("href=\"/executions/report-pipeline/first/\""),
        "{index}"
    );

    // AND the reverse order is the same events backwards, without data when asked
    let rev = c
        .get_execution_history()
        .execution_arn(&started.execution_arn)
        .reverse_order(true)
        .include_execution_data(false)
        .max_results(1000)
        .send()
        .await
        .unwrap();
    assert_eq!(rev.events.first().unwrap().id, events.last().unwrap().id);
    let exited = rev
        .events
        .iter()
        .find_map(|e| e.state_exited_event_details.as_ref())
        .unwrap();
    assert_eq!(exited.output, None);

    // AND the execution is listed, and its definition is the one it ran
    let list = c
        .list_executions()
        .state_machine_arn(&sm)
        .send()
        .await
        .unwrap();
    assert_eq!(list.executions.len(), 1);
    assert_eq!(list.executions[0].name, "first");
    let for_exec = c
        .describe_state_machine_for_execution()
        .execution_arn(&started.execution_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(for_exec.definition, definition);
}

const CALLBACK: &str = r#"{
  "StartAt": "Approve",
  "States": {
    "Approve": {
      "Type": "Task",
      "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
      "Parameters": {"QueueUrl": "https://sqs.example/q", "MessageBody": {"token.$": "$$.Task.Token", "order.$": "$.order"}},
      "ResultPath": "$.approval",
      "End": true
    }
  }
}"#;

/// The token the Task handed on, read from its TaskScheduled parameters.
async fn token_of(c: &Client, arn: &str) -> String {
    for _ in 0..200 {
        let events = history(c, arn).await;
        if let Some(d) = events
            .iter()
            .find_map(|e| e.task_scheduled_event_details.as_ref())
        {
            let params: Value = serde_json::from_str(&d.parameters).unwrap();
            return params["MessageBody"]["token"].as_str().unwrap().to_string();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let d = c
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .unwrap();
    panic!(
        "no TaskScheduled event; the execution is {:?}: {:?} {:?}",
        d.status, d.error, d.cause
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_task_waits_for_send_task_success_and_takes_its_output() {
    // GIVEN an execution waiting at a .waitForTaskToken Task
    let dir = tempfile::tempdir().unwrap();
    let served = start(dir.path(), None, None).await;
    let c = client(&served.endpoint.url()).await;
    let sm = create(&c, "approval", CALLBACK).await;
    let arn = c
        .start_execution()
        .state_machine_arn(&sm)
        .input(r#"{"order": 7}"#)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let token = token_of(&c, &arn).await;
    let running = c
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(running.status, ExecutionStatus::Running);

    // WHEN a worker sends a heartbeat, then SendTaskSuccess with the token
    c.send_task_heartbeat()
        .task_token(&token)
        .send()
        .await
        .expect("heartbeat");
    c.send_task_success()
        .task_token(&token)
        .output(r#"{"approved": true}"#)
        .send()
        .await
        .expect("SendTaskSuccess");

    // THEN the Task's result is that output
    let done = wait_done(&c, &arn).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    let out: Value = serde_json::from_str(done.output.as_deref().unwrap()).unwrap();
    assert_eq!(out, json!({"order": 7, "approval": {"approved": true}}));
    // AND the token is spent: a second answer is TaskDoesNotExist
    let again = c
        .send_task_success()
        .task_token(&token)
        .output("{}")
        .send()
        .await
        .unwrap_err();
    assert!(again.into_service_error().is_task_does_not_exist());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_execution_redriven_goes_on_from_the_state_that_failed() {
    // GIVEN an execution that failed at its callback Task (SendTaskFailure)
    let dir = tempfile::tempdir().unwrap();
    let served = start(dir.path(), None, None).await;
    let c = client(&served.endpoint.url()).await;
    let definition = r#"{"StartAt": "Prepare", "States": {
        "Prepare": {"Type": "Pass", "Result": 7, "ResultPath": "$.order", "Next": "Approve"},
        "Approve": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                    "Parameters": {"MessageBody": {"token.$": "$$.Task.Token"}}, "End": true}}}"#;
    let sm = create(&c, "redrive", definition).await;
    let arn = c
        .start_execution()
        .state_machine_arn(&sm)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let first = token_of(&c, &arn).await;
    c.send_task_failure()
        .task_token(&first)
        .error("Approval.Rejected")
        .cause("not today")
        .send()
        .await
        .unwrap();
    let failed = wait_done(&c, &arn).await;
    assert_eq!(failed.status, ExecutionStatus::Failed);
    assert_eq!(failed.error.as_deref(), Some("Approval.Rejected"));
    let before = history(&c, &arn).await.len();

    // WHEN it is redriven and the Task is answered this time
    c.redrive_execution()
        .execution_arn(&arn)
        .send()
        .await
        .expect("RedriveExecution");
    let mut second = None;
    for _ in 0..200 {
        let events = history(&c, &arn).await;
        let tokens: Vec<String> = events
            .iter()
            .filter_map(|e| e.task_scheduled_event_details.as_ref())
            .map(|d| {
                serde_json::from_str::<Value>(&d.parameters).unwrap()["MessageBody"]["token"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        if tokens.len() == 2 {
            second = Some(tokens[1].clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let second = second.expect("the redrive scheduled the Task again");
    assert_ne!(second, first, "each attempt has its own token");
    c.send_task_success()
        .task_token(&second)
        .output(r#""yes""#)
        .send()
        .await
        .unwrap();

    // THEN it succeeds, Prepare did not run again, and the history goes on after ExecutionRedriven
    let done = wait_done(&c, &arn).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(done.redrive_count, Some(1));
    let events = history(&c, &arn).await;
    assert_eq!(events[before].r#type, HistoryEventType::ExecutionRedriven);
    assert_eq!(events[before].id, before as i64 + 1);
    assert_eq!(entered(&events), ["Prepare", "Approve", "Approve"]);
    // AND a succeeded execution cannot be redriven
    let err = c
        .redrive_execution()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_execution_not_redrivable());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_functions_local_mock_file_answers_by_test_case_and_attempt() {
    // GIVEN Step Functions Local's mock configuration: the first call throws, the second returns
    let dir = tempfile::tempdir().unwrap();
    let mocks = json!({
        "StateMachines": {"orders": {"TestCases": {"Flaky": {"Charge": "ThrowThenCharge"}}}},
        "MockedResponses": {"ThrowThenCharge": {
            "0": {"Throw": {"Error": "Lambda.ServiceException", "Cause": "busy"}},
            "1": {"Return": {"StatusCode": 200, "Payload": {"charged": 42}}}
        }}
    });
    let served = start(dir.path(), None, Some(mocks)).await;
    let c = client(&served.endpoint.url()).await;
    let definition = r#"{"StartAt": "Charge", "States": {"Charge": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "charge", "Payload.$": "$"},
        "Retry": [{"ErrorEquals": ["Lambda.ServiceException"], "IntervalSeconds": 1, "MaxAttempts": 2}],
        "OutputPath": "$.Payload", "End": true}}}"#;
    let sm = create(&c, "orders", definition).await;

    // WHEN an execution starts with the test case named after the ARN
    let arn = c
        .start_execution()
        .state_machine_arn(format!("{sm}#Flaky"))
        .send()
        .await
        .unwrap()
        .execution_arn;

    // THEN the retry gets the second mocked answer
    let done = wait_done(&c, &arn).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{:?}", done.cause);
    assert_eq!(done.output.as_deref(), Some(r#"{"charged":42}"#));
    let events = history(&c, &arn).await;
    let failed = events
        .iter()
        .filter(|e| e.r#type == HistoryEventType::TaskFailed)
        .count();
    assert_eq!(failed, 1);
    // AND a test case the file lacks is refused
    let err = c
        .start_execution()
        .state_machine_arn(format!("{sm}#Nope"))
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().meta().code() == Some("ValidationException"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_state_runs_the_pipelines_choice_and_a_mocked_task_as_aws_answers() {
    // GIVEN the endpoint and the pipeline's definition
    let dir = tempfile::tempdir().unwrap();
    let served = start(dir.path(), None, None).await;
    let c = client(&served.endpoint.url()).await;
    let definition =
        std::fs::read_to_string(workspace_root().join("statemachine/report-pipeline.asl.json"))
            .unwrap();
    let choice = "IsReportReady";

    // WHEN TestState runs the Choice on a PollReport output that says COMPLETED
    let poll_output = json!({"status": "COMPLETED", "report_id": "r1", "download_url": "http://x/r1.csv", "poll_count": 2, "max_polls": 30, "wait_seconds": 4, "status_url": "http://x/r1"});
    let answer = c
        .test_state()
        .definition(&definition)
        .state_name(choice)
        .input(poll_output.to_string())
        .inspection_level(InspectionLevel::Debug)
        .send()
        .await
        .expect("TestState");

    // THEN it answers SUCCEEDED with the state that a ready report goes to
    assert_eq!(
        answer.status.as_ref().map(|s| s.as_str()),
        Some("SUCCEEDED")
    );
    assert_eq!(answer.next_state.as_deref(), Some("DownloadReport"));
    let data = answer.inspection_data.expect("DEBUG has inspectionData");
    assert_eq!(
        serde_json::from_str::<Value>(data.input.as_deref().unwrap()).unwrap(),
        poll_output
    );

    // WHEN a Task is tested with a mocked result
    let task = r#"{"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "f", "Payload": {"id.$": "$.id"}},
        "ResultSelector": {"body.$": "$.Payload"}, "ResultPath": "$.result", "Next": "After",
        "Retry": [{"ErrorEquals": ["Busy"], "MaxAttempts": 2}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Handle"}]}"#;
    let ok = c
        .test_state()
        .definition(task)
        .input(r#"{"id": 3}"#)
        .mock(
            MockInput::builder()
                .result(r#"{"Payload": {"n": 1}, "StatusCode": 200}"#)
                .build(),
        )
        .inspection_level(InspectionLevel::Debug)
        .send()
        .await
        .unwrap();
    // THEN every step of the data flow is shown, as the API reference lists them
    assert_eq!(ok.status.as_ref().unwrap().as_str(), "SUCCEEDED");
    assert_eq!(ok.next_state.as_deref(), Some("After"));
    assert_eq!(
        ok.output.as_deref(),
        Some(r#"{"id":3,"result":{"body":{"n":1}}}"#)
    );
    let d = ok.inspection_data.unwrap();
    assert_eq!(d.after_input_path.as_deref(), Some(r#"{"id":3}"#));
    assert_eq!(
        d.after_parameters.as_deref(),
        Some(r#"{"FunctionName":"f","Payload":{"id":3}}"#)
    );
    assert_eq!(
        d.result.as_deref(),
        Some(r#"{"Payload":{"n":1},"StatusCode":200}"#)
    );
    assert_eq!(
        d.after_result_selector.as_deref(),
        Some(r#"{"body":{"n":1}}"#)
    );
    assert_eq!(
        d.after_result_path.as_deref(),
        Some(r#"{"id":3,"result":{"body":{"n":1}}}"#)
    );

    // WHEN the mock is an error a retrier matches, then one only the catcher matches
    let mock_err = |e: &str| {
        MockInput::builder()
            .error_output(
                aws_sdk_sfn::types::MockErrorOutput::builder()
                    .error(e)
                    .cause("why")
                    .build(),
            )
            .build()
    };
    let retriable = c
        .test_state()
        .definition(task)
        .input(r#"{"id": 1}"#)
        .mock(mock_err("Busy"))
        .send()
        .await
        .unwrap();
    let caught = c
        .test_state()
        .definition(task)
        .input(r#"{"id": 1}"#)
        .mock(mock_err("Other"))
        .send()
        .await
        .unwrap();
    // THEN RETRIABLE, and CAUGHT_ERROR going to the catcher's Next with the error at its ResultPath
    assert_eq!(retriable.status.unwrap().as_str(), "RETRIABLE");
    assert_eq!(retriable.error.as_deref(), Some("Busy"));
    assert_eq!(caught.status.unwrap().as_str(), "CAUGHT_ERROR");
    assert_eq!(caught.next_state.as_deref(), Some("Handle"));
    assert_eq!(
        caught.output.as_deref(),
        Some(r#"{"id":1,"error":{"Error":"Other","Cause":"why"}}"#)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_aws_errors_and_lose_nothing() {
    // GIVEN an endpoint holding one state machine
    let dir = tempfile::tempdir().unwrap();
    let served = start(dir.path(), Some(&dir.path().join("store")), None).await;
    let url = served.endpoint.url();
    let c = client(&url).await;
    let sm = create(&c, "kept", CALLBACK).await;

    // WHEN requests name things that do not exist or are not valid
    let no_exec = c
        .describe_execution()
        .execution_arn("arn:aws:states:us-east-1:111111111111:execution:kept:nope")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let no_machine = c
        .describe_state_machine()
        .state_machine_arn("arn:aws:states:us-east-1:111111111111:stateMachine:nope")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let bad_arn = c
        .describe_execution()
        .execution_arn("not-an-arn")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let invalid = c
        .create_state_machine()
        .name("broken")
        .role_arn(ROLE)
        .definition(r#"{"StartAt": "Missing", "States": {"A": {"Type": "Pass", "End": true}}}"#)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let bad_input = c
        .start_execution()
        .state_machine_arn(&sm)
        .input("{not json")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let taken = c
        .create_state_machine()
        .name("kept")
        .role_arn(ROLE)
        .definition(r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}"#)
        .send()
        .await
        .unwrap_err()
        .into_service_error();

    // THEN each is AWS's typed error
    assert!(no_exec.is_execution_does_not_exist(), "{no_exec:?}");
    assert!(
        no_machine.is_state_machine_does_not_exist(),
        "{no_machine:?}"
    );
    assert!(bad_arn.is_invalid_arn(), "{bad_arn:?}");
    assert!(invalid.is_invalid_definition(), "{invalid:?}");
    assert!(
        invalid.meta().message().unwrap().contains("Missing"),
        "{invalid:?}"
    );
    assert!(bad_input.is_invalid_execution_input(), "{bad_input:?}");
    assert!(taken.is_state_machine_already_exists(), "{taken:?}");

    // AND raw requests the SDK would never send get the protocol's errors
    let post = |target: &'static str, body: &'static str| {
        let url = url.clone();
        async move {
            let r = reqwest::Client::new()
                .post(&url)
                .header("x-amz-target", target)
                .header("content-type", "application/x-amz-json-1.0")
                .body(body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = post("AWSStepFunctions.LaunchRockets", "{}").await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("UnknownOperationException"))
    );
    let (status, body) = post("AWSStepFunctions.StartExecution", "{\"stateMachineArn\": ").await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("SerializationException"))
    );
    let (status, body) = post("AWSStepFunctions.StartExecution", "{}").await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("ValidationException"))
    );
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("stateMachineArn"));

    // AND what was stored is still there
    let listed = c.list_state_machines().send().await.unwrap();
    assert_eq!(listed.state_machines.len(), 1);
    assert_eq!(listed.state_machines[0].state_machine_arn, sm);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_machines_and_executions_survive_a_restart() {
    // GIVEN an endpoint with a store, a finished execution and one left waiting
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let (sm, done_arn, waiting_arn) = {
        let served = start(dir.path(), Some(&store), None).await;
        let c = client(&served.endpoint.url()).await;
        let sm = create(&c, "kept", r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": {"v": 1}, "End": true}}}"#).await;
        let done = c
            .start_execution()
            .state_machine_arn(&sm)
            .name("done")
            .send()
            .await
            .unwrap()
            .execution_arn;
        wait_done(&c, &done).await;
        let cb = create(&c, "approval", CALLBACK).await;
        let waiting = c
            .start_execution()
            .state_machine_arn(&cb)
            .name("waiting")
            .input(r#"{"order": 1}"#)
            .send()
            .await
            .unwrap()
            .execution_arn;
        token_of(&c, &waiting).await;
        (sm, done, waiting)
        // WHEN the endpoint stops (dropped here)
    };
    let served = start(dir.path(), Some(&store), None).await;
    let c = client(&served.endpoint.url()).await;

    // THEN a new endpoint on the store has them all
    let d = c
        .describe_state_machine()
        .state_machine_arn(&sm)
        .send()
        .await
        .unwrap();
    assert_eq!(d.name, "kept");
    let done = c
        .describe_execution()
        .execution_arn(&done_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(done.output.as_deref(), Some(r#"{"v":1}"#));
    assert_eq!(history(&c, &done_arn).await.len(), 4);
    // AND the one that was running is aborted, saying why, and can be redriven
    let aborted = c
        .describe_execution()
        .execution_arn(&waiting_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(aborted.status, ExecutionStatus::Aborted);
    assert!(aborted.cause.unwrap().contains("stopped"));
    assert_eq!(
        history(&c, &waiting_arn).await.last().unwrap().r#type,
        HistoryEventType::ExecutionAborted
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_execution_aborts_a_running_execution() {
    // GIVEN an execution waiting for a callback
    let dir = tempfile::tempdir().unwrap();
    let served = start(dir.path(), None, None).await;
    let c = client(&served.endpoint.url()).await;
    let sm = create(&c, "approval", CALLBACK).await;
    let arn = c
        .start_execution()
        .state_machine_arn(&sm)
        .input(r#"{"order": 1}"#)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let token = token_of(&c, &arn).await;
    // WHEN it is stopped
    c.stop_execution()
        .execution_arn(&arn)
        .error("Operator.Stop")
        .cause("wrong order")
        .send()
        .await
        .unwrap();
    // THEN it is ABORTED with that error, and its token is spent
    let d = c
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(d.status, ExecutionStatus::Aborted);
    assert_eq!(d.error.as_deref(), Some("Operator.Stop"));
    let late = c
        .send_task_success()
        .task_token(&token)
        .output("{}")
        .send()
        .await
        .unwrap_err();
    assert!(late.into_service_error().is_task_does_not_exist());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_express_state_machine_runs_in_the_request_with_start_sync_execution() {
    // GIVEN an EXPRESS state machine
    let dir = tempfile::tempdir().unwrap();
    let served = start(dir.path(), None, None).await;
    let c = client(&served.endpoint.url()).await;
    let sm = c
        .create_state_machine()
        .name("quick")
        .role_arn(ROLE)
        .r#type(aws_sdk_sfn::types::StateMachineType::Express)
        .definition(r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"twice.$": "States.MathAdd($.n, $.n)"}, "End": true}}}"#)
        .send()
        .await
        .unwrap()
        .state_machine_arn;
    // WHEN it is started synchronously
    let out = c
        .start_sync_execution()
        .state_machine_arn(&sm)
        .input(r#"{"n": 21}"#)
        .send()
        .await
        .expect("StartSyncExecution");
    // THEN the answer carries the output
    assert_eq!(
        out.status,
        aws_sdk_sfn::types::SyncExecutionStatus::Succeeded
    );
    assert_eq!(out.output.as_deref(), Some(r#"{"twice":42}"#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_validate_and_delete_a_state_machine() {
    // GIVEN a state machine
    let dir = tempfile::tempdir().unwrap();
    let served = start(dir.path(), Some(&dir.path().join("store")), None).await;
    let c = client(&served.endpoint.url()).await;
    let sm = create(
        &c,
        "m",
        r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}"#,
    )
    .await;
    let first = c
        .describe_state_machine()
        .state_machine_arn(&sm)
        .send()
        .await
        .unwrap();

    // WHEN its definition is updated
    let new_def = r#"{"StartAt": "B", "States": {"B": {"Type": "Succeed"}}}"#;
    let updated = c
        .update_state_machine()
        .state_machine_arn(&sm)
        .definition(new_def)
        .send()
        .await
        .unwrap();
    // THEN describing it shows the new definition and a new revision
    let d = c
        .describe_state_machine()
        .state_machine_arn(&sm)
        .send()
        .await
        .unwrap();
    assert_eq!(d.definition, new_def);
    assert_ne!(d.revision_id, first.revision_id);
    assert_eq!(d.revision_id, updated.revision_id);

    // WHEN a definition with two mistakes is validated
    let v = c
        .validate_state_machine_definition()
        .definition(r#"{"StartAt": "Nope", "States": {"A": {"Type": "Pass", "Next": "Gone"}}}"#)
        .send()
        .await
        .unwrap();
    // THEN the answer is FAIL with a diagnostic per mistake, each with AWS's code
    assert_eq!(v.result.as_str(), "FAIL");
    assert!(v.diagnostics.len() >= 2, "{:?}", v.diagnostics);
    assert!(v
        .diagnostics
        .iter()
        .all(|d| !d.code.is_empty() && d.severity.as_str() == "ERROR"));

    // WHEN it is deleted
    c.delete_state_machine()
        .state_machine_arn(&sm)
        .send()
        .await
        .unwrap();
    // THEN it is gone, and an update of it is StateMachineDoesNotExist
    assert!(c
        .list_state_machines()
        .send()
        .await
        .unwrap()
        .state_machines
        .is_empty());
    let err = c
        .update_state_machine()
        .state_machine_arn(&sm)
        .definition(new_def)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_state_machine_does_not_exist());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wait_scale_header_sets_one_executions_waits() {
    // GIVEN an endpoint that skips waits, and a state machine that waits an hour
    let dir = tempfile::tempdir().unwrap();
    let served = start(dir.path(), None, None).await;
    let c = client(&served.endpoint.url()).await;
    let sm = create(
        &c,
        "slow",
        r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}}"#,
    )
    .await;

    // WHEN one execution asks for real waits (x-asl-wait-scale: 1) and another does not
    let real = c
        .start_execution()
        .state_machine_arn(&sm)
        .name("real")
        .customize()
        .mutate_request(|r| {
            r.headers_mut().insert("x-asl-wait-scale", "1");
        })
        .send()
        .await
        .unwrap()
        .execution_arn;
    let skipped = c
        .start_execution()
        .state_machine_arn(&sm)
        .name("skipped")
        .send()
        .await
        .unwrap()
        .execution_arn;

    // THEN the second ends at once while the first is still waiting its hour
    assert_eq!(
        wait_done(&c, &skipped).await.status,
        ExecutionStatus::Succeeded
    );
    let d = c
        .describe_execution()
        .execution_arn(&real)
        .send()
        .await
        .unwrap();
    assert_eq!(d.status, ExecutionStatus::Running);
    c.stop_execution()
        .execution_arn(&real)
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_task_without_a_heartbeat_fails_with_heartbeat_timeout() {
    // GIVEN a callback Task that wants a heartbeat every second
    let dir = tempfile::tempdir().unwrap();
    let served = start(dir.path(), None, None).await;
    let c = client(&served.endpoint.url()).await;
    let sm = create(
        &c,
        "beating",
        r#"{"StartAt": "T", "States": {"T": {"Type": "Task", "HeartbeatSeconds": 1,
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"MessageBody": {"token.$": "$$.Task.Token"}}, "End": true}}}"#,
    )
    .await;
    // WHEN nobody sends one
    let arn = c
        .start_execution()
        .state_machine_arn(&sm)
        .send()
        .await
        .unwrap()
        .execution_arn;
    // THEN the execution fails with States.HeartbeatTimeout
    let done = wait_done(&c, &arn).await;
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error.as_deref(), Some("States.HeartbeatTimeout"));
}
