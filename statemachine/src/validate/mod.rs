//! Static checks in the spirit of serverless-step-functions' `validate: true`
//! (which runs AWS's ASL validator): targets exist, every state is reachable,
//! some state ends the machine, required fields are present and mutually
//! exclusive fields are not combined; and, in `query_language.rs`, what
//! AWS's `ValidateStateMachineDefinition` refuses about query languages.
//! Messages name the state and the field; codes are AWS's diagnostic codes.

mod query_language;

use std::collections::{BTreeSet, VecDeque};

use serde_json::Value;

use crate::model::{State, StateMachine};

/// One problem in a definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// Where: `States.PollReport`, or `States.Fan.Branches[0].States.X` for nested states.
    pub location: String,
    /// The state concerned, when there is one.
    pub state: Option<String>,
    /// The field concerned, when there is one.
    pub field: Option<String>,
    pub message: String,
    /// AWS's diagnostic code (`SCHEMA_VALIDATION_FAILED`, `MISSING_END_STATE`, …).
    pub code: &'static str,
}

impl std::fmt::Display for ValidationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.state, &self.field) {
            (Some(s), Some(fl)) => write!(f, "state '{s}', field '{fl}': {}", self.message),
            (Some(s), None) => write!(f, "state '{s}': {}", self.message),
            (None, Some(fl)) => write!(f, "field '{fl}': {}", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

const TYPES: &[&str] = &[
    "Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map",
];

/// Check `machine` (and its nested branches and item processors).
pub fn validate(machine: &StateMachine) -> Vec<ValidationError> {
    let mut errs = Vec::new();
    query_language::check_definition(
        &machine.definition,
        &mut Ctx {
            prefix: "",
            errs: &mut errs,
        },
    );
    check_machine(machine, "", &mut errs);
    errs
}

struct Ctx<'a> {
    prefix: &'a str,
    errs: &'a mut Vec<ValidationError>,
}

impl Ctx<'_> {
    fn push(&mut self, state: Option<&str>, field: Option<&str>, message: String) {
        self.push_code("SCHEMA_VALIDATION_FAILED", state, field, message);
    }

    fn push_code(
        &mut self,
        code: &'static str,
        state: Option<&str>,
        field: Option<&str>,
        message: String,
    ) {
        let location = match state {
            Some(s) => format!("{}States.{s}", self.prefix),
            None => self.prefix.trim_end_matches('.').to_string(),
        };
        self.errs.push(ValidationError {
            location,
            state: state.map(str::to_string),
            field: field.map(str::to_string),
            message,
            code,
        });
    }
}

fn check_machine(m: &StateMachine, prefix: &str, errs: &mut Vec<ValidationError>) {
    let mut c = Ctx { prefix, errs };
    if m.states.is_empty() {
        c.push(
            None,
            Some("States"),
            "the state machine has no states".into(),
        );
        return;
    }
    if m.start_at.is_empty() {
        c.push(None, Some("StartAt"), "StartAt is required".into());
    } else if m.state(&m.start_at).is_none() {
        c.push(
            None,
            Some("StartAt"),
            format!("StartAt '{}' does not name a state", m.start_at),
        );
    }
    for s in &m.states {
        check_state(m, s, &mut c);
        query_language::check_state(s, &mut c);
    }
    // Reachability from StartAt.
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from([m.start_at.clone()]);
    while let Some(n) = queue.pop_front() {
        if !seen.insert(n.clone()) {
            continue;
        }
        if let Some(s) = m.state(&n) {
            for (_, t) in targets(s) {
                queue.push_back(t);
            }
        }
    }
    for s in &m.states {
        if !seen.contains(&*s.name) {
            c.push(
                Some(&s.name),
                None,
                "the state is not reachable from StartAt".into(),
            );
        }
    }
    let terminal = m.states.iter().any(|s| s.is_end() || s.kind.is_terminal());
    if !terminal {
        c.push_code(
            "MISSING_END_STATE",
            None,
            None,
            "no terminal state: at least one state needs End: true or Type Succeed/Fail".into(),
        );
    }
    for s in &m.states {
        for (i, b) in s.branches.iter().enumerate() {
            let p = format!("{prefix}States.{}.Branches[{i}].", s.name);
            check_machine(b, &p, errs);
        }
        if let Some(p) = &s.processor {
            let field = if s.get("ItemProcessor").is_some() {
                "ItemProcessor"
            } else {
                "Iterator"
            };
            let pre = format!("{prefix}States.{}.{field}.", s.name);
            check_machine(p, &pre, errs);
        }
    }
}

