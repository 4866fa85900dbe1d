//! What AWS refuses about query languages: a `QueryLanguage` other than
//! `JSONPath` or `JSONata`, or anywhere but the top level and a state;
//! a JSONPath state in a machine whose top level is JSONata; JSONPath-only
//! fields in a JSONata state and JSONata-only fields in a JSONPath one; a
//! `{% … %}` expression that does not parse.

use serde_json::Value;

use super::Ctx;
use crate::jsonata::{template_text, Expr};
use crate::model::State;

/// Fields only a JSONPath state has.
const JSONPATH_ONLY: &[&str] = &[
    "InputPath",
    "OutputPath",
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "ItemsPath",
    "SecondsPath",
    "TimestampPath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "MaxConcurrencyPath",
    "ToleratedFailureCountPath",
    "ToleratedFailurePercentagePath",
    "ErrorPath",
    "CausePath",
];

/// Fields only a JSONata state has.
const JSONATA_ONLY: &[&str] = &["Arguments", "Output"];

/// The fields of a JSONata state in which AWS evaluates `{% %}` expressions.
const EVALUATED: &[&str] = &[
    "Arguments",
    "Output",
    "Assign",
    "Items",
    "ItemSelector",
    "ItemBatcher",
    "MaxConcurrency",
    "ToleratedFailureCount",
    "ToleratedFailurePercentage",
    "Seconds",
    "Timestamp",
    "TimeoutSeconds",
    "HeartbeatSeconds",
    "Error",
    "Cause",
    "Credentials",
    "Choices",
    "Catch",
];

fn language_ok(v: &Value) -> bool {
    matches!(v.as_str(), Some("JSONPath" | "JSONata"))
}

/// The definition as written: `QueryLanguage`'s values and places.
pub(super) fn check_definition(def: &Value, c: &mut Ctx<'_>) {
    if let Some(ql) = def.get("QueryLanguage") {
        if !language_ok(ql) {
            c.push(
                None,
                Some("QueryLanguage"),
                format!("QueryLanguage must be JSONPath or JSONata, not {ql}"),
            );
        }
    }
    let top_jsonata = def.get("QueryLanguage").and_then(Value::as_str) == Some("JSONata");
    walk(def, "", top_jsonata, true, c);
}

/// Every nested machine's states: a `QueryLanguage` on a branch or item
/// processor is misplaced, and JSONPath under a JSONata top level refused.
fn walk(machine: &Value, prefix: &str, top_jsonata: bool, top: bool, c: &mut Ctx<'_>) {
    if !top && machine.get("QueryLanguage").is_some() {
        c.errs.push(super::ValidationError {
            location: prefix.trim_end_matches('.').to_string(),
            state: None,
            field: Some("QueryLanguage".into()),
            message: "QueryLanguage belongs on the top level or on a state, not on a branch or item processor".into(),
            code: "SCHEMA_VALIDATION_FAILED",
        });
    }
    let Some(states) = machine.get("States").and_then(Value::as_object) else {
        return;
    };
    for (name, s) in states {
        if let Some(ql) = s.get("QueryLanguage") {
            let at = format!("{prefix}States.{name}");
            let problem = if !language_ok(ql) {
                Some(format!(
                    "QueryLanguage must be JSONPath or JSONata, not {ql}"
                ))
            } else if top_jsonata && ql == "JSONPath" {
                Some(
                    "a state cannot use JSONPath when the state machine's QueryLanguage is JSONata"
                        .to_string(),
                )
            } else {
                None
            };
            if let Some(message) = problem {
                c.errs.push(super::ValidationError {
                    location: at,
                    state: Some(name.clone()),
                    field: Some("QueryLanguage".into()),
                    message,
                    code: "SCHEMA_VALIDATION_FAILED",
                });
            }
        }
        for (i, b) in s
            .get("Branches")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            walk(
                b,
                &format!("{prefix}States.{name}.Branches[{i}]."),
                top_jsonata,
                false,
                c,
            );
        }
        for field in ["ItemProcessor", "Iterator"] {
            if let Some(p) = s.get(field) {
                walk(
                    p,
                    &format!("{prefix}States.{name}.{field}."),
                    top_jsonata,
                    false,
                    c,
                );
            }
        }
    }
}

/// One parsed state: its fields against its language, its expressions.
pub(super) fn check_state(s: &State, c: &mut Ctx<'_>) {
    let name = &*s.name;
    let (refused, language) = if s.jsonata {
        (JSONPATH_ONLY, "JSONata")
    } else {
        (JSONATA_ONLY, "JSONPath")
    };
    for field in refused {
        if s.get(field).is_some() {
            c.push(
                Some(name),
                Some(field),
                format!("a {language} state cannot have {field}"),
            );
        }
    }
    let lists = [
        ("Choices", "Condition", "Variable"),
        ("Catch", "Output", "ResultPath"),
    ];
    for (list, jsonata_field, jsonpath_field) in lists {
        for (i, r) in s
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let wrong = if s.jsonata {
                jsonpath_field
            } else {
                jsonata_field
            };
            if r.get(wrong).is_some() {
                c.push(
                    Some(name),
                    Some(&format!("{list}[{i}].{wrong}")),
                    format!("a {language} state cannot have {wrong} in {list}"),
                );
            }
            if s.jsonata && list == "Choices" && r.get("Condition").is_none() {
                c.push(
                    Some(name),
                    Some(&format!("Choices[{i}].Condition")),
                    "a JSONata Choice rule needs a Condition".into(),
                );
            }
        }
    }
    if s.jsonata {
        for field in EVALUATED {
            if let Some(v) = s.get(field) {
                expressions(v, field, name, c);
            }
        }
    }
}

