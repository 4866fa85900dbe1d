//! Replays the ASL conformance corpus (executions recorded on AWS; format in
//! `shared/asl-conformance/README.md`) and compares status, output, error and
//! cause, and the history's shape where AWS's was recorded (`history.rs`).

mod history;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::exec::{execute, RunOptions};
use crate::intrinsics::json_eq;
use crate::invoke::{MockInvoker, MockResult, TaskFailure};
use crate::model::StateMachine;

/// One case file.
#[derive(Debug, Clone)]
pub(crate) struct Case {
    pub file: PathBuf,
    pub name: String,
    pub query_language: String,
    pub definition: Value,
    pub input: Value,
    pub task_results: Value,
    pub expected: Value,
}

/// The verdict on one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub name: String,
    pub file: PathBuf,
    pub query_language: String,
    pub passed: bool,
    /// For a case expected to fail: whether our cause equals AWS's exactly.
    pub cause_matches: Option<bool>,
    /// What differed (empty when passed).
    pub diff: Vec<String>,
    /// Whether our history has AWS's shape, where the case recorded one.
    pub history_matches: Option<bool>,
    /// What differs in the history, when it does.
    pub history_diff: Option<String>,
}

/// Totals over a corpus.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub results: Vec<CaseResult>,
}

impl Summary {
    pub fn passed(&self) -> usize {
        self.results.iter().filter(|r| r.passed).count()
    }
    pub fn failed(&self) -> usize {
        self.results.len() - self.passed()
    }
    /// (passed, total) for one query language.
    pub fn by_language(&self, ql: &str) -> (usize, usize) {
        let all: Vec<_> = self
            .results
            .iter()
            .filter(|r| r.query_language == ql)
            .collect();
        (all.iter().filter(|r| r.passed).count(), all.len())
    }
    /// (exact cause matches, FAILED-status cases with an expected cause).
    pub fn causes(&self) -> (usize, usize) {
        let with: Vec<_> = self
            .results
            .iter()
            .filter_map(|r| r.cause_matches)
            .collect();
        (with.iter().filter(|m| **m).count(), with.len())
    }
    /// Like [`Summary::causes`] for one query language.
    pub fn causes_for(&self, ql: &str) -> (usize, usize) {
        let with: Vec<_> = self
            .results
            .iter()
            .filter(|r| r.query_language == ql)
            .filter_map(|r| r.cause_matches)
            .collect();
        (with.iter().filter(|m| **m).count(), with.len())
    }
    /// (histories with AWS's shape, cases with a recorded history) for one query language.
    pub fn histories_for(&self, ql: &str) -> (usize, usize) {
        let with: Vec<bool> = self
            .results
            .iter()
            .filter(|r| r.query_language == ql)
            .filter_map(|r| r.history_matches)
            .collect();
        (with.iter().filter(|m| **m).count(), with.len())
    }
    /// Names of failing cases of a query language, sorted.
    pub fn failing(&self, ql: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .results
            .iter()
            .filter(|r| !r.passed && r.query_language == ql)
            .map(|r| r.name.clone())
            .collect();
        v.sort();
        v
    }
}

/// Load one case file.
pub(crate) fn load_case(path: &Path) -> Result<Case, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let get = |k: &str| v.get(k).cloned().unwrap_or(Value::Null);
    Ok(Case {
        file: path.to_path_buf(),
        name: get("name").as_str().unwrap_or_default().to_string(),
        query_language: get("query_language")
            .as_str()
            .unwrap_or("JSONPath")
            .to_string(),
        definition: get("definition"),
        input: get("input"),
        task_results: get("task_results"),
        expected: get("expected"),
    })
}

fn mocks(task_results: &Value) -> MockInvoker {
    let m = MockInvoker::new();
    if let Some(obj) = task_results.as_object() {
        for (state, entries) in obj {
            for e in entries.as_array().into_iter().flatten() {
                if let Some(err) = e.get("error").and_then(Value::as_str) {
                    let cause = e.get("cause").and_then(Value::as_str).unwrap_or_default();
                    m.push(state, MockResult::Failure(TaskFailure::new(err, cause)));
                } else {
                    m.push(
                        state,
                        MockResult::Output(e.get("output").cloned().unwrap_or(Value::Null)),
                    );
                }
            }
        }
    }
    m
}

