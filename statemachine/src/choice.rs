//! Choice rules (JSONPath mode): comparison operators, their `…Path` forms,
//! the type tests (`IsNull`, `IsPresent`, …) and `And`/`Or`/`Not`.
//!
//! A comparison whose operand has the wrong type is simply false (that is how
//! AWS behaves: `StringEquals` on a number does not match), while a `Variable`
//! that does not exist is a `States.Runtime` error, except for `IsPresent`.

use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Value};

use crate::model::small_get;

/// Reads a path (`$…`, `$$…`, `$var`) for a rule; `Ok(None)` when it does not exist.
pub(crate) type PathReader<'a> = &'a dyn Fn(&str) -> Result<Option<Value>, String>;

const OPERATORS: &[&str] = &[
    "StringEquals",
    "StringLessThan",
    "StringGreaterThan",
    "StringLessThanEquals",
    "StringGreaterThanEquals",
    "StringMatches",
    "NumericEquals",
    "NumericLessThan",
    "NumericGreaterThan",
    "NumericLessThanEquals",
    "NumericGreaterThanEquals",
    "BooleanEquals",
    "TimestampEquals",
    "TimestampLessThan",
    "TimestampGreaterThan",
    "TimestampLessThanEquals",
    "TimestampGreaterThanEquals",
    "IsNull",
    "IsPresent",
    "IsNumeric",
    "IsString",
    "IsBoolean",
    "IsTimestamp",
];

/// The operator key of a rule (`StringEquals`, `NumericLessThanPath`, `And`, …).
pub(crate) fn operator_of(rule: &Map<String, Value>) -> Option<&str> {
    for k in rule.keys() {
        let base = k.strip_suffix("Path").unwrap_or(k);
        if OPERATORS.contains(&base) && k != "StringMatchesPath"
            || matches!(k.as_str(), "And" | "Or" | "Not")
        {
            return Some(k.as_str());
        }
    }
    None
}

/// Parse an ISO-8601 timestamp the way AWS accepts it (RFC 3339 with `T` and an offset).
pub(crate) fn parse_timestamp(s: &str) -> Option<DateTime<FixedOffset>> {
    if !s.contains('T') {
        return None;
    }
    DateTime::parse_from_rfc3339(s).ok()
}

/// Evaluate one rule.
pub(crate) fn evaluate(rule: &Map<String, Value>, read: PathReader<'_>) -> Result<bool, String> {
    if let Some(Value::Array(rules)) = small_get(rule, "And") {
        for r in rules {
            if !evaluate(as_rule(r)?, read)? {
                return Ok(false);
            }
        }
        return Ok(true);
    }
    if let Some(Value::Array(rules)) = small_get(rule, "Or") {
        for r in rules {
            if evaluate(as_rule(r)?, read)? {
                return Ok(true);
            }
        }
        return Ok(false);
    }
    if let Some(r) = small_get(rule, "Not") {
        return Ok(!evaluate(as_rule(r)?, read)?);
    }
    let op = operator_of(rule).ok_or("A Choice rule has no comparison operator.")?;
    let var_path = small_get(rule, "Variable")
        .and_then(Value::as_str)
        .ok_or("A Choice rule has no Variable.")?;
    let var = read(var_path)?;
    let operand = small_get(rule, op).unwrap_or_else(|| &rule[op]);
    if op == "IsPresent" {
        return Ok(var.is_some() == (operand == &Value::Bool(true)));
    }
    let Some(var) = var else {
        return Err(format!(
            "Invalid path '{var_path}': The choice state's condition path references an invalid value."
        ));
    };
    let expect = |v: bool| Ok(v == (operand == &Value::Bool(true)));
    match op {
        "IsNull" => return expect(var.is_null()),
        "IsNumeric" => return expect(var.is_number()),
        "IsString" => return expect(var.is_string()),
        "IsBoolean" => return expect(var.is_boolean()),
        "IsTimestamp" => {
            return expect(var.as_str().and_then(parse_timestamp).is_some());
        }
        _ => {}
    }
    let (base, rhs) = match op.strip_suffix("Path") {
        Some(base) => {
            let p = operand
                .as_str()
                .ok_or_else(|| format!("The {op} operand must be a path."))?;
            let v = read(p)?.ok_or_else(|| {
                format!("Invalid path '{p}': The choice state's condition path references an invalid value.")
            })?;
            (base, v)
        }
        None => (op, operand.clone()),
    };
    Ok(compare(base, &var, &rhs))
}

fn as_rule(v: &Value) -> Result<&Map<String, Value>, String> {
    v.as_object()
        .ok_or_else(|| "A Choice rule must be an object.".to_string())
}

fn compare(op: &str, var: &Value, rhs: &Value) -> bool {
    use std::cmp::Ordering::*;
    let ord_ok = |kind: &str, o: std::cmp::Ordering| match &op[kind.len()..] {
        "Equals" => o == Equal,
        "LessThan" => o == Less,
        "GreaterThan" => o == Greater,
        "LessThanEquals" => o != Greater,
        "GreaterThanEquals" => o != Less,
        _ => false,
    };
    if op == "StringMatches" {
        return match (var.as_str(), rhs.as_str()) {
            (Some(s), Some(p)) => wildcard_match(p, s),
            _ => false,
        };
    }
    if op.starts_with("String") {
        return match (var.as_str(), rhs.as_str()) {
            (Some(a), Some(b)) => ord_ok("String", a.cmp(b)),
            _ => false,
        };
    }
    if op.starts_with("Numeric") {
        return match (var.as_f64(), rhs.as_f64()) {
            (Some(a), Some(b)) => a.partial_cmp(&b).is_some_and(|o| ord_ok("Numeric", o)),
            _ => false,
        };
    }
    if op == "BooleanEquals" {
        return match (var.as_bool(), rhs.as_bool()) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        };
    }
    if op.starts_with("Timestamp") {
        return match (
            var.as_str().and_then(parse_timestamp),
            rhs.as_str().and_then(parse_timestamp),
        ) {
            (Some(a), Some(b)) => ord_ok("Timestamp", a.cmp(&b)),
            _ => false,
        };
    }
    false
}

