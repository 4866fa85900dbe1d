//! The executor's unit tests: data flow, history, Retry/Catch, timeouts, Map and Parallel.

use super::*;
use std::time::Instant;

use super::size::{json_len, json_len_bound};
use crate::invoke::{FnInvoker, MockInvoker, MockResult, TaskFailure};

fn machine(def: Value) -> StateMachine {
    StateMachine::from_value(def).unwrap()
}

fn fast() -> RunOptions {
    RunOptions {
        wait_scale: 0.0,
        ..RunOptions::default()
    }
}

fn types(e: &Execution) -> Vec<&str> {
    e.history.iter().map(|h| h.event_type).collect()
}

#[tokio::test]
async fn given_pass_with_parameters_and_result_path_when_run_then_result_is_merged_into_input() {
    let m = machine(json!({"StartAt": "P", "States": {"P": {
        "Type": "Pass", "Parameters": {"sum.$": "States.MathAdd($.a, $.b)", "name": "x"},
        "ResultPath": "$.r", "OutputPath": "$.r", "End": true}}}));
    let e = execute(&m, json!({"a": 1, "b": 2}), &MockInvoker::new(), fast()).await;
    assert_eq!(e.status, ExecutionStatus::Succeeded);
    assert_eq!(e.output, Some(json!({"sum": 3, "name": "x"})));
    assert_eq!(
        types(&e),
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
}

#[tokio::test]
async fn given_a_lambda_function_task_when_run_then_history_has_lambda_events_with_chained_ids() {
    let m = machine(json!({"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": {"Fn::GetAtt": ["Double", "Arn"]}, "End": true}}}));
    let inv = FnInvoker::new().with("Double", |v: Value| async move {
        Ok(json!(v["n"].as_i64().unwrap_or(0) * 2))
    });
    let e = execute(&m, json!({"n": 21}), &inv, fast()).await;
    assert_eq!(e.output, Some(json!(42)));
    assert_eq!(
        types(&e),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "LambdaFunctionScheduled",
            "LambdaFunctionStarted",
            "LambdaFunctionSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    for (i, ev) in e.history.iter().enumerate() {
        assert_eq!(ev.id, i as u64 + 1);
        assert_eq!(ev.previous_event_id, i as u64);
    }
}

#[tokio::test]
async fn given_a_retrier_when_the_task_fails_then_it_is_retried_until_success() {
    let m = machine(json!({"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:F",
        "Retry": [{"ErrorEquals": ["States.TaskFailed"], "MaxAttempts": 2, "IntervalSeconds": 3}],
        "End": true}}}));
    let inv = MockInvoker::from_value(&json!({"T": [
        {"error": "Boom", "cause": "1"}, {"error": "Boom", "cause": "2"}, {"output": "ok"}]}))
    .unwrap();
    let e = execute(&m, json!({}), &inv, fast()).await;
    assert_eq!(e.status, ExecutionStatus::Succeeded);
    assert_eq!(
        types(&e)
            .iter()
            .filter(|t| **t == "LambdaFunctionFailed")
            .count(),
        2
    );
    // 3 s then 6 s of virtual backoff, no real sleeping.
    assert!(e.history.last().unwrap().elapsed_seconds >= 9.0);
}

#[tokio::test]
async fn given_retries_exhausted_when_a_catcher_matches_then_error_goes_to_result_path_and_next() {
    let m = machine(json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:F",
              "Retry": [{"ErrorEquals": ["Boom"], "MaxAttempts": 1}],
              "Catch": [{"ErrorEquals": ["Other"], "Next": "Never"},
                        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Handled"}],
              "End": true},
        "Never": {"Type": "Succeed"},
        "Handled": {"Type": "Pass", "End": true}}}));
    let inv = MockInvoker::from_value(&json!({"F": [{"error": "Boom", "cause": "c"}]})).unwrap();
    let e = execute(&m, json!({"keep": 1}), &inv, fast()).await;
    assert_eq!(
        e.output,
        Some(json!({"keep": 1, "err": {"Error": "Boom", "Cause": "c"}}))
    );
}

