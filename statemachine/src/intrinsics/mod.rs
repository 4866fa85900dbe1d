//! ASL intrinsic functions (`States.Format(...)`, `States.Hash(...)`, …):
//! a small parser for the call syntax and the function implementations.
//!
//! Arguments are literals (`'text'` with `\'`, `\{`, `\}` and `\\` escapes,
//! numbers, `true`/`false`/`null`), paths (`$.x`, `$$.x`, `$var`) or nested
//! calls. Paths are resolved by the caller through [`Resolver`], so this module
//! does not know about the context object or variables.

use base64::Engine as _;
use serde_json::{Map, Number, Value};

use crate::path::JsonPath;

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

fn want_args(name: &str, args: &[Value], n: usize) -> Result<(), String> {
    if args.len() != n {
        return Err(format!(
            "The intrinsic function {name} expects {n} arguments, but {} were given.",
            args.len()
        ));
    }
    Ok(())
}

fn as_int(name: &str, v: &Value) -> Result<i64, String> {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Ok(i)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.fract() == 0.0 {
                    Ok(f as i64)
                } else {
                    Err(format!(
                        "The intrinsic function {name} expects integer arguments."
                    ))
                }
            }
        }
        _ => Err(format!(
            "The intrinsic function {name} expects integer arguments."
        )),
    }
}

fn as_str<'v>(name: &str, v: &'v Value) -> Result<&'v str, String> {
    v.as_str()
        .ok_or_else(|| format!("The intrinsic function {name} expects a string argument."))
}

fn as_arr<'v>(name: &str, v: &'v Value) -> Result<&'v Vec<Value>, String> {
    v.as_array()
        .ok_or_else(|| format!("The intrinsic function {name} expects an array argument."))
}

