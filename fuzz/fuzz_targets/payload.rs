//! A step's payload, from raw bytes to each step's input type.
//!
//! The path of a real invocation: `shared::runtime::check_body` sees the raw
//! body first and swaps a body that is not JSON for a marker object; then
//! `lambda_runtime` deserializes the (possibly swapped) body into a
//! `serde_json::Value` exactly as below (`Deserializer::from_slice`, no end
//! check); then the handler calls `shared::payload::parse_input` for its type.
//!
//! Properties:
//! - nothing panics;
//! - every body that `check_body` lets through is one `lambda_runtime` can
//!   deserialize (otherwise the runtime reports the Rust type name
//!   `lambda_runtime::deserializer::DeserializeError` instead of
//!   `Input.Invalid`, which is what `check_body` exists to prevent);
//! - the marker is JSON, and `parse_input` of it is an `Err` saying "not JSON"
//!   for every step type;
//! - `parse_input` errors are non-empty messages; a value it accepts
//!   serializes back to JSON that parses to the same value (each type is one
//!   step's output and the next step's input).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::payload::{parse_input, CreateReportInput, PollOutcome, ReportHandle, StoredReport};
use shared::runtime::{check_body, MALFORMED_PAYLOAD_KEY};

/// What `lambda_runtime` 1.5 does with the body (`deserializer::deserialize`).
fn as_lambda_runtime(body: &[u8]) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(body);
    Value::deserialize(&mut de)
}

fn every_step(value: &Value) {
    step::<CreateReportInput>(value);
    step::<ReportHandle>(value);
    step::<PollOutcome>(value);
    step::<StoredReport>(value);
}

fn step<T>(value: &Value)
where
    T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug,
{
    let marked = value.get(MALFORMED_PAYLOAD_KEY).is_some();
    match parse_input::<T>(value.clone()) {
        Ok(parsed) => {
            assert!(!marked, "a marker object was accepted as a payload");
            let json = serde_json::to_string(&parsed).expect("serializes");
            let again: T = parse_input(serde_json::from_str(&json).expect("own output is JSON"))
                .unwrap_or_else(|e| panic!("own output {json} does not parse back: {e}"));
            assert_eq!(parsed, again, "round trip through {json}");
        }
        Err(message) => {
            assert!(!message.is_empty(), "an empty error message");
            if marked {
                assert!(message.contains("not JSON"), "marker error: {message}");
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    match check_body(data) {
        None => {
            let value = as_lambda_runtime(data).unwrap_or_else(|e| {
                panic!(
                    "check_body let through a body that lambda_runtime cannot deserialize \
                     ({e}): {:?}",
                    String::from_utf8_lossy(data)
                )
            });
            every_step(&value);
        }
        Some(marker) => {
            let value: Value = serde_json::from_slice(&marker).expect("the marker is JSON");
            assert!(
                value
                    .get(MALFORMED_PAYLOAD_KEY)
                    .is_some_and(Value::is_string),
                "marker shape: {value}"
            );
            for message in [
                parse_input::<CreateReportInput>(value.clone()).unwrap_err(),
                parse_input::<ReportHandle>(value.clone()).unwrap_err(),
                parse_input::<PollOutcome>(value.clone()).unwrap_err(),
                parse_input::<StoredReport>(value).unwrap_err(),
            ] {
                assert!(message.contains("not JSON"), "marker error: {message}");
            }
        }
    }
    // Values that are JSON but not what lambda_runtime would hand over (a
    // prefix of a longer document, say) still go through parse_input.
    if let Ok(value) = serde_json::from_slice::<Value>(data) {
        every_step(&value);
    }
});
