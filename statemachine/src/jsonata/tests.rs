//! The engine behind the module, and AWS's functions.

use serde_json::json;

use super::*;

fn eval(text: &str, input: Value) -> Result<Option<Value>, EvalError> {
    Expr::parse(text).unwrap().evaluate(Some(&input), &[])
}

#[test]
fn given_a_path_when_evaluated_then_it_reads_the_input() {
    assert_eq!(eval("a.b", json!({"a": {"b": 2}})).unwrap(), Some(json!(2)));
    assert_eq!(eval("missing", json!({})).unwrap(), None);
}

#[test]
fn given_bindings_when_evaluated_then_they_are_variables() {
    let states = json!({"input": {"x": 41}});
    let got = Expr::parse("$states.input.x + 1")
        .unwrap()
        .evaluate(None, &[("states", &states)])
        .unwrap();
    assert_eq!(got, Some(json!(42)));
}

#[test]
fn given_aws_functions_when_called_then_they_answer_as_aws_documents() {
    assert_eq!(
        eval("$partition([1,2,3,4,5], 2)", json!(null)).unwrap(),
        Some(json!([[1, 2], [3, 4], [5]]))
    );
    assert_eq!(
        eval("$range(0, 10, 5)", json!(null)).unwrap(),
        Some(json!([0, 5, 10]))
    );
    assert_eq!(
        eval("$hash('input data', 'SHA-1')", json!(null)).unwrap(),
        Some(json!("aaff4a450a104cd177d28d18d74485e8cae074b7"))
    );
    assert_eq!(
        eval("$parse('{\"a\": [1]}')", json!(null)).unwrap(),
        Some(json!({"a": [1]}))
    );
    let a = eval("$random(7)", json!(null)).unwrap();
    assert_eq!(a, eval("$random(7)", json!(null)).unwrap());
    let r = a.unwrap().as_f64().unwrap();
    assert!((0.0..1.0).contains(&r));
    let id = eval("$uuid()", json!(null)).unwrap().unwrap();
    assert_eq!(id.as_str().unwrap().len(), 36);
}

#[test]
fn given_eval_when_called_then_it_is_refused_as_in_step_functions() {
    let err = eval("$eval('1+1')", json!(null)).unwrap_err();
    assert!(err.message.contains("$eval"), "{err}");
}

#[test]
fn given_a_runaway_expression_when_evaluated_then_it_ends_with_an_error() {
    let expr = Expr::parse("($f := function($n){$f($n+1)}; $f(0))").unwrap();
    let limits = Limits {
        timeout_ms: 200,
        max_depth: Some(500),
    };
    assert!(expr.evaluate_with(None, &[], limits).is_err());
}

#[test]
fn given_template_strings_when_read_then_only_delimited_ones_are_expressions() {
    assert_eq!(template_text("{% $states.input %}"), Some("$states.input"));
    assert_eq!(template_text("plain"), None);
    assert_eq!(template_text("{% unterminated"), None);
}