#[tokio::test]
async fn given_a_runtime_error_when_states_all_catcher_exists_then_it_is_not_caught() {
    let m = machine(json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:F",
              "OutputPath": "$.missing",
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handled"}], "End": true},
        "Handled": {"Type": "Succeed"}}}));
    let inv = MockInvoker::from_value(&json!({"F": [{"output": {}}]})).unwrap();
    let e = execute(&m, json!({}), &inv, fast()).await;
    assert_eq!(e.status, ExecutionStatus::Failed);
    assert_eq!(e.error.as_deref(), Some("States.Runtime"));
    assert_eq!(
        e.cause.as_deref(),
        Some("An error occurred while executing the state 'T' (entered at the event id #2). Invalid path '$.missing' : No results for path: $['missing']")
    );
}

#[tokio::test]
async fn given_machine_timeout_shorter_than_a_wait_when_run_at_scale_zero_then_it_times_out_instantly(
) {
    let m = machine(json!({"StartAt": "W", "TimeoutSeconds": 5, "States": {
        "W": {"Type": "Wait", "Seconds": 60, "End": true}}}));
    let started = Instant::now();
    let e = execute(&m, json!({}), &MockInvoker::new(), fast()).await;
    assert_eq!(e.status, ExecutionStatus::TimedOut);
    assert_eq!(e.error.as_deref(), Some("States.Timeout"));
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(types(&e).last(), Some(&"ExecutionTimedOut"));
}

#[tokio::test]
async fn given_a_negative_seconds_path_when_waiting_then_states_runtime_names_the_path() {
    let m = machine(json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "SecondsPath": "$.s", "End": true}}}));
    let e = execute(&m, json!({"s": -1}), &MockInvoker::new(), fast()).await;
    assert_eq!(e.error.as_deref(), Some("States.Runtime"));
    assert!(e
        .cause
        .unwrap()
        .ends_with("The SecondsPath parameter references a negative value: $.s == -1"));
}

#[tokio::test]
async fn given_a_map_with_item_selector_when_run_then_context_item_index_and_value_are_available() {
    let m = machine(json!({"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemsPath": "$.xs",
        "ItemSelector": {"i.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value", "k.$": "$.k"},
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
        "End": true}}}));
    let e = execute(
        &m,
        json!({"xs": ["a", "b"], "k": 7}),
        &MockInvoker::new(),
        fast(),
    )
    .await;
    assert_eq!(
        e.output,
        Some(json!([{"i": 0, "v": "a", "k": 7}, {"i": 1, "v": "b", "k": 7}]))
    );
    assert!(types(&e).contains(&"MapIterationSucceeded"));
}

#[tokio::test]
async fn given_an_item_batcher_when_run_then_iterations_receive_batches_with_batch_input() {
    let m = machine(json!({"StartAt": "M", "States": {"M": {
        "Type": "Map",
        "ItemBatcher": {"MaxItemsPerBatch": 2, "BatchInput": {"tag.$": "$.tag"}},
        "ItemsPath": "$.xs",
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
        "End": true}}}));
    let e = execute(
        &m,
        json!({"xs": [1, 2, 3], "tag": "t"}),
        &MockInvoker::new(),
        fast(),
    )
    .await;
    assert_eq!(
        e.output,
        Some(json!([
            {"BatchInput": {"tag": "t"}, "Items": [1, 2]},
            {"BatchInput": {"tag": "t"}, "Items": [3]}
        ]))
    );
}

