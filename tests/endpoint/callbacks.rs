//! `.waitForTaskToken` Tasks: callbacks, heartbeats, stop and redrive.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_task_waits_for_send_task_success_and_takes_its_output() {
    // GIVEN an execution waiting at a .waitForTaskToken Task
    let dir = tempfile::tempdir().unwrap();
    let served = start(dir.path(), None, None).await;
    let c = client(&served.endpoint.url()).await;
    let sm = create(&c, "approval", CALLBACK).await;
    let arn = start_exec(&c, &sm, r#"{"order": 7}"#).await;
    let token = token_of(&c, &arn).await;
    let running = describe(&c, &arn).await;
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
    let arn = start_exec(&c, &sm, "{}").await;
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
async fn stop_execution_aborts_a_running_execution() {
    // GIVEN an execution waiting for a callback
    let dir = tempfile::tempdir().unwrap();
    let served = start(dir.path(), None, None).await;
    let c = client(&served.endpoint.url()).await;
    let sm = create(&c, "approval", CALLBACK).await;
    let arn = start_exec(&c, &sm, r#"{"order": 1}"#).await;
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
    let d = describe(&c, &arn).await;
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
    let arn = start_exec(&c, &sm, "{}").await;
    // THEN the execution fails with States.HeartbeatTimeout
    let done = wait_done(&c, &arn).await;
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error.as_deref(), Some("States.HeartbeatTimeout"));
}
