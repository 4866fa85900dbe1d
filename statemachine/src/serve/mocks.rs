//! Step Functions Local's mock configuration file, read as it is:
//! `StateMachines` → `TestCases` (state name → mocked response name) and
//! `MockedResponses` (attempt key `"0"`, `"1-3"` → `Return` or `Throw`).
//! An execution uses a test case when its `StartExecution` names the state
//! machine as `arn…:stateMachine:Name#TestCase`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use serde_json::Value;

use crate::invoke::TaskFailure;

/// The whole file.
#[derive(Debug, Default)]
pub struct MockConfig {
    doc: Value,
}

impl MockConfig {
    pub fn from_path(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let doc: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::from_value(doc).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Checks the shape: every test case names responses that exist, and
    /// every response is `Return` or `Throw` under attempt keys.
    pub fn from_value(doc: Value) -> Result<Self, String> {
        let responses = doc
            .get("MockedResponses")
            .and_then(Value::as_object)
            .ok_or("no \"MockedResponses\" object")?;
        for (name, by_attempt) in responses {
            let by_attempt = by_attempt
                .as_object()
                .ok_or_else(|| format!("MockedResponses.{name} is not an object"))?;
            for (key, r) in by_attempt {
                attempt_range(key).ok_or_else(|| {
                    format!("MockedResponses.{name}: \"{key}\" is not an attempt number or range like \"1-3\"")
                })?;
                if r.get("Return").is_none() && r.get("Throw").is_none() {
                    return Err(format!(
                        "MockedResponses.{name}.{key} has neither Return nor Throw"
                    ));
                }
            }
        }
        let machines = doc
            .get("StateMachines")
            .and_then(Value::as_object)
            .ok_or("no \"StateMachines\" object")?;
        for (machine, m) in machines {
            let cases = m.get("TestCases").and_then(Value::as_object);
            for (case, states) in cases.into_iter().flatten() {
                for (state, response) in states.as_object().into_iter().flatten() {
                    let r = response.as_str().unwrap_or_default();
                    if !responses.contains_key(r) {
                        return Err(format!(
                            "StateMachines.{machine}.TestCases.{case}.{state} names \"{r}\", which MockedResponses does not have"
                        ));
                    }
                }
            }
        }
        Ok(MockConfig { doc })
    }

    /// Whether the file has `machine`'s test case `case`.
    pub(crate) fn has_case(&self, machine: &str, case: &str) -> bool {
        self.doc
            .pointer(&format!(
                "/StateMachines/{}/TestCases/{}",
                escape(machine),
                escape(case)
            ))
            .is_some()
    }

    /// The mocked answer for the `attempt`-th call (from 0) of `state`.
    fn answer(
        &self,
        machine: &str,
        case: &str,
        state: &str,
        attempt: u32,
    ) -> Option<Result<Value, TaskFailure>> {
        let cases = self.doc.pointer(&format!(
            "/StateMachines/{}/TestCases/{}",
            escape(machine),
            escape(case)
        ))?;
        let response = cases.get(state)?.as_str()?;
        let by_attempt = self
            .doc
            .get("MockedResponses")?
            .get(response)?
            .as_object()?;
        let r = by_attempt.iter().find_map(|(k, v)| {
            let (lo, hi) = attempt_range(k)?;
            (lo..=hi).contains(&attempt).then_some(v)
        })?;
        Some(match (r.get("Return"), r.get("Throw")) {
            (Some(v), _) => Ok(v.clone()),
            (None, Some(t)) => Err(TaskFailure::new(
                t.get("Error")
                    .and_then(Value::as_str)
                    .unwrap_or("States.TaskFailed"),
                t.get("Cause").and_then(Value::as_str).unwrap_or_default(),
            )),
            (None, None) => return None,
        })
    }
}

/// One execution's test case: counts each state's calls, across redrives
/// of the execution too.
pub(crate) struct TestCase {
    machine: String,
    case: String,
    calls: Mutex<HashMap<String, u32>>,
}

impl TestCase {
    pub(crate) fn new(machine: &str, case: &str) -> Self {
        TestCase {
            machine: machine.to_string(),
            case: case.to_string(),
            calls: Mutex::new(HashMap::new()),
        }
    }

    /// The answer for the next call of `state`, when the test case mocks it.
    pub(crate) fn next(
        &self,
        config: &MockConfig,
        state: &str,
    ) -> Option<Result<Value, TaskFailure>> {
        let mut calls = self.calls.lock().expect("calls");
        let n = calls.entry(state.to_string()).or_insert(0);
        let attempt = *n;
        *n += 1;
        config.answer(&self.machine, &self.case, state, attempt)
    }
}

/// `"3"` → (3, 3); `"1-3"` → (1, 3).
fn attempt_range(key: &str) -> Option<(u32, u32)> {
    match key.split_once('-') {
        Some((a, b)) => Some((a.trim().parse().ok()?, b.trim().parse().ok()?)),
        None => key.trim().parse().ok().map(|n| (n, n)),
    }
}

/// A JSON Pointer token.
fn escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config() -> MockConfig {
        MockConfig::from_value(json!({
            "StateMachines": {"M": {"TestCases": {"Happy": {"Call": "Flaky"}}}},
            "MockedResponses": {"Flaky": {
                "0-1": {"Throw": {"Error": "Lambda.ServiceException", "Cause": "busy"}},
                "2": {"Return": {"ok": true}}
            }}
        }))
        .expect("valid")
    }

    #[test]
    fn attempt_ranges_answer_in_call_order_then_stop() {
        // GIVEN a response that throws twice then returns
        let c = config();
        let case = TestCase::new("M", "Happy");
        // WHEN the state is called four times
        let answers: Vec<_> = (0..4).map(|_| case.next(&c, "Call")).collect();
        // THEN the first two throw, the third returns, the fourth has no mock
        assert_eq!(
            answers[0],
            Some(Err(TaskFailure::new("Lambda.ServiceException", "busy")))
        );
        assert_eq!(answers[1], answers[0]);
        assert_eq!(answers[2], Some(Ok(json!({"ok": true}))));
        assert_eq!(answers[3], None);
        assert_eq!(case.next(&c, "Other"), None);
    }

    #[test]
    fn a_test_case_naming_a_missing_response_is_refused() {
        let err = MockConfig::from_value(json!({
            "StateMachines": {"M": {"TestCases": {"T": {"S": "Nope"}}}},
            "MockedResponses": {}
        }))
        .unwrap_err();
        assert!(err.contains("\"Nope\""), "{err}");
    }
}
