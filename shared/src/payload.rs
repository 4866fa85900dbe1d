//! The JSON that flows between the states of the state machine.
//!
//! Each step reads the previous step's output, so every type here is both the
//! output of one Lambda and the input of the next. Fields the definition's
//! JSONPaths read (`$.status`, `$.poll_count`, `$.max_polls`, `$.wait_seconds`)
//! are always serialized, never skipped when empty: a Choice on an absent field
//! is a `States.Runtime` failure in production.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Input of CreateReport: an EventBridge scheduled event, `{}`, or
/// `{"parameters": {...}}` to override the configured report parameters.
///
/// Unknown fields are ignored on purpose: EventBridge adds fields over time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateReportInput {
    /// Report parameters sent as the POST body; the configured defaults when absent.
    #[serde(default)]
    pub parameters: Option<Map<String, Value>>,
    /// The EventBridge event id. Used as the idempotency key of the report
    /// request, so a retried CreateReport asks for the same report.
    #[serde(default)]
    pub id: Option<String>,
    /// The EventBridge event time (the scheduled time of this run).
    #[serde(default)]
    pub time: Option<DateTime<Utc>>,
}

/// A report that the reporting API accepted: CreateReport's output and
/// PollReport's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportHandle {
    pub report_id: String,
    pub status_url: String,
    pub created_at: DateTime<Utc>,
    /// Polls done so far: 0 from CreateReport, +1 per PollReport.
    pub poll_count: u32,
    /// The poll budget; the Choice fails the run with `Report.TimedOut` once
    /// `poll_count >= max_polls`.
    pub max_polls: u32,
    /// Seconds the Wait state sleeps before the next poll.
    pub wait_seconds: u64,
}

/// The status of a report, in the pipeline's own words whatever words the
/// reporting API uses (see `ApiDialect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReportStatus {
    InProgress,
    Completed,
    Failed,
}

impl ReportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportStatus::InProgress => "IN_PROGRESS",
            ReportStatus::Completed => "COMPLETED",
            ReportStatus::Failed => "FAILED",
        }
    }
}

/// PollReport's output: the handle with its counters moved on, plus the status.
/// It is also PollReport's next input (the Choice loops back through the Wait)
/// and DownloadReport's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PollOutcome {
    #[serde(flatten)]
    pub report: ReportHandle,
    pub status: ReportStatus,
    /// Always present: null until the report is completed.
    pub download_url: Option<String>,
}

/// DownloadReport's output and UpdateSite's input: where the CSV now lives.
/// Never the data itself (Step Functions caps payloads at 256 KiB).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredReport {
    pub report_id: String,
    pub created_at: DateTime<Utc>,
    pub bucket: String,
    pub key: String,
    /// Size of the stored (decompressed) CSV.
    pub bytes: u64,
}

/// UpdateSite's output: what was published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishedSite {
    pub report_id: String,
    pub bucket: String,
    pub index_key: String,
    pub archive_key: String,
    /// Data rows in the table (the header row not counted).
    pub rows: u64,
    /// Size of the HTML page.
    pub bytes: u64,
    /// False when `index.html` already showed a newer report (an overlapping
    /// run published first): this page was archived, the index left alone.
    pub index_updated: bool,
}

/// Parses a step's input, naming what is wrong (not JSON, missing field,
/// wrong type) instead of letting the runtime report a Rust type name.
pub fn parse_input<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, String> {
    if let Some(reason) = value.get(crate::runtime::MALFORMED_PAYLOAD_KEY) {
        return Err(format!(
            "the payload is not JSON: {}",
            reason.as_str().unwrap_or_default()
        ));
    }
    serde_json::from_value(value).map_err(|e| e.to_string())
}

/// Checks that a report id can be used as one S3 key segment and one URL path
/// segment. Report ids come from an outside API; an id like `../index` must
/// not pick where the pipeline writes.
pub fn check_report_id(id: &str) -> Result<&str, String> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(id)
    } else {
        Err(format!(
            "report_id {id:?} must be 1 to 128 characters of A-Z, a-z, 0-9, '-', '_' or '.'"
        ))
    }
}

/// Recognises bodies that are plainly not CSV (an HTML error page, JSON) from
/// their first bytes, so they fail with a clear error instead of being
/// published as a one-column table.
pub fn sniff_non_csv(head: &[u8]) -> Option<&'static str> {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map_or(&[][..], |i| &head[i..]);
    let lower: Vec<u8> = start.iter().take(16).map(u8::to_ascii_lowercase).collect();
    if lower.starts_with(b"<!doctype") || lower.starts_with(b"<html") || lower.starts_with(b"<?xml")
    {
        Some("HTML or XML")
    } else if lower.starts_with(b"{\"")
        || lower.starts_with(b"[{")
        || lower.starts_with(b"{\n")
        || lower.starts_with(b"{ ")
    {
        Some("JSON")
    } else if start.starts_with(b"\x1f\x8b") {
        Some("gzip data (not declared as gzip)")
    } else if start.starts_with(b"PK\x03\x04") {
        Some("a ZIP archive")
    } else if start.iter().take(512).any(|&b| b == 0) {
        Some("binary data")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_ids_that_could_escape_their_prefix_are_refused() {
        for bad in ["", "..", "a/b", "../index", "a b", "é"] {
            assert!(check_report_id(bad).is_err(), "{bad:?}");
        }
        assert!(check_report_id("rpt-000001").is_ok());
    }

    #[test]
    fn html_json_and_binary_bodies_are_recognised_as_not_csv() {
        assert_eq!(
            sniff_non_csv(b"  <!DOCTYPE html><p>oops"),
            Some("HTML or XML")
        );
        assert_eq!(sniff_non_csv(b"{\"error\": 1}"), Some("JSON"));
        assert_eq!(sniff_non_csv(b"a,b\x00c"), Some("binary data"));
        assert_eq!(sniff_non_csv(b"\xEF\xBB\xBFid,name\n1,x\n"), None);
    }

    #[test]
    fn poll_outcome_always_serializes_download_url_even_when_null() {
        let outcome = PollOutcome {
            report: ReportHandle {
                report_id: "r".into(),
                status_url: "http://x".into(),
                created_at: DateTime::<Utc>::from_timestamp(0, 0).unwrap(),
                poll_count: 1,
                max_polls: 3,
                wait_seconds: 5,
            },
            status: ReportStatus::InProgress,
            download_url: None,
        };
        let v = serde_json::to_value(&outcome).unwrap();
        assert_eq!(v["download_url"], Value::Null);
        assert_eq!(v["status"], "IN_PROGRESS");
        assert_eq!(v["poll_count"], 1);
    }
}
