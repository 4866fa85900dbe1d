//! Mermaid `stateDiagram-v2` rendering of a state machine: transitions
//! (Next, Choice rules labelled with their condition, Default, Catch labelled
//! with the errors), terminal states to `[*]`, Parallel/Map as composite states.
//! The output is deterministic (definition order) so a README copy can be
//! checked for staleness by comparing text.

use serde_json::Value;

use crate::choice;
use crate::model::StateMachine;

/// Render `machine` as a Mermaid state diagram.
pub fn to_mermaid(machine: &StateMachine) -> String {
    let mut out = String::from("stateDiagram-v2\n");
    render(machine, "", 1, &mut out);
    out
}

/// A Mermaid-safe id: letters, digits and `_`, prefixed to keep nested scopes apart.
fn id(prefix: &str, name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{prefix}{clean}")
}

/// Labels must not contain characters Mermaid treats as syntax.
fn label(s: &str) -> String {
    s.replace(':', "#58;")
        .replace(';', "#59;")
        .replace('\n', " ")
}

fn render(m: &StateMachine, prefix: &str, depth: usize, out: &mut String) {
    let pad = "    ".repeat(depth);
    // Declare states whose id differs from their name, and composites.
    for s in &m.states {
        let sid = id(prefix, &s.name);
        if *sid != *s.name {
            out.push_str(&format!(
                "{pad}state \"{}\" as {sid}\n",
                s.name.replace('"', "'")
            ));
        }
        if !s.branches.is_empty() || s.processor.is_some() {
            out.push_str(&format!("{pad}state {sid} {{\n"));
            if let Some(p) = &s.processor {
                render(p, &format!("{sid}_"), depth + 1, out);
            }
            for (i, b) in s.branches.iter().enumerate() {
                if i > 0 {
                    out.push_str(&format!("{pad}    --\n"));
                }
                render(b, &format!("{sid}_b{i}_"), depth + 1, out);
            }
            out.push_str(&format!("{pad}}}\n"));
        }
    }
    out.push_str(&format!("{pad}[*] --> {}\n", id(prefix, &m.start_at)));
    for s in &m.states {
        let sid = id(prefix, &s.name);
        if let Some(n) = s.next() {
            out.push_str(&format!("{pad}{sid} --> {}\n", id(prefix, n)));
        }
        for r in s
            .get("Choices")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let (Some(n), Some(o)) = (r.get("Next").and_then(Value::as_str), r.as_object()) {
                out.push_str(&format!(
                    "{pad}{sid} --> {}: {}\n",
                    id(prefix, n),
                    label(&choice::describe(o))
                ));
            }
        }
        if let Some(d) = s.str("Default") {
            out.push_str(&format!("{pad}{sid} --> {}: Default\n", id(prefix, d)));
        }
        for c in s
            .get("Catch")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(n) = c.get("Next").and_then(Value::as_str) {
                let errs: Vec<&str> = c
                    .get("ErrorEquals")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                out.push_str(&format!(
                    "{pad}{sid} --> {}: {}\n",
                    id(prefix, n),
                    label(&format!("catch {}", errs.join(", ")))
                ));
            }
        }
        if s.is_end() || s.kind.is_terminal() {
            out.push_str(&format!("{pad}{sid} --> [*]\n"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_the_report_pipeline_when_rendered_then_every_transition_is_drawn() {
        let m = StateMachine::from_path(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("report-pipeline.asl.json"),
        )
        .unwrap();
        let d = to_mermaid(&m);
        assert!(d.starts_with("stateDiagram-v2\n"));
        assert!(d.contains("[*] --> CreateReport"));
        assert!(d.contains("IsReportReady --> DownloadReport: $.status == \"COMPLETED\""));
        assert!(d.contains("IsReportReady --> ReportTimedOut: $.poll_count >= $.max_polls"));
        assert!(d.contains("IsReportReady --> WaitForReport: Default"));
        assert!(d.contains("PollReport --> HasCause: catch States.ALL"));
        assert!(d.contains("Published --> [*]"));
        assert!(d.contains("PipelineFailed --> [*]"));
    }

    #[test]
    fn given_names_with_spaces_when_rendered_then_ids_are_sanitised_and_labelled() {
        let m = StateMachine::from_str(
            r#"{"StartAt": "Choice State", "States": {"Choice State": {"Type": "Succeed"}}}"#,
        )
        .unwrap();
        let d = to_mermaid(&m);
        assert!(d.contains("state \"Choice State\" as Choice_State"));
        assert!(d.contains("[*] --> Choice_State"));
    }
}