#[tokio::test]
async fn given_a_parallel_state_when_run_then_branch_outputs_form_an_array_in_order() {
    let m = machine(json!({"StartAt": "Par", "States": {"Par": {
        "Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 1, "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Pass", "Result": 2, "End": true}}}]}}}));
    let e = execute(&m, json!({}), &MockInvoker::new(), fast()).await;
    assert_eq!(e.output, Some(json!([1, 2])));
}

#[tokio::test]
async fn given_a_parallel_whose_branch_task_fails_when_caught_then_the_history_keeps_only_what_aws_records(
) {
    // GIVEN a Parallel with a Pass branch and a Task branch whose call fails, caught
    let m = machine(json!({"StartAt": "Par", "States": {
        "Par": {"Type": "Parallel", "Next": "Done",
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Done"}],
            "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}},
                {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "f", "End": true}}}]},
        "Done": {"Type": "Succeed"}}}));
    let mocks = MockInvoker::new();
    mocks.push("T", MockResult::Failure(TaskFailure::new("Boom", "no")));
    // WHEN it runs
    let e = execute(&m, json!({}), &mocks, fast()).await;
    // THEN no branch event is recorded, nor ParallelStateFailed (no Fail state ended a branch)
    assert_eq!(
        types(&e),
        [
            "ExecutionStarted",
            "ParallelStateEntered",
            "ParallelStateStarted",
            "ParallelStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded"
        ]
    );
}

#[tokio::test]
async fn given_a_parallel_whose_branch_ends_in_a_fail_state_then_fail_state_entered_and_parallel_state_failed_are_recorded(
) {
    // GIVEN a Parallel with a nested Parallel and a branch that ends in a Fail state
    let m = machine(
        json!({"StartAt": "Par", "States": {"Par": {"Type": "Parallel", "End": true,
        "Branches": [
            {"StartAt": "In", "States": {"In": {"Type": "Parallel", "End": true, "Branches": [
                {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}]}}},
            {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "c"}}}]}}}),
    );
    // WHEN it runs
    let e = execute(&m, json!({}), &MockInvoker::new(), fast()).await;
    // THEN the nested Parallel's start and the Fail state's entry are the branch events kept
    assert_eq!(e.status, ExecutionStatus::Failed);
    let mut kept = types(&e);
    kept.sort_unstable();
    assert_eq!(
        kept,
        [
            "ExecutionFailed",
            "ExecutionStarted",
            "FailStateEntered",
            "ParallelStateEntered",
            "ParallelStateFailed",
            "ParallelStateStarted",
            "ParallelStateStarted"
        ]
    );
}

#[tokio::test]
async fn given_a_result_over_256_kib_when_a_task_returns_it_then_data_limit_exceeded_is_catchable()
{
    let m = machine(json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:Big",
              "Catch": [{"ErrorEquals": ["States.DataLimitExceeded"], "Next": "H"}], "End": true},
        "H": {"Type": "Pass", "End": true}}}));
    let inv = FnInvoker::new().with("Big", |_v: Value| async move {
        Ok::<Value, TaskFailure>(json!("x".repeat(MAX_PAYLOAD_BYTES + 1)))
    });
    let e = execute(&m, json!({}), &inv, fast()).await;
    assert_eq!(e.status, ExecutionStatus::Succeeded);
    assert_eq!(e.output.unwrap()["Error"], "States.DataLimitExceeded");
}

#[tokio::test]
async fn given_an_observer_when_run_then_it_sees_every_event_in_order() {
    struct Collect(Mutex<Vec<String>>);
    impl Observer for Collect {
        fn on_event(&self, e: &HistoryEvent) {
            self.0.lock().unwrap().push(e.event_type.to_string());
        }
    }
    let obs = Arc::new(Collect(Mutex::new(Vec::new())));
    let m = machine(json!({"StartAt": "F", "States": {
        "F": {"Type": "Fail", "ErrorPath": "$.e", "Cause": "because"}}}));
    let opts = RunOptions {
        observer: Some(obs.clone()),
        ..fast()
    };
    let e = execute(&m, json!({"e": "My.Error"}), &MockInvoker::new(), opts).await;
    assert_eq!(e.error.as_deref(), Some("My.Error"));
    assert_eq!(e.cause.as_deref(), Some("because"));
    assert_eq!(
        *obs.0.lock().unwrap(),
        ["ExecutionStarted", "FailStateEntered", "ExecutionFailed"]
    );
}

#[test]
fn given_payloads_when_bounding_their_size_then_the_bound_is_never_below_the_json_length() {
    let cases = [
        json!(null),
        json!(true),
        json!(-9223372036854775808i64),
        json!(18446744073709551615u64),
        json!(-1.2345678901234567e-308),
        json!(1e300),
        json!("\u{0}\u{1f}\"\\é😀\n"),
        json!({"\u{1}k": [1, 2.5, {"": null}], "x": [[], {}]}),
    ];
    for v in cases {
        assert!(json_len_bound(&v) >= json_len(&v), "{v}");
        assert_eq!(json_len(&v), serde_json::to_string(&v).unwrap().len());
    }
}

