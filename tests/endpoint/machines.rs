//! State machines and executions: mocks, errors, the store, Express, waits.

use super::*;

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
    let done = describe(&c, &done_arn).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(done.output.as_deref(), Some(r#"{"v":1}"#));
    assert_eq!(history(&c, &done_arn).await.len(), 4);
    // AND the one that was running is aborted, saying why, and can be redriven
    let aborted = describe(&c, &waiting_arn).await;
    assert_eq!(aborted.status, ExecutionStatus::Aborted);
    assert!(aborted.cause.unwrap().contains("stopped"));
    assert_eq!(
        history(&c, &waiting_arn).await.last().unwrap().r#type,
        HistoryEventType::ExecutionAborted
    );
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
    let d = describe(&c, &real).await;
    assert_eq!(d.status, ExecutionStatus::Running);
    c.stop_execution()
        .execution_arn(&real)
        .send()
        .await
        .unwrap();
}
