//! Unit tests of the dialect, the auth header and URL redaction.

use super::*;
use crate::payload::ReportStatus;
use crate::url_policy::redact_url;
use serde_json::json;
use std::collections::HashMap;

#[test]
fn default_dialect_reads_the_contract() {
    let d = ApiDialect::default();
    let r = d
        .read_status(&json!({"status": "IN_PROGRESS", "download_url": null}))
        .unwrap();
    assert_eq!(
        r,
        StatusReply {
            status: ReportStatus::InProgress,
            download_url: None
        }
    );
    let r = d
        .read_status(&json!({"status": "COMPLETED", "download_url": "https://x/y.csv"}))
        .unwrap();
    assert_eq!(r.download_url.as_deref(), Some("https://x/y.csv"));
}

#[test]
fn unknown_status_word_is_an_error_not_in_progress() {
    let err = ApiDialect::default()
        .read_status(&json!({"status": "PENDING"}))
        .unwrap_err();
    assert!(err.contains("PENDING"), "{err}");
}

#[test]
fn completed_without_url_is_an_error() {
    assert!(ApiDialect::default()
        .read_status(&json!({"status": "COMPLETED", "download_url": null}))
        .is_err());
}

#[test]
fn configured_dialect_maps_other_words_and_nested_fields() {
    let env = HashMap::from([
        ("REPORT_STATUS_FIELD", "data.state"),
        ("REPORT_STATUS_COMPLETED", "done, ready"),
        ("REPORT_STATUS_IN_PROGRESS", "queued,running"),
        ("REPORT_DOWNLOAD_URL_FIELD", "data.url"),
    ]);
    let d = ApiDialect::from_lookup(&env);
    let r = d
        .read_status(&json!({"data": {"state": "ready", "url": "https://h/f"}}))
        .unwrap();
    assert_eq!(r.status, ReportStatus::Completed);
    assert_eq!(
        d.read_status(&json!({"data": {"state": "queued"}}))
            .unwrap()
            .status,
        ReportStatus::InProgress
    );
}

#[test]
fn redacted_url_drops_the_query_string() {
    assert_eq!(
        redact_url("https://b/k.csv?X-Amz-Signature=abc"),
        "https://b/k.csv?…"
    );
}

#[test]
fn bearer_header_is_marked_sensitive() {
    let auth = Auth {
        header: reqwest::header::AUTHORIZATION,
        token: Secret::new("t0k"),
    };
    let v = auth.header_value();
    assert!(v.is_sensitive());
    assert_eq!(v.to_str().unwrap(), "Bearer t0k");
}