/// `StringMatches`: `*` matches any run of characters; `\*` and `\\` are literal.
pub(crate) fn wildcard_match(pattern: &str, s: &str) -> bool {
    #[derive(PartialEq)]
    enum Tok {
        Star,
        Ch(char),
    }
    let mut toks = Vec::new();
    let mut it = pattern.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => {
                if let Some(n) = it.next() {
                    toks.push(Tok::Ch(n));
                }
            }
            '*' => toks.push(Tok::Star),
            c => toks.push(Tok::Ch(c)),
        }
    }
    let s: Vec<char> = s.chars().collect();
    // Classic greedy matcher with backtracking to the last star.
    let (mut p, mut i) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while i < s.len() {
        if p < toks.len() && toks[p] == Tok::Ch(s[i]) {
            p += 1;
            i += 1;
        } else if p < toks.len() && toks[p] == Tok::Star {
            star = Some(p);
            mark = i;
            p += 1;
        } else if let Some(sp) = star {
            p = sp + 1;
            mark += 1;
            i = mark;
        } else {
            return false;
        }
    }
    while p < toks.len() && toks[p] == Tok::Star {
        p += 1;
    }
    p == toks.len()
}

/// A short human label for a rule (used by the Mermaid diagram).
pub(crate) fn describe(rule: &Map<String, Value>) -> String {
    if let Some(Value::Array(rs)) = rule.get("And") {
        let parts: Vec<String> = rs
            .iter()
            .filter_map(Value::as_object)
            .map(describe)
            .collect();
        return format!("({})", parts.join(" and "));
    }
    if let Some(Value::Array(rs)) = rule.get("Or") {
        let parts: Vec<String> = rs
            .iter()
            .filter_map(Value::as_object)
            .map(describe)
            .collect();
        return format!("({})", parts.join(" or "));
    }
    if let Some(Value::Object(r)) = rule.get("Not") {
        return format!("not {}", describe(r));
    }
    let var = rule.get("Variable").and_then(Value::as_str).unwrap_or("?");
    let Some(op) = operator_of(rule) else {
        return var.to_string();
    };
    let rhs = match &rule[op] {
        Value::String(s) if op.ends_with("Path") => s.clone(),
        v => v.to_string(),
    };
    let base = op.strip_suffix("Path").unwrap_or(op);
    let sym = if base.ends_with("GreaterThanEquals") {
        ">="
    } else if base.ends_with("LessThanEquals") {
        "<="
    } else if base.ends_with("GreaterThan") {
        ">"
    } else if base.ends_with("LessThan") {
        "<"
    } else if base.ends_with("Equals") {
        "=="
    } else if base == "StringMatches" {
        "matches"
    } else {
        return format!("{base}({var}) == {rhs}");
    };
    format!("{var} {sym} {rhs}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(rule: Value, input: Value) -> Result<bool, String> {
        let read = |p: &str| -> Result<Option<Value>, String> {
            let path = crate::path::JsonPath::parse(p)?;
            Ok(path.read(&input).ok())
        };
        evaluate(rule.as_object().unwrap(), &read)
    }

    #[test]
    fn given_numeric_path_operator_when_values_compare_then_rule_matches() {
        let r = json!({"Variable": "$.a", "NumericGreaterThanEqualsPath": "$.b"});
        assert!(run(r.clone(), json!({"a": 3, "b": 3.0})).unwrap());
        assert!(!run(r, json!({"a": 2, "b": 3})).unwrap());
    }

    #[test]
    fn given_wrong_type_when_comparing_then_rule_is_false_not_an_error() {
        let r = json!({"Variable": "$.a", "StringEquals": "1"});
        assert!(!run(r, json!({"a": 1})).unwrap());
    }

    #[test]
    fn given_missing_variable_when_testing_is_present_then_false_otherwise_error() {
        assert!(!run(json!({"Variable": "$.x", "IsPresent": true}), json!({})).unwrap());
        assert!(run(json!({"Variable": "$.x", "NumericEquals": 1}), json!({})).is_err());
    }

    #[test]
    fn given_and_or_not_when_evaluated_then_boolean_logic_applies() {
        let r = json!({"And": [
            {"Not": {"Variable": "$.s", "StringEquals": "x"}},
            {"Or": [{"Variable": "$.n", "IsNull": true}, {"Variable": "$.s", "StringMatches": "a*c"}]}
        ]});
        assert!(run(r, json!({"s": "abbc", "n": 1})).unwrap());
    }

    #[test]
    fn given_timestamps_with_offsets_when_compared_then_instants_are_compared() {
        let r = json!({"Variable": "$.t", "TimestampLessThan": "2016-03-14T02:00:00+01:00"});
        assert!(run(r, json!({"t": "2016-03-14T00:59:00Z"})).unwrap());
        assert!(wildcard_match("log-*.txt", "log-2024.txt"));
        assert!(!wildcard_match("a\\*", "ab"));
    }
}