/// Every `{% %}` string in `v` must parse.
fn expressions(v: &Value, at: &str, state: &str, c: &mut Ctx<'_>) {
    match v {
        Value::String(text) => {
            if let Some(expr) = template_text(text) {
                if let Err(why) = Expr::parse(expr) {
                    c.push(
                        Some(state),
                        Some(at),
                        format!("the JSONata expression '{expr}' does not parse: {why}"),
                    );
                }
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                expressions(x, &format!("{at}[{i}]"), state, c);
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                expressions(x, &format!("{at}.{k}"), state, c);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::model::StateMachine;
    use crate::validate::validate;

    fn errors(def: serde_json::Value) -> Vec<String> {
        validate(&StateMachine::from_value(def).unwrap())
            .iter()
            .map(|e| format!("{} [{}]", e, e.code))
            .collect()
    }

    #[test]
    fn given_definitions_shaped_like_the_public_samples_when_validated_then_they_are_accepted() {
        // A JSONata Choice with Condition, Arguments on lambda:invoke, and a
        // Map whose item processor mixes a JSONPath state into a JSONPath machine.
        let choice = json!({"QueryLanguage": "JSONata", "StartAt": "Check", "States": {
            "Check": {"Type": "Choice", "Choices": [
                {"Condition": "{% $states.input.total > 100 %}", "Next": "Big",
                 "Assign": {"big": true}, "Output": {"t": "{% $states.input.total %}"}}],
                "Default": "Small"},
            "Big": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                    "Arguments": {"FunctionName": "arn:aws:lambda:us-east-1:1:function:f",
                                  "Payload": "{% $states.input %}"},
                    "Output": "{% $states.result.Payload %}",
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Output": "{% $states.errorOutput %}", "Next": "Small"}],
                    "End": true},
            "Small": {"Type": "Succeed"}}});
        assert_eq!(errors(choice), Vec::<String>::new());
        let mixed = json!({"StartAt": "M", "States": {"M": {"Type": "Map",
            "QueryLanguage": "JSONata", "Items": "{% $states.input.rows %}",
            "ItemProcessor": {"StartAt": "P", "States": {
                "P": {"Type": "Pass", "QueryLanguage": "JSONPath", "Parameters": {"v.$": "$"}, "End": true}}},
            "End": true}}});
        assert_eq!(errors(mixed), Vec::<String>::new());
    }

    #[test]
    fn given_jsonpath_fields_in_a_jsonata_state_when_validated_then_each_is_named() {
        let e = errors(
            json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                  "Parameters": {"a.$": "$"}, "ResultPath": "$.r", "End": true}}}),
        );
        assert!(
            e.iter()
                .any(|e| e.contains("'T'") && e.contains("Parameters")),
            "{e:?}"
        );
        assert!(e.iter().any(|e| e.contains("ResultPath")), "{e:?}");
    }

    #[test]
    fn given_jsonata_fields_in_a_jsonpath_state_when_validated_then_they_are_refused() {
        let e = errors(json!({"StartAt": "P", "States": {
            "P": {"Type": "Pass", "Output": "{% 1 %}", "End": true}}}));
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].contains("JSONPath state cannot have Output"), "{e:?}");
    }

    #[test]
    fn given_an_expression_that_does_not_parse_when_validated_then_state_and_field_are_named() {
        let e = errors(
            json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
            "P": {"Type": "Pass", "Output": {"x": "{% $states.input. %}"}, "End": true}}}),
        );
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].contains("state 'P', field 'Output.x'"), "{e:?}");
        assert!(e[0].contains("SCHEMA_VALIDATION_FAILED"), "{e:?}");
    }

    #[test]
    fn given_misplaced_or_mixed_query_languages_when_validated_then_they_are_refused() {
        let e = errors(
            json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
            "P": {"Type": "Pass", "QueryLanguage": "JSONPath", "End": true}}}),
        );
        assert!(e.iter().any(|e| e.contains("cannot use JSONPath")), "{e:?}");
        let e = errors(json!({"StartAt": "M", "States": {"M": {"Type": "Map",
            "ItemProcessor": {"QueryLanguage": "JSONata", "StartAt": "P",
                              "States": {"P": {"Type": "Pass", "End": true}}},
            "End": true}}}));
        assert!(
            e.iter().any(|e| e.contains("belongs on the top level")),
            "{e:?}"
        );
        let e = errors(json!({"QueryLanguage": "XPath", "StartAt": "P", "States": {
            "P": {"Type": "Pass", "End": true}}}));
        assert!(e.iter().any(|e| e.contains("JSONPath or JSONata")), "{e:?}");
    }
}