#[test]
fn given_error_equals_lists_when_matching_then_aws_wildcard_rules_apply() {
    assert!(error_matches(&[json!("States.ALL")], "Anything"));
    assert!(error_matches(
        &[json!("States.TaskFailed")],
        "Lambda.Unknown"
    ));
    assert!(!error_matches(
        &[json!("States.TaskFailed")],
        "States.Timeout"
    ));
    assert!(!error_matches(&[json!("A")], "B"));
}

/// `n` Pass states in a row.
fn pass_chain(n: usize) -> StateMachine {
    let mut states = serde_json::Map::new();
    for i in 0..n {
        let mut s = json!({"Type": "Pass"});
        if i + 1 < n {
            s["Next"] = json!(format!("P{}", i + 1));
        } else {
            s["End"] = json!(true);
        }
        states.insert(format!("P{i}"), s);
    }
    machine(json!({"StartAt": "P0", "States": states}))
}

#[tokio::test]
async fn given_a_history_quota_when_the_last_event_is_execution_succeeded_then_the_run_succeeds_and_one_more_state_fails_it(
) {
    // 4 Pass states: started + 8 + succeeded = 10 events.
    let quota = RunOptions {
        max_history_events: 10,
        ..fast()
    };
    let e = execute(&pass_chain(4), json!({}), &MockInvoker::new(), quota).await;
    assert_eq!(e.status, ExecutionStatus::Succeeded);
    assert_eq!(e.history.len(), 10);
    let quota = RunOptions {
        max_history_events: 10,
        ..fast()
    };
    let e = execute(&pass_chain(5), json!({}), &MockInvoker::new(), quota).await;
    assert_eq!(e.status, ExecutionStatus::Failed);
    assert_eq!(e.history.len(), 10);
    assert_eq!(e.history.last().unwrap().event_type, "ExecutionFailed");
    assert_eq!(e.history.last().unwrap().id, 10);
    assert_eq!(e.error.as_deref(), Some("States.Runtime"));
}

#[tokio::test]
async fn given_an_endless_loop_inside_a_caught_parallel_when_run_then_it_fails_at_the_event_quota_and_no_catch_hides_it(
) {
    let m = machine(json!({"StartAt": "Par", "States": {
        "Par": {"Type": "Parallel", "Branches": [{"StartAt": "Loop", "States": {
            "Loop": {"Type": "Pass", "Next": "Loop"}}}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": true},
        "Caught": {"Type": "Succeed"}}}));
    let e = execute(&m, json!({}), &MockInvoker::new(), fast()).await;
    assert_eq!(e.status, ExecutionStatus::Failed);
    // The branch's events are not in the history (as on AWS) but count toward the quota.
    let last = e.history.last().unwrap();
    assert_eq!(last.event_type, "ExecutionFailed");
    assert_eq!(last.id as usize, e.history.len());
    assert_eq!(
        last.cause.as_deref(),
        Some("The execution reached the maximum execution history size of 25000 events.")
    );
    assert!(!e
        .history
        .iter()
        .any(|h| h.state_name.as_deref() == Some("Caught")));
}

/// `levels` Parallel states, each the only state of the branch around it.
fn nested_parallel(levels: usize) -> String {
    let mut def = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#.to_string();
    for _ in 0..levels {
        def = format!(
            r#"{{"StartAt":"X","States":{{"X":{{"Type":"Parallel","Branches":[{def}],"End":true}}}}}}"#
        );
    }
    def
}

#[tokio::test]
async fn given_parallel_nested_deeply_when_parsed_and_run_then_it_runs_or_is_refused_with_a_named_reason(
) {
    // Within serde_json's 128 levels: runs, one array per level.
    let m = StateMachine::from_str(&nested_parallel(20)).unwrap();
    let e = execute(&m, json!(1), &MockInvoker::new(), fast()).await;
    assert_eq!(e.status, ExecutionStatus::Succeeded);
    let mut out = e.output.unwrap();
    for _ in 0..20 {
        out = out[0].take();
    }
    assert_eq!(out, json!(1));
    // Far beyond: refused at parse time, saying why, with no stack overflow.
    let err = StateMachine::from_str(&nested_parallel(5_000)).unwrap_err();
    assert!(
        err.to_string().starts_with("invalid state machine: the definition nests objects and arrays more than 128 levels deep"),
        "{err}"
    );
}