/// A value as States.Format inserts it: AWS formats with Java's `toString`,
/// so strings are raw, objects read `{a=1, b=[]}` and arrays `[x, y]`.
fn format_piece(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(o) => {
            let parts: Vec<String> = o
                .iter()
                .map(|(k, v)| format!("{k}={}", format_piece(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        Value::Array(a) => {
            let parts: Vec<String> = a.iter().map(format_piece).collect();
            format!("[{}]", parts.join(", "))
        }
        other => other.to_string(),
    }
}

fn call(name: &str, args: Vec<Value>, _raw: &[Arg]) -> Result<Value, String> {
    match name {
        "States.Format" => {
            let template = args
                .first()
                .and_then(Value::as_str)
                .ok_or("The intrinsic function States.Format expects a string template.")?;
            let mut out = String::new();
            let mut it = args[1..].iter();
            let chars: Vec<char> = template.chars().collect();
            let mut i = 0;
            while i < chars.len() {
                match chars[i] {
                    '\\' if matches!(
                        chars.get(i + 1),
                        Some('{') | Some('}') | Some('\\') | Some('\'')
                    ) =>
                    {
                        out.push(chars[i + 1]);
                        i += 2;
                    }
                    '{' if chars.get(i + 1) == Some(&'}') => {
                        let v = it.next().ok_or(
                            "The number of arguments for States.Format does not match the number of placeholders.",
                        )?;
                        out.push_str(&format_piece(v));
                        i += 2;
                    }
                    c => {
                        out.push(c);
                        i += 1;
                    }
                }
            }
            if it.next().is_some() {
                return Err("The number of arguments for States.Format does not match the number of placeholders.".into());
            }
            Ok(Value::String(out))
        }
        "States.StringToJson" => {
            want_args(name, &args, 1)?;
            let s = as_str(name, &args[0])?;
            if s.trim().is_empty() {
                return Ok(Value::Null);
            }
            serde_json::from_str(s).map_err(|e| format!("Could not parse the string as JSON: {e}"))
        }
        "States.JsonToString" => {
            want_args(name, &args, 1)?;
            Ok(Value::String(
                serde_json::to_string(&args[0]).unwrap_or_default(),
            ))
        }
        "States.Array" => Ok(Value::Array(args)),
        "States.ArrayPartition" => {
            want_args(name, &args, 2)?;
            let arr = as_arr(name, &args[0])?;
            let size = as_int(name, &args[1])?;
            if size <= 0 {
                return Err(
                    "The chunk size for States.ArrayPartition must be greater than 0.".into(),
                );
            }
            Ok(Value::Array(
                arr.chunks(size as usize)
                    .map(|c| Value::Array(c.to_vec()))
                    .collect(),
            ))
        }
        "States.ArrayContains" => {
            want_args(name, &args, 2)?;
            let arr = as_arr(name, &args[0])?;
            Ok(Value::Bool(arr.iter().any(|x| json_eq(x, &args[1]))))
        }
        "States.ArrayRange" => {
            want_args(name, &args, 3)?;
            let (a, b, step) = (
                as_int(name, &args[0])?,
                as_int(name, &args[1])?,
                as_int(name, &args[2])?,
            );
            if step == 0 {
                return Err("The step for States.ArrayRange cannot be 0.".into());
            }
            let mut out = Vec::new();
            let mut i = a;
            while (step > 0 && i <= b) || (step < 0 && i >= b) {
                out.push(Value::from(i));
                if out.len() > 1000 {
                    return Err(
                        "States.ArrayRange cannot create an array with more than 1000 items."
                            .into(),
                    );
                }
                // Past i64 is past `b` too: the range ends there.
                match i.checked_add(step) {
                    Some(next) => i = next,
                    None => break,
                }
            }
            Ok(Value::Array(out))
        }
        "States.ArrayGetItem" => {
            want_args(name, &args, 2)?;
            let arr = as_arr(name, &args[0])?;
            let i = as_int(name, &args[1])?;
            arr.get(usize::try_from(i).map_err(|_| "negative index")?)
                .cloned()
                .ok_or_else(|| format!("The index {i} is out of bounds for States.ArrayGetItem."))
        }
        "States.ArrayLength" => {
            want_args(name, &args, 1)?;
            Ok(Value::from(as_arr(name, &args[0])?.len()))
        }
        "States.ArrayUnique" => {
            want_args(name, &args, 1)?;
            let mut out: Vec<Value> = Vec::new();
            for v in as_arr(name, &args[0])? {
                if !out.iter().any(|x| json_eq(x, v)) {
                    out.push(v.clone());
                }
            }
            Ok(Value::Array(out))
        }
        "States.Base64Encode" => {
            want_args(name, &args, 1)?;
            let s = as_str(name, &args[0])?;
            Ok(Value::String(
                base64::engine::general_purpose::STANDARD.encode(s.as_bytes()),
            ))
        }
        "States.Base64Decode" => {
            want_args(name, &args, 1)?;
            let s = as_str(name, &args[0])?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(s.as_bytes())
                .map_err(|e| format!("Invalid base64 input: {e}"))?;
            Ok(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        }
        "States.Hash" => {
            want_args(name, &args, 2)?;
            let data = match &args[0] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let algo = as_str(name, &args[1])?;
            Ok(Value::String(hash(algo, data.as_bytes())?))
        }
        "States.JsonMerge" => {
            want_args(name, &args, 3)?;
            let (Some(a), Some(b)) = (args[0].as_object(), args[1].as_object()) else {
                return Err("The intrinsic function States.JsonMerge expects JSON objects.".into());
            };
            if args[2] != Value::Bool(false) {
                return Err("States.JsonMerge only supports a shallow merge (the third argument must be false).".into());
            }
            let mut out: Map<String, Value> = a.clone();
            for (k, v) in b {
                out.insert(k.clone(), v.clone());
            }
            Ok(Value::Object(out))
        }
        "States.MathRandom" => {
            if args.len() != 2 && args.len() != 3 {
                return Err(
                    "The intrinsic function States.MathRandom expects 2 or 3 arguments.".into(),
                );
            }
            let (lo, hi) = (as_int(name, &args[0])?, as_int(name, &args[1])?);
            if hi <= lo {
                return Err("States.MathRandom: the end must be greater than the start.".into());
            }
            let seed = match args.get(2) {
                Some(s) => Some(as_int(name, s)? as u64),
                None => None,
            };
            let r = random_u64(seed);
            Ok(Value::from(lo + (r % (hi - lo) as u64) as i64))
        }
        "States.MathAdd" => {
            want_args(name, &args, 2)?;
            // AWS rounds non-integers like Java's Math.round (half up): -1.5 → -1, 1.5 → 2.
            let round = |v: &Value| -> Result<i64, String> {
                v.as_f64().map(|f| (f + 0.5).floor() as i64).ok_or_else(|| {
                    format!("The intrinsic function {name} expects integer arguments.")
                })
            };
            Ok(Value::from(round(&args[0])? + round(&args[1])?))
        }
        "States.StringSplit" => {
            want_args(name, &args, 2)?;
            let s = as_str(name, &args[0])?;
            let d = as_str(name, &args[1])?;
            let parts: Vec<Value> = s
                .split(|c| d.contains(c))
                .filter(|p| !p.is_empty())
                .map(|p| Value::String(p.to_string()))
                .collect();
            Ok(Value::Array(parts))
        }
        "States.UUID" => {
            want_args(name, &args, 0)?;
            Ok(Value::String(uuid::Uuid::new_v4().to_string()))
        }
        other => Err(format!("Unsupported intrinsic function: {other}")),
    }
}

/// JSON equality with numbers compared by value (1 == 1.0).
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

pub(crate) fn hash(algo: &str, data: &[u8]) -> Result<String, String> {
    use sha2::Digest as _;
    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
    Ok(match algo {
        "MD5" => hex(&md5::Md5::digest(data)),
        "SHA-1" => hex(&sha1::Sha1::digest(data)),
        "SHA-256" => hex(&sha2::Sha256::digest(data)),
        "SHA-384" => hex(&sha2::Sha384::digest(data)),
        "SHA-512" => hex(&sha2::Sha512::digest(data)),
        other => {
            return Err(format!(
                "The hash algorithm '{other}' is not supported; use MD5, SHA-1, SHA-256, SHA-384 or SHA-512."
            ))
        }
    })
}

/// Random bits: seeded (deterministic, splitmix64) or from the OS via uuid v4.
pub(crate) fn random_u64(seed: Option<u64>) -> u64 {
    match seed {
        Some(s) => {
            let mut z = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        None => uuid::Uuid::new_v4().as_u128() as u64,
    }
}

/// Random fraction in [0, 1) for retry jitter.
pub(crate) fn random_fraction() -> f64 {
    (random_u64(None) >> 11) as f64 / (1u64 << 53) as f64
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
