//! Payload sizes against AWS's 256 KiB limit, measured without building the
//! JSON text: a cheap upper bound first, the exact count only when the bound
//! is over the limit.

use serde_json::Value;

use super::failure::Failure;

/// AWS's payload limit for state input/output: 256 KiB.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// `States.DataLimitExceeded` when `v` is over [`MAX_PAYLOAD_BYTES`]; `who`
/// names the state or task in the cause.
pub(super) fn check_size(who: &str, v: &Value, fatal: bool) -> Result<(), Failure> {
    if json_len_bound(v) <= MAX_PAYLOAD_BYTES || json_len(v) <= MAX_PAYLOAD_BYTES {
        return Ok(());
    }
    Err(Failure::data_limit_exceeded(who, fatal))
}

/// Counts the bytes serde_json writes, without keeping them.
struct ByteCounter(usize);

impl std::io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.0 += buf.len();
        Ok(())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An upper bound of [`json_len`] found without formatting anything: a
/// string takes at most 6 bytes per byte (`\u00XX`) plus quotes, an integer
/// at most 20 characters; other numbers are measured.
pub(super) fn json_len_bound(v: &Value) -> usize {
    fn string(s: &str) -> usize {
        s.len().saturating_mul(6).saturating_add(2)
    }
    match v {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(n) if n.is_i64() || n.is_u64() => 20,
        Value::Number(_) => json_len(v),
        Value::String(s) => string(s),
        Value::Array(a) => a.iter().fold(2usize, |acc, x| {
            acc.saturating_add(json_len_bound(x).saturating_add(1))
        }),
        Value::Object(o) => o.iter().fold(2usize, |acc, (k, x)| {
            acc.saturating_add(
                string(k)
                    .saturating_add(json_len_bound(x))
                    .saturating_add(2),
            )
        }),
    }
}

/// The length of `serde_json::to_string(v)` (0 when it cannot be serialized).
pub(super) fn json_len(v: &Value) -> usize {
    let mut c = ByteCounter(0);
    match serde_json::to_writer(&mut c, v) {
        Ok(()) => c.0,
        Err(_) => 0,
    }
}