/// Run one case with a wall-clock limit.
pub(crate) async fn run_case(case: &Case, limit: Duration) -> CaseResult {
    let mut res = CaseResult {
        name: case.name.clone(),
        file: case.file.clone(),
        query_language: case.query_language.clone(),
        passed: false,
        cause_matches: None,
        diff: Vec::new(),
        history_matches: None,
        history_diff: None,
    };
    let exp_status = case
        .expected
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("");
    let exp_cause = case.expected.get("cause").and_then(Value::as_str);
    if exp_status != "SUCCEEDED" {
        res.cause_matches = Some(false);
    }
    let machine = match StateMachine::from_value(case.definition.clone()) {
        Ok(m) => m,
        Err(e) => {
            res.diff.push(format!("definition does not parse: {e}"));
            return res;
        }
    };
    // AWS accepted every definition in the corpus: so must the validator.
    for e in crate::validate::validate(&machine) {
        res.diff.push(format!("definition refused: {e}"));
    }
    let invoker = mocks(&case.task_results);
    let opts = RunOptions {
        wait_scale: 0.0,
        // Recorded Lambda timeouts arrive as States.Timeout task errors; no real timing to reproduce.
        enforce_task_timeouts: false,
        ..RunOptions::default()
    };
    let exec =
        match tokio::time::timeout(limit, execute(&machine, case.input.clone(), &invoker, opts))
            .await
        {
            Ok(e) => e,
            Err(_) => {
                res.diff.push(format!("timed out after {limit:?}"));
                return res;
            }
        };
    if exec.status.as_aws() != exp_status {
        res.diff.push(format!(
            "status: expected {exp_status}, got {} (error {:?}, cause {:?})",
            exec.status.as_aws(),
            exec.error,
            exec.cause
        ));
    }
    if exp_status == "SUCCEEDED" {
        let exp_out = case.expected.get("output").cloned().unwrap_or(Value::Null);
        let got = exec.output.clone().unwrap_or(Value::Null);
        if !json_eq(&exp_out, &got) {
            res.diff
                .push(format!("output:\n  expected {exp_out}\n  got      {got}"));
        }
    } else {
        let exp_err = case.expected.get("error").and_then(Value::as_str);
        if exp_err != exec.error.as_deref()
            && !(exp_err.is_none() && exec.error.as_deref() == Some(""))
        {
            res.diff
                .push(format!("error: expected {exp_err:?}, got {:?}", exec.error));
        }
        let got_cause = exec.cause.as_deref().filter(|c| !c.is_empty());
        let m = exp_cause == got_cause;
        res.cause_matches = Some(m);
        if !m {
            // Causes are reported, not required: AWS's wording is matched where known.
            res.diff.push(format!(
                "cause (informative):\n  expected {exp_cause:?}\n  got      {got_cause:?}"
            ));
        }
    }
    if let Some(recorded) = case.expected.get("history") {
        let diff = history::compare(&history::expected(recorded), &history::ours(&exec.history));
        res.history_matches = Some(diff.is_none());
        res.history_diff = diff;
    }
    res.passed = !res
        .diff
        .iter()
        .any(|d| !d.starts_with("cause (informative)"));
    res
}

/// Every `*.json` case in `dir`, sorted by file name.
pub(crate) fn case_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    Ok(files)
}

/// Run every case in `dir`.
pub async fn run_dir(dir: &Path, limit: Duration) -> Result<Summary, String> {
    let mut summary = Summary::default();
    for f in case_files(dir)? {
        let result = match load_case(&f) {
            Ok(case) => run_case(&case, limit).await,
            Err(e) => CaseResult {
                name: f.display().to_string(),
                file: f.clone(),
                query_language: "JSONPath".into(),
                passed: false,
                cause_matches: None,
                diff: vec![e],
                history_matches: None,
                history_diff: None,
            },
        };
        summary.results.push(result);
    }
    Ok(summary)
}