/// Every transition target of a state with the field it comes from.
fn targets(s: &State) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(n) = s.next() {
        out.push(("Next".to_string(), n.to_string()));
    }
    if let Some(d) = s.str("Default") {
        out.push(("Default".to_string(), d.to_string()));
    }
    for (i, r) in s
        .get("Choices")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(n) = r.get("Next").and_then(Value::as_str) {
            out.push((format!("Choices[{i}].Next"), n.to_string()));
        }
    }
    for (i, r) in s
        .get("Catch")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(n) = r.get("Next").and_then(Value::as_str) {
            out.push((format!("Catch[{i}].Next"), n.to_string()));
        }
    }
    out
}

fn exclusive(s: &State, c: &mut Ctx<'_>, fields: &[&str], exactly_one: bool) {
    let present: Vec<&str> = fields
        .iter()
        .copied()
        .filter(|f| s.get(f).is_some())
        .collect();
    if present.len() > 1 {
        c.push(
            Some(&s.name),
            Some(present[1]),
            format!(
                "{} are mutually exclusive; use only one",
                present.join(" and ")
            ),
        );
    } else if exactly_one && present.is_empty() {
        c.push(
            Some(&s.name),
            Some(fields[0]),
            format!("one of {} is required", fields.join(", ")),
        );
    }
}

