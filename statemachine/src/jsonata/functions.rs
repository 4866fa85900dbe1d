//! The functions Step Functions adds to JSONata, and the one it takes away.
//!
//! - `$partition(array, size)`: the array in chunks of `size`;
//! - `$range(start, end, step)`: numbers from `start` to `end` inclusive;
//! - `$hash(text, algorithm)`: hex digest (`MD5`, `SHA-1`, `SHA-256`, `SHA-384`, `SHA-512`);
//! - `$random([seed])`: a number in [0, 1), the same one for the same seed;
//! - `$uuid()`: a version 4 UUID;
//! - `$parse(text)`: JSON text to a value;
//! - `$eval` is not available in Step Functions.

use jsonata_core::evaluator::{Evaluator, EvaluatorError};
use jsonata_core::value::JValue;
use serde_json::Value;

use crate::intrinsics;

fn fail(msg: impl Into<String>) -> EvaluatorError {
    EvaluatorError::EvaluationError(msg.into())
}

fn json(args: &[JValue], i: usize) -> Value {
    args.get(i).map_or(Value::Null, Value::from)
}

fn number(args: &[JValue], i: usize, func: &str) -> Result<f64, EvaluatorError> {
    json(args, i)
        .as_f64()
        .ok_or_else(|| fail(format!("${func}: argument {} must be a number", i + 1)))
}

fn partition(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    let Value::Array(items) = json(args, 0) else {
        return Err(fail("$partition: the first argument must be an array"));
    };
    let size = number(args, 1, "partition")?;
    if size < 1.0 || size.fract() != 0.0 {
        return Err(fail(
            "$partition: the chunk size must be a positive integer",
        ));
    }
    let chunks: Vec<Value> = items
        .chunks(size as usize)
        .map(|c| Value::Array(c.to_vec()))
        .collect();
    Ok(JValue::from(Value::Array(chunks)))
}

/// AWS caps what `$range` may build, as it does `States.ArrayRange`.
const RANGE_MAX_ITEMS: f64 = 1000.0;

fn range(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    let (start, end, step) = (
        number(args, 0, "range")?,
        number(args, 1, "range")?,
        number(args, 2, "range")?,
    );
    if step == 0.0 {
        return Err(fail("$range: the step must not be 0"));
    }
    let count = ((end - start) / step).floor() + 1.0;
    if count > RANGE_MAX_ITEMS {
        return Err(fail(format!(
            "$range: the range would hold {count} items, more than {RANGE_MAX_ITEMS}"
        )));
    }
    let out: Vec<Value> = (0..count.max(0.0) as usize)
        .map(|i| {
            let x = start + step * i as f64;
            serde_json::Number::from_f64(x).map_or(Value::Null, |n| {
                if x.fract() == 0.0 && x.abs() < 9e15 {
                    Value::from(x as i64)
                } else {
                    Value::Number(n)
                }
            })
        })
        .collect();
    // AWS's $range gives a JSONata sequence, and a sequence of one is that one value.
    match <[Value; 1]>::try_from(out) {
        Ok([one]) => Ok(JValue::from(one)),
        Err(out) => Ok(JValue::from(Value::Array(out))),
    }
}

fn hash(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    let text = match json(args, 0) {
        Value::String(s) => s,
        other => other.to_string(),
    };
    let algo = json(args, 1);
    let algo = algo.as_str().unwrap_or("SHA-256");
    intrinsics::hash(algo, text.as_bytes())
        .map(JValue::from)
        .map_err(fail)
}

fn random(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    let seed = match args.first() {
        None => None,
        Some(v) => Some(
            Value::from(v)
                .as_f64()
                .ok_or_else(|| fail("$random: the seed must be a number"))?
                .to_bits(),
        ),
    };
    let bits = intrinsics::random_u64(seed);
    Ok(JValue::from_f64((bits >> 11) as f64 / (1u64 << 53) as f64))
}

fn uuid(_: &[JValue]) -> Result<JValue, EvaluatorError> {
    Ok(JValue::from(uuid::Uuid::new_v4().to_string()))
}

fn parse(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    let Value::String(text) = json(args, 0) else {
        return Err(fail("$parse: the argument must be a string"));
    };
    serde_json::from_str::<Value>(&text)
        .map(JValue::from)
        .map_err(|e| fail(format!("$parse: not JSON: {e}")))
}

fn eval_unsupported(_: &[JValue]) -> Result<JValue, EvaluatorError> {
    Err(fail(
        "The function $eval is not supported by Step Functions",
    ))
}

/// Registers AWS's functions on `ev` and removes `$eval`.
pub(crate) fn register(ev: &mut Evaluator) {
    let ok = [
        ev.register_fn("partition", partition),
        ev.register_fn("range", range),
        ev.register_fn("hash", hash),
        ev.register_fn("uuid", uuid),
        ev.register_fn("parse", parse),
        ev.register_fn_override("random", random),
        ev.register_fn_override("eval", eval_unsupported),
    ];
    for r in ok {
        // Each name is known not to collide; a new engine version that made one
        // collide is a bug to see at once, in every test.
        r.expect("AWS's JSONata functions register");
    }
}
