//! The state machine definition against the Rust types: every JSONPath the
//! definition reads names a field that the step feeding it always
//! serializes, every Task names one of the four functions, and the README's
//! diagram is the definition's.
//!
//! The check follows the data: it starts from the execution input, gives
//! each Task's output the sample of its function's output type (built with
//! every optional field empty, so "always serialized" is what is checked),
//! sends Catch paths the error object at its `ResultPath`, and reads every
//! path of every state against every sample that can reach it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use shared::payload::*;
use statemachine::path::JsonPath;
use statemachine::StateMachine;

const FUNCTIONS: [&str; 4] = ["CreateReport", "PollReport", "DownloadReport", "UpdateSite"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn definition_path() -> PathBuf {
    root().join("statemachine/report-pipeline.asl.json")
}

fn definition() -> StateMachine {
    StateMachine::from_path(&definition_path()).expect("the definition parses")
}

/// The smallest value of each function's output type: options empty.
fn output_sample(function: &str) -> Value {
    let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let handle = ReportHandle {
        report_id: "r".into(),
        status_url: "http://x".into(),
        created_at: at,
        poll_count: 0,
        max_polls: 1,
        wait_seconds: 1,
    };
    let v = match function {
        "CreateReport" => serde_json::to_value(&handle),
        "PollReport" => serde_json::to_value(PollOutcome {
            report: handle,
            status: ReportStatus::InProgress,
            download_url: None,
        }),
        "DownloadReport" => serde_json::to_value(StoredReport {
            report_id: "r".into(),
            created_at: at,
            bucket: "b".into(),
            key: "k".into(),
            bytes: 0,
        }),
        "UpdateSite" => serde_json::to_value(PublishedSite {
            report_id: "r".into(),
            bucket: "b".into(),
            index_key: "i".into(),
            archive_key: "a".into(),
            rows: 0,
            bytes: 0,
            index_updated: true,
        }),
        other => panic!("no output type for function {other}"),
    };
    v.unwrap()
}

/// Every path a state reads from its input, with where it reads it.
/// `IsPresent` tests are left out: they exist to test presence.
fn read_paths(state: &statemachine::State) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for field in [
        "InputPath",
        "ItemsPath",
        "SecondsPath",
        "TimestampPath",
        "ErrorPath",
        "CausePath",
    ] {
        if let Some(p) = state.str(field) {
            out.push((field.to_string(), p.to_string()));
        }
    }
    fn parameters(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    match (k.strip_suffix(".$"), v.as_str()) {
                        (Some(_), Some(p)) if p.starts_with("$.") || p == "$" => {
                            out.push((format!("{at}.{k}"), p.to_string()))
                        }
                        _ => parameters(v, &format!("{at}.{k}"), out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| parameters(i, at, out)),
            _ => {}
        }
    }
    for field in ["Parameters", "ItemSelector"] {
        if let Some(p) = state.get(field) {
            parameters(p, field, &mut out);
        }
    }
    fn rule(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
        let Some(map) = v.as_object() else { return };
        for (k, v) in map {
            match (k.as_str(), v) {
                ("And" | "Or", Value::Array(rules)) => rules.iter().for_each(|r| rule(r, at, out)),
                ("Not", r) => rule(r, at, out),
                ("Variable", Value::String(p)) if !map.contains_key("IsPresent") => {
                    out.push((format!("{at}.Variable"), p.clone()))
                }
                (k, Value::String(p)) if k.ends_with("Path") => {
                    out.push((format!("{at}.{k}"), p.clone()))
                }
                _ => {}
            }
        }
    }
    if let Some(Value::Array(choices)) = state.get("Choices") {
        for (i, c) in choices.iter().enumerate() {
            rule(c, &format!("Choices[{i}]"), &mut out);
        }
    }
    out
}

/// The samples that can reach each state, following Next, Choices, Default
/// and Catch from the execution input.
fn flow(machine: &StateMachine, input: Value) -> BTreeMap<String, Vec<(String, Value)>> {
    let mut reach: BTreeMap<String, Vec<(String, Value)>> = BTreeMap::new();
    let mut queue = VecDeque::from([(
        machine.start_at.clone(),
        "the execution input".to_string(),
        input,
    )]);
    let mut seen = BTreeSet::new();
    while let Some((name, origin, sample)) = queue.pop_front() {
        if !seen.insert((name.clone(), sample.to_string())) {
            continue;
        }
        reach
            .entry(name.clone())
            .or_default()
            .push((origin.clone(), sample.clone()));
        let state = machine
            .state(&name)
            .unwrap_or_else(|| panic!("no state {name}"));
        let mut send =
            |next: &str, origin: String, v: Value| queue.push_back((next.to_string(), origin, v));
        match state.kind.as_str() {
            "Task" => {
                let function = state.static_function().expect("a Task names its function");
                if let Some(next) = state.next() {
                    send(
                        next,
                        format!("{function}'s output"),
                        output_sample(&function),
                    );
                }
                for c in state
                    .get("Catch")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let result_path = c.get("ResultPath").and_then(Value::as_str).unwrap_or("$");
                    for error in [
                        json!({"Error": "E", "Cause": "C"}),
                        json!({"Error": "States.Timeout"}),
                    ] {
                        let mut v = sample.clone();
                        JsonPath::parse(result_path)
                            .unwrap()
                            .write(&mut v, error)
                            .unwrap();
                        send(
                            c["Next"].as_str().unwrap(),
                            format!("{name}'s Catch (input + error at {result_path})"),
                            v,
                        );
                    }
                }
            }
            "Choice" => {
                for c in state
                    .get("Choices")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    // A top-level IsPresent rule narrows what reaches its Next.
                    if let (Some(p), Some(present)) = (
                        c.get("Variable").and_then(Value::as_str),
                        c.get("IsPresent").and_then(Value::as_bool),
                    ) {
                        if JsonPath::parse(p).unwrap().read(&sample).is_ok() != present {
                            continue;
                        }
                    }
                    send(c["Next"].as_str().unwrap(), origin.clone(), sample.clone());
                }
                if let Some(d) = state.str("Default") {
                    send(d, origin.clone(), sample.clone());
                }
            }
            "Wait" | "Pass" => {
                if let Some(next) = state.next() {
                    send(next, origin.clone(), sample.clone());
                }
            }
            "Succeed" | "Fail" => {}
            other => panic!("the check does not model {other} states yet (state {name})"),
        }
    }
    reach
}

