//! The intrinsic functions themselves (`States.Format`, `States.Array`,
//! `States.Hash`, …), called with their arguments already evaluated, and the
//! helpers the executor and JSONata share (`json_eq`, `hash`, random bits).

use base64::Engine as _;
use serde_json::{Map, Value};

use super::Arg;

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

pub(super) fn call(name: &str, args: Vec<Value>, _raw: &[Arg]) -> Result<Value, String> {
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
