//! `ApiDialect::read_status` and `read_created` on arbitrary JSON: the
//! replies of an outside reporting API.
//!
//! The first input byte picks a dialect (the default one, a nested one with
//! dotted paths, and one whose word lists overlap); the rest is the JSON body.
//!
//! Properties: nothing panics; errors are non-empty messages; a reply read as
//! `COMPLETED` always carries a non-empty download URL, and any URL it carries
//! is non-empty; the status is the one its word maps to, with `completed`
//! taking precedence over `failed` over `in_progress`, the word found at the
//! field by name or else by dotted path (an independent lookup); a created
//! report has a non-empty id and status URL.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use shared::payload::ReportStatus;
use shared::report_api::ApiDialect;

fn dialect(pick: u8) -> ApiDialect {
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    match pick % 3 {
        0 => ApiDialect::default(),
        1 => ApiDialect {
            id_field: "data.id".into(),
            status_url_field: "links.self".into(),
            status_field: "data.state".into(),
            download_url_field: "data.links.csv".into(),
            in_progress: words(&["queued", "running"]),
            completed: words(&["done"]),
            failed: words(&["error", "cancelled"]),
        },
        _ => ApiDialect {
            id_field: "id".into(),
            status_url_field: "a.b.c".into(),
            status_field: "s".into(),
            download_url_field: "u".into(),
            in_progress: words(&["", "x"]),
            completed: words(&["x", "y"]),
            failed: words(&["y", ""]),
        },
    }
}

/// The field by exact name, else by dotted path.
fn field<'a>(body: &'a Value, name: &str) -> Option<&'a Value> {
    body.get(name).or_else(|| {
        let mut v = body;
        for part in name.split('.') {
            v = v.get(part)?;
        }
        Some(v)
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, json)) = data.split_first() else {
        return;
    };
    let Ok(body) = serde_json::from_slice::<Value>(json) else {
        return;
    };
    let d = dialect(pick);

    match d.read_status(&body) {
        Ok(reply) => {
            let word = field(&body, &d.status_field)
                .and_then(Value::as_str)
                .expect("a status was read, so its field is a string");
            let expected = if d.completed.iter().any(|w| w == word) {
                ReportStatus::Completed
            } else if d.failed.iter().any(|w| w == word) {
                ReportStatus::Failed
            } else {
                assert!(
                    d.in_progress.iter().any(|w| w == word),
                    "unknown word {word:?} accepted"
                );
                ReportStatus::InProgress
            };
            assert_eq!(reply.status, expected, "status for {word:?}");
            if let Some(url) = &reply.download_url {
                assert!(!url.is_empty(), "an empty download URL");
                assert_eq!(
                    field(&body, &d.download_url_field).and_then(Value::as_str),
                    Some(url.as_str())
                );
            }
            if reply.status == ReportStatus::Completed {
                assert!(
                    reply.download_url.is_some(),
                    "COMPLETED without a download URL"
                );
            }
        }
        Err(message) => assert!(!message.is_empty()),
    }

    match d.read_created(&body) {
        Ok(created) => {
            assert!(!created.report_id.is_empty(), "empty report id");
            assert!(!created.status_url.is_empty(), "empty status URL");
        }
        Err(message) => assert!(!message.is_empty()),
    }
});
