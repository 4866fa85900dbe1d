//! ASL intrinsic functions (`States.Format(...)`, `States.Hash(...)`, …):
//! a small parser for the call syntax; `functions.rs` implements them.
//!
//! Arguments are literals (`'text'` with `\'`, `\{`, `\}` and `\\` escapes,
//! numbers, `true`/`false`/`null`), paths (`$.x`, `$$.x`, `$var`) or nested
//! calls. Paths are resolved by the caller through [`Resolver`], so this module
//! does not know about the context object or variables.

use serde_json::{Number, Value};

use crate::path::JsonPath;

mod functions;

use functions::call;
pub(crate) use functions::{hash, json_eq, random_fraction, random_u64};

/// Resolves a path argument; the error text becomes the `States.Runtime` cause.
pub(crate) type Resolver<'a> = &'a dyn Fn(&JsonPath) -> Result<Value, String>;

#[derive(Debug, Clone, PartialEq)]
enum Arg {
    Literal(Value),
    /// A path argument, parsed once (a parse error is reported when evaluated).
    Path(Result<JsonPath, String>),
    Call(String, Vec<Arg>),
}

/// A parsed intrinsic call, reusable across evaluations.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Intrinsic {
    call: Arg,
}

impl Intrinsic {
    /// Parse `expr` (the same errors [`evaluate`] reports for a malformed call).
    pub fn parse(expr: &str) -> Result<Intrinsic, String> {
        let chars: Vec<char> = expr.trim().chars().collect();
        let mut pos = 0;
        let call = parse_arg(&chars, &mut pos)?;
        skip_ws(&chars, &mut pos);
        if pos != chars.len() || !matches!(call, Arg::Call(..)) {
            return Err(format!("Invalid intrinsic function expression: {expr}"));
        }
        Ok(Intrinsic { call })
    }

    /// Evaluate the call, resolving path arguments with `resolve`.
    pub fn eval(&self, resolve: Resolver<'_>) -> Result<Value, String> {
        eval_arg(&self.call, resolve)
    }
}

/// True when `s` looks like an intrinsic call.
pub(crate) fn is_intrinsic(s: &str) -> bool {
    s.trim_start().starts_with("States.")
}

/// Parse and evaluate an intrinsic call expression (the executor parses
/// once and evaluates many times; tests do both at once).
#[cfg(test)]
fn evaluate(expr: &str, resolve: Resolver<'_>) -> Result<Value, String> {
    Intrinsic::parse(expr)?.eval(resolve)
}

fn skip_ws(c: &[char], pos: &mut usize) {
    while *pos < c.len() && c[*pos].is_whitespace() {
        *pos += 1;
    }
}

fn parse_arg(c: &[char], pos: &mut usize) -> Result<Arg, String> {
    skip_ws(c, pos);
    let Some(&first) = c.get(*pos) else {
        return Err("unexpected end of intrinsic expression".into());
    };
    if first == '\'' {
        *pos += 1;
        let mut s = String::new();
        loop {
            match c.get(*pos) {
                None => return Err("unterminated string literal".into()),
                Some('\\') => {
                    // Keep `\{`/`\}` escaped: States.Format must tell them from placeholders.
                    match c.get(*pos + 1) {
                        Some('{') | Some('}') => {
                            s.push('\\');
                            s.push(c[*pos + 1]);
                        }
                        Some(&x) => s.push(x),
                        None => return Err("unterminated string literal".into()),
                    }
                    *pos += 2;
                }
                Some('\'') => {
                    *pos += 1;
                    return Ok(Arg::Literal(Value::String(s)));
                }
                Some(&x) => {
                    s.push(x);
                    *pos += 1;
                }
            }
        }
    }
    // Read a token up to a top-level ',' or ')'; a call consumes its parentheses.
    let start = *pos;
    let mut depth = 0i32;
    let mut in_quote = false;
    while let Some(&ch) = c.get(*pos) {
        if in_quote {
            if ch == '\\' {
                *pos += 1;
            } else if ch == '\'' {
                in_quote = false;
            }
        } else if ch == '\'' {
            in_quote = true;
        } else if ch == '(' {
            if depth == 0
                && c[start..*pos]
                    .iter()
                    .collect::<String>()
                    .starts_with("States.")
            {
                break;
            }
            depth += 1;
        } else if ch == ')' {
            if depth == 0 {
                break;
            }
            depth -= 1;
        } else if ch == ',' && depth == 0 {
            break;
        }
        *pos += 1;
    }
    let token: String = c[start..*pos].iter().collect::<String>().trim().to_string();
    if token.starts_with("States.") && c.get(*pos) == Some(&'(') {
        *pos += 1;
        let mut args = Vec::new();
        skip_ws(c, pos);
        if c.get(*pos) == Some(&')') {
            *pos += 1;
            return Ok(Arg::Call(token, args));
        }
        loop {
            args.push(parse_arg(c, pos)?);
            skip_ws(c, pos);
            match c.get(*pos) {
                Some(',') => *pos += 1,
                Some(')') => {
                    *pos += 1;
                    return Ok(Arg::Call(token, args));
                }
                _ => return Err(format!("expected ',' or ')' in call to {token}")),
            }
        }
    }
    if token.starts_with('$') {
        return Ok(Arg::Path(JsonPath::parse(&token)));
    }
    match token.as_str() {
        "true" => Ok(Arg::Literal(Value::Bool(true))),
        "false" => Ok(Arg::Literal(Value::Bool(false))),
        "null" => Ok(Arg::Literal(Value::Null)),
        t => serde_json::from_str::<Number>(t)
            .map(|n| Arg::Literal(Value::Number(n)))
            .map_err(|_| format!("invalid intrinsic function argument: {t}")),
    }
}

