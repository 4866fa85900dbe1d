//! What a report costs in Lambda, from the CPU seconds the memory section's
//! children measured: Lambda gives a function CPU in proportion to its
//! memory (one full vCPU at 1,769 MB), so a CPU-bound handler's duration at
//! M MB is about its CPU seconds × 1,769 / M (never less than the CPU
//! seconds: these handlers use about one core), and the bill is that
//! duration × M in GB-seconds plus the request.

use crate::{human_size, Table};

/// Lambda on arm64 (us-east-1, 2026): per GB-second and per request.
const PRICE_GB_SECOND: f64 = 0.000_013_333_4;
const PRICE_REQUEST: f64 = 0.000_000_2;
/// Memory at which a function has one full vCPU.
const FULL_VCPU_MB: f64 = 1_769.0;
/// Lambda's limit on one invocation.
const MAX_SECONDS: f64 = 900.0;
pub(crate) const MEMORY_SIZES_MB: [f64; 3] = [128.0, 512.0, 1_769.0];

/// One measured invocation.
pub(crate) struct Measured {
    pub(crate) function: &'static str,
    pub(crate) bytes: u64,
    pub(crate) cpu_seconds: f64,
    /// What the embedded S3 server counted meanwhile (the S3 cost table).
    pub(crate) requests: crate::s3_cost::Requests,
}

/// Seconds an invocation of `cpu_seconds` takes at `memory_mb`.
pub(crate) fn duration(cpu_seconds: f64, memory_mb: f64) -> f64 {
    cpu_seconds * (FULL_VCPU_MB / memory_mb).max(1.0)
}

/// Dollars for one invocation of `seconds` at `memory_mb`.
pub(crate) fn cost(seconds: f64, memory_mb: f64) -> f64 {
    seconds * memory_mb / 1024.0 * PRICE_GB_SECOND + PRICE_REQUEST
}

pub(crate) fn print(rows: &[Measured]) {
    let mut headers = vec![
        "function".to_string(),
        "report".into(),
        "CPU s".into(),
        "CPU s per GB".into(),
    ];
    for m in MEMORY_SIZES_MB {
        headers.push(format!("{m} MB: duration, cost"));
    }
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    let mut table = Table::new(
        "Lambda cost of one report, from CPU seconds (arm64 prices)",
        &headers,
    );
    for r in rows {
        let gb = r.bytes as f64 / 1e9;
        let mut row = vec![
            r.function.to_string(),
            human_size(r.bytes),
            format!("{:.2}", r.cpu_seconds),
            format!("{:.1}", r.cpu_seconds / gb.max(1e-9)),
        ];
        for m in MEMORY_SIZES_MB {
            let d = duration(r.cpu_seconds, m);
            let over = if d > MAX_SECONDS {
                " (over 15 min)"
            } else {
                ""
            };
            row.push(format!("{d:.1} s, ${:.6}{over}", cost(d, m)));
        }
        table.row(row);
    }
    table.note(
        "CPU s = user + system time of the child process running the handler (the \
         memory section's run), read from /proc/self/stat; the embedded S3 server and the \
         simulator run in the parent and are not counted (on AWS they are S3 and the API). \
         Duration at M MB = CPU s x 1,769 / M (at least CPU s); cost = duration x M / 1,024 \
         GB-s x $0.0000133334 + $0.0000002 per request (arm64, us-east-1). An estimate for \
         CPU-bound work: waiting on S3 or the API adds duration at any size.",
    );
    table.print();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_cpu_seconds_then_smaller_functions_take_longer_and_a_full_vcpu_is_the_floor() {
        assert_eq!(duration(2.0, 1_769.0), 2.0);
        assert_eq!(duration(2.0, 3_538.0), 2.0);
        assert!((duration(2.0, 128.0) - 27.640625).abs() < 1e-9);
        // 1 s at 1,024 MB is 1 GB-s.
        assert!((cost(1.0, 1_024.0) - (PRICE_GB_SECOND + PRICE_REQUEST)).abs() < 1e-12);
    }
}
