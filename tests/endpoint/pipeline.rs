//! The pipeline through the endpoint, and TestState.

use super::*;

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
async fn test_state_reads_the_given_variables_and_context() {
    // GIVEN a Pass state that reads a variable and the context object
    let dir = tempfile::tempdir().unwrap();
    let served = start(dir.path(), None, None).await;
    let c = client(&served.endpoint.url()).await;
    let pass = r#"{"Type": "Pass", "End": true,
        "Parameters": {"limit.$": "$limit", "run.$": "$$.Execution.Name", "state.$": "$$.State.Name"},
        "Assign": {"seen.$": "$.run"}}"#;
    // WHEN TestState is given variables and a context at TRACE
    let answer = c
        .test_state()
        .definition(pass)
        .input(r#"{"id": 9}"#)
        .variables(r#"{"limit": 5}"#)
        .context(r#"{"Execution": {"Name": "nightly-42"}}"#)
        .inspection_level(InspectionLevel::Trace)
        .send()
        .await
        .unwrap();
    // THEN the output used them, and the variables after the state are shown
    assert_eq!(answer.status.unwrap().as_str(), "SUCCEEDED");
    assert_eq!(answer.next_state, None);
    let out: Value = serde_json::from_str(answer.output.as_deref().unwrap()).unwrap();
    assert_eq!(
        out,
        json!({"limit": 5, "run": "nightly-42", "state": "TestState"})
    );
    let data = answer.inspection_data.unwrap();
    let vars: Value = serde_json::from_str(data.variables.as_deref().unwrap()).unwrap();
    assert_eq!(vars, json!({"limit": 5, "seen": "nightly-42"}));
    assert_eq!(
        data.after_parameters.as_deref(),
        Some(r#"{"limit":5,"run":"nightly-42","state":"TestState"}"#)
    );
}