fn eval_arg(arg: &Arg, resolve: Resolver<'_>) -> Result<Value, String> {
    match arg {
        Arg::Literal(Value::String(s)) => Ok(Value::String(s.clone())),
        Arg::Literal(v) => Ok(v.clone()),
        Arg::Path(Ok(path)) => resolve(path),
        Arg::Path(Err(e)) => Err(e.clone()),
        Arg::Call(name, args) => {
            let mut vals = Vec::with_capacity(args.len());
            for a in args {
                let v = eval_arg(a, resolve)?;
                // Only literal strings keep their `\{` escapes (for Format templates).
                let v = match (a, v) {
                    (Arg::Literal(_), v) if name != "States.Format" => unescape_braces(v),
                    (_, v) => v,
                };
                vals.push(v);
            }
            call(name, vals, args)
        }
    }
}

fn unescape_braces(v: Value) -> Value {
    match v {
        Value::String(s) => Value::String(s.replace("\\{", "{").replace("\\}", "}")),
        v => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(expr: &str, input: Value) -> Result<Value, String> {
        let resolve = |p: &JsonPath| p.read(&input).map_err(|e| e.message);
        evaluate(expr, &resolve)
    }

    #[test]
    fn given_format_with_placeholders_when_evaluated_then_strings_are_inserted_raw() {
        let v = eval(
            "States.Format('Hello {}, n={}', $.name, $.n)",
            json!({"name": "Ann", "n": 3}),
        );
        assert_eq!(v.unwrap(), json!("Hello Ann, n=3"));
    }

    #[test]
    fn given_nested_calls_when_evaluated_then_inner_results_feed_outer() {
        let v = eval(
            "States.MathAdd(States.MathAdd(1, 2), $.x)",
            json!({"x": -1}),
        );
        assert_eq!(v.unwrap(), json!(2));
        let v = eval("States.ArrayLength(States.Array('a', 'b', 'c'))", json!({}));
        assert_eq!(v.unwrap(), json!(3));
    }

    #[test]
    fn given_an_array_range_whose_next_step_passes_i64_then_the_range_ends_there() {
        // Found by the asl_execute fuzz target: `i += step` overflowed.
        let big = i64::MAX - 1;
        let v = eval(
            "States.ArrayRange($.a, $.b, $.step)",
            json!({"a": big - 2, "b": i64::MAX, "step": 2}),
        );
        assert_eq!(v.unwrap(), json!([big - 2, big]));
        let v = eval(
            "States.ArrayRange($.a, $.b, -2)",
            json!({"a": i64::MIN + 1, "b": i64::MIN}),
        );
        assert_eq!(v.unwrap(), json!([i64::MIN + 1]));
    }

    #[test]
    fn given_array_functions_when_evaluated_then_results_match_aws() {
        assert_eq!(
            eval(
                "States.ArrayPartition(States.ArrayRange(1, 5, 1), 2)",
                json!({})
            )
            .unwrap(),
            json!([[1, 2], [3, 4], [5]])
        );
        assert_eq!(
            eval("States.ArrayUnique($.a)", json!({"a": [1, 2, 1, 3]})).unwrap(),
            json!([1, 2, 3])
        );
        assert_eq!(
            eval("States.ArrayContains($.a, 2)", json!({"a": [1, 2]})).unwrap(),
            json!(true)
        );
    }

    #[test]
    fn given_hash_and_base64_when_evaluated_then_hex_and_base64_are_returned() {
        assert_eq!(
            eval("States.Hash('abc', 'SHA-256')", json!({})).unwrap(),
            json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert_eq!(
            eval("States.Base64Decode(States.Base64Encode('hi'))", json!({})).unwrap(),
            json!("hi")
        );
    }

    #[test]
    fn given_escaped_braces_when_formatting_then_they_are_literal() {
        assert_eq!(
            eval("States.Format('\\{x\\} {}', 1)", json!({})).unwrap(),
            json!("{x} 1")
        );
    }
}