/// Every (state, field, path, origin) whose path is absent from a sample that reaches it.
fn missing_paths(machine: &StateMachine) -> Vec<String> {
    let input = serde_json::to_value(CreateReportInput::default()).unwrap();
    let reach = flow(machine, input);
    let mut problems = Vec::new();
    for state in &machine.states {
        for (field, path) in read_paths(state) {
            let parsed = JsonPath::parse(&path)
                .unwrap_or_else(|e| panic!("{}: {field}: bad path {path}: {e}", state.name));
            for (origin, sample) in reach.get(&*state.name).into_iter().flatten() {
                if parsed.read(sample).is_err() {
                    problems.push(format!(
                        "{}.{field} reads {path}, absent from {origin}: {sample}",
                        state.name
                    ));
                }
            }
        }
    }
    problems
}

#[test]
fn every_path_the_definition_reads_is_a_field_its_producer_always_serializes() {
    let machine = definition();
    let problems = missing_paths(&machine);
    assert!(
        problems.is_empty(),
        "paths that would fail with States.Runtime in production:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_check_catches_a_choice_on_a_field_no_step_returns() {
    // GIVEN the original design's trap: a Choice on a field that is absent
    let mut raw: Value =
        serde_json::from_str(&std::fs::read_to_string(definition_path()).unwrap()).unwrap();
    raw["States"]["IsReportReady"]["Choices"][0]["Variable"] = json!("$.report_status");
    raw["States"]["WaitForReport"]["SecondsPath"] = json!("$.next_wait");
    let broken = StateMachine::from_value(raw).unwrap();
    // WHEN checked THEN both reads are reported, naming state, field and path
    let problems = missing_paths(&broken);
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("IsReportReady.Choices[0].Variable reads $.report_status")),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("WaitForReport.SecondsPath reads $.next_wait")),
        "{problems:#?}"
    );
}

#[test]
fn every_task_runs_one_of_the_four_functions_and_each_function_is_used() {
    let machine = definition();
    let used: BTreeSet<String> = machine.task_functions().into_iter().collect();
    let expected: BTreeSet<String> = FUNCTIONS.iter().map(|s| s.to_string()).collect();
    assert_eq!(used, expected);
    for state in machine
        .states
        .iter()
        .filter(|s| s.kind == statemachine::StateType::Task)
    {
        assert_eq!(
            state.resource_kind(),
            statemachine::ResourceKind::LambdaFunction,
            "{}",
            state.name
        );
        assert!(
            state.get("TimeoutSeconds").is_some(),
            "{} has no TimeoutSeconds",
            state.name
        );
        assert!(
            state.get("Retry").is_some() && state.get("Catch").is_some(),
            "{} lacks Retry or Catch",
            state.name
        );
    }
}

#[test]
fn the_definition_passes_the_executors_validation() {
    let errors = statemachine::validate(&definition());
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn retries_name_only_known_transient_errors_and_lambda_service_errors() {
    let lambda = [
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
    ];
    let machine = definition();
    for state in machine
        .states
        .iter()
        .filter(|s| s.kind == statemachine::StateType::Task)
    {
        let mut retried = BTreeSet::new();
        for r in state
            .get("Retry")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for e in r["ErrorEquals"].as_array().unwrap() {
                let e = e.as_str().unwrap();
                match shared::ErrorName::from_name(e) {
                    Some(name) => assert!(
                        name.is_transient(),
                        "{}: retries permanent error {e}",
                        state.name
                    ),
                    None => assert!(
                        lambda.contains(&e),
                        "{}: retries unknown error {e}",
                        state.name
                    ),
                }
                retried.insert(e.to_string());
            }
        }
        for l in lambda {
            assert!(retried.contains(l), "{} does not retry {l}", state.name);
        }
    }
}

#[test]
fn every_error_name_a_function_can_raise_is_documented_in_the_readme() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    for name in shared::ErrorName::ALL {
        assert!(
            readme.contains(&format!("`{}`", name.as_str())),
            "README.md does not document {name}"
        );
    }
}

#[test]
fn the_readme_diagram_is_the_definitions() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let expected = statemachine::to_mermaid(&definition());
    let start = "<!-- diagram:start (generated by `make diagram`; a test keeps it current) -->\n```mermaid\n";
    let block = readme
        .split_once(start)
        .and_then(|(_, rest)| rest.split_once("```\n<!-- diagram:end -->"))
        .map(|(block, _)| block)
        .expect("README.md has the diagram markers");
    assert_eq!(
        block.trim_end(),
        expected.trim_end(),
        "README.md's diagram is stale: run `make diagram`"
    );
}