fn check_state(m: &StateMachine, s: &State, c: &mut Ctx<'_>) {
    let name = &*s.name;
    if name.chars().count() > 80 {
        c.push_code(
            "INVALID_STATE_NAME",
            Some(name),
            None,
            "state names are limited to 80 characters".into(),
        );
    }
    let kind = s.kind.as_str();
    if kind.is_empty() {
        c.push(Some(name), Some("Type"), "Type is required".into());
        return;
    }
    if !TYPES.contains(&kind) {
        c.push(
            Some(name),
            Some("Type"),
            format!("unknown state type '{kind}'"),
        );
        return;
    }
    for (field, t) in targets(s) {
        if m.state(&t).is_none() {
            c.push(
                Some(name),
                Some(&field),
                format!("'{t}' does not name a state in this scope"),
            );
        }
    }
    let flows = matches!(kind, "Pass" | "Task" | "Wait" | "Parallel" | "Map");
    if flows {
        let has_next = s.get("Next").is_some();
        if has_next && s.is_end() {
            c.push(
                Some(name),
                Some("End"),
                "Next and End are mutually exclusive".into(),
            );
        } else if !has_next && !s.is_end() {
            c.push(
                Some(name),
                Some("Next"),
                "Next or End: true is required".into(),
            );
        }
    } else {
        for f in ["Next", "End"] {
            if s.get(f).is_some() {
                c.push(
                    Some(name),
                    Some(f),
                    format!("a {kind} state cannot have {f}"),
                );
            }
        }
    }
    match kind {
        "Task" => {
            if s.get("Resource").is_none() {
                c.push(
                    Some(name),
                    Some("Resource"),
                    "a Task needs a Resource".into(),
                );
            }
            exclusive(s, c, &["TimeoutSeconds", "TimeoutSecondsPath"], false);
            exclusive(s, c, &["HeartbeatSeconds", "HeartbeatSecondsPath"], false);
            if let (Some(h), Some(t)) = (
                s.get("HeartbeatSeconds").and_then(Value::as_f64),
                s.get("TimeoutSeconds").and_then(Value::as_f64),
            ) {
                if h >= t {
                    c.push(
                        Some(name),
                        Some("HeartbeatSeconds"),
                        "HeartbeatSeconds must be smaller than TimeoutSeconds".into(),
                    );
                }
            }
        }
        "Choice" => match s.get("Choices").and_then(Value::as_array) {
            Some(a) if !a.is_empty() => {
                for (i, r) in a.iter().enumerate() {
                    if r.get("Next").is_none() {
                        c.push(
                            Some(name),
                            Some(&format!("Choices[{i}].Next")),
                            "every Choice rule needs Next".into(),
                        );
                    }
                    if let Some(o) = r.as_object().filter(|_| !s.jsonata) {
                        if crate::choice::operator_of(o).is_none() {
                            c.push(
                                Some(name),
                                Some(&format!("Choices[{i}]")),
                                "the rule has no comparison operator".into(),
                            );
                        }
                    }
                }
            }
            _ => c.push(
                Some(name),
                Some("Choices"),
                "a Choice state needs a non-empty Choices array".into(),
            ),
        },
        "Wait" => exclusive(
            s,
            c,
            &["Seconds", "SecondsPath", "Timestamp", "TimestampPath"],
            true,
        ),
        "Fail" => {
            exclusive(s, c, &["Error", "ErrorPath"], false);
            exclusive(s, c, &["Cause", "CausePath"], false);
        }
        "Parallel"
            if s.get("Branches")
                .and_then(Value::as_array)
                .is_none_or(|b| b.is_empty()) =>
        {
            c.push(
                Some(name),
                Some("Branches"),
                "a Parallel state needs Branches".into(),
            );
        }
        "Map" => {
            exclusive(s, c, &["ItemProcessor", "Iterator"], true);
            exclusive(s, c, &["ItemSelector", "Parameters"], false);
            exclusive(s, c, &["MaxConcurrency", "MaxConcurrencyPath"], false);
            exclusive(
                s,
                c,
                &["ToleratedFailureCount", "ToleratedFailureCountPath"],
                false,
            );
            exclusive(
                s,
                c,
                &[
                    "ToleratedFailurePercentage",
                    "ToleratedFailurePercentagePath",
                ],
                false,
            );
        }
        _ => {}
    }
    if kind == "Pass" {
        exclusive(s, c, &["Result", "Parameters"], false);
    }
    for field in ["Retry", "Catch"] {
        if s.get(field).is_some() && !matches!(kind, "Task" | "Parallel" | "Map") {
            c.push(
                Some(name),
                Some(field),
                format!("a {kind} state cannot have {field}"),
            );
        }
    }
    for (field, list) in [("Retry", s.get("Retry")), ("Catch", s.get("Catch"))] {
        let Some(list) = list.and_then(Value::as_array) else {
            continue;
        };
        for (i, r) in list.iter().enumerate() {
            let errs = r.get("ErrorEquals").and_then(Value::as_array);
            match errs {
                Some(e) if !e.is_empty() => {
                    let all = e.iter().any(|x| x == "States.ALL");
                    if all && (e.len() > 1 || i + 1 != list.len()) {
                        c.push(
                            Some(name),
                            Some(&format!("{field}[{i}].ErrorEquals")),
                            "States.ALL must appear alone in the last retrier/catcher".into(),
                        );
                    }
                }
                _ => c.push(
                    Some(name),
                    Some(&format!("{field}[{i}].ErrorEquals")),
                    "ErrorEquals must be a non-empty array".into(),
                ),
            }
            if field == "Catch" && r.get("Next").is_none() {
                c.push(
                    Some(name),
                    Some(&format!("Catch[{i}].Next")),
                    "a catcher needs Next".into(),
                );
            }
            if field == "Retry" {
                if let Some(b) = r.get("BackoffRate").and_then(Value::as_f64) {
                    if b < 1.0 {
                        c.push(
                            Some(name),
                            Some(&format!("Retry[{i}].BackoffRate")),
                            "BackoffRate must be at least 1.0".into(),
                        );
                    }
                }
                if let Some(j) = r.get("JitterStrategy").and_then(Value::as_str) {
                    if j != "FULL" && j != "NONE" {
                        c.push(
                            Some(name),
                            Some(&format!("Retry[{i}].JitterStrategy")),
                            "JitterStrategy must be FULL or NONE".into(),
                        );
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errs(def: Value) -> Vec<ValidationError> {
        validate(&StateMachine::from_value(def).unwrap())
    }

    #[test]
    fn given_the_report_pipeline_when_validated_then_there_are_no_errors() {
        let m = StateMachine::from_path(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("report-pipeline.asl.json"),
        )
        .unwrap();
        assert_eq!(validate(&m), vec![]);
    }

    #[test]
    fn given_a_missing_next_target_when_validated_then_the_state_and_field_are_named() {
        let e = errs(json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Next": "Nope"}, "B": {"Type": "Succeed"}}}));
        assert!(e.iter().any(|e| e.state.as_deref() == Some("A")
            && e.field.as_deref() == Some("Next")
            && e.message.contains("Nope")));
        assert!(e
            .iter()
            .any(|e| e.state.as_deref() == Some("B") && e.message.contains("reachable")));
    }

    #[test]
    fn given_seconds_and_seconds_path_when_validated_then_they_are_reported_exclusive() {
        let e = errs(json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 1, "SecondsPath": "$.s", "End": true}}}));
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].state.as_deref(), Some("W"));
        assert!(e[0].to_string().contains("SecondsPath"));
    }

    #[test]
    fn given_no_terminal_state_when_validated_then_it_is_reported() {
        let e = errs(json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}}));
        assert!(e.iter().any(|e| e.message.contains("no terminal state")));
    }
}
