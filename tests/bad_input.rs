//! Bad input: each case fails with a clear, named error, never a panic, and
//! nothing is published (the page from an earlier run stays byte-identical,
//! no multipart upload is left open).

use local_services::simulator::{Fault, Route, SimConfig};
use pipeline_tests::{Harness, REPORTS_BUCKET, SITE_BUCKET};
use serde_json::{json, Value};

const PREVIOUS_PAGE: &[u8] = b"<!DOCTYPE html><title>yesterday</title>";

/// GIVEN a site that already shows yesterday's page and an API serving `body`.
async fn with_body(body: &'static [u8]) -> Harness {
    let h = Harness::start(SimConfig {
        polls_to_complete: 0,
        download_body: Some(bytes::Bytes::from_static(body)),
        ..Default::default()
    })
    .await;
    h.put(SITE_BUCKET, "index.html", PREVIOUS_PAGE).await;
    h
}

/// THEN nothing new is published and no upload is left open.
async fn assert_nothing_published(h: &Harness) {
    assert_eq!(
        h.get(SITE_BUCKET, "index.html").await.as_deref(),
        Some(PREVIOUS_PAGE),
        "index.html changed"
    );
    assert_eq!(
        h.keys(SITE_BUCKET).await,
        vec!["index.html".to_string()],
        "stray site objects"
    );
    assert_eq!(h.open_uploads(SITE_BUCKET).await, 0);
    assert_eq!(h.open_uploads(REPORTS_BUCKET).await, 0);
}

async fn chain_error(h: &Harness) -> lambda_runtime::Diagnostic {
    h.run_chain().await.expect_err("the chain must fail")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ragged_rows_fail_as_csv_malformed_naming_the_line() {
    let h = with_body(b"a,b,c\n1,2,3\n4,5\n").await;
    let err = chain_error(&h).await;
    assert_eq!(err.error_type, "Csv.Malformed");
    assert!(
        err.error_message.contains("line 3"),
        "{}",
        err.error_message
    );
    assert_nothing_published(&h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_fails_as_csv_malformed() {
    let h = with_body(b"name,city\nJos\xe9,Paris\n").await;
    let err = chain_error(&h).await;
    assert_eq!(err.error_type, "Csv.Malformed");
    assert!(err.error_message.contains("UTF-8"), "{}", err.error_message);
    assert_nothing_published(&h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_csv_body_fails_as_csv_malformed() {
    for body in [
        &b"<!DOCTYPE html><html><body>Service error</body></html>"[..],
        b"{\"error\": \"nope\"}",
        b"\x00\x01\x02binary",
    ] {
        let h = with_body(body).await;
        let err = chain_error(&h).await;
        assert_eq!(err.error_type, "Csv.Malformed", "{}", err.error_message);
        assert_nothing_published(&h).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_body_fails_as_csv_malformed() {
    let h = with_body(b"").await;
    let err = chain_error(&h).await;
    assert_eq!(err.error_type, "Csv.Malformed");
    assert!(err.error_message.contains("empty"), "{}", err.error_message);
    assert_nothing_published(&h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_url_answering_404_fails_as_download_gone() {
    let h = Harness::start(SimConfig {
        polls_to_complete: 0,
        faults: vec![(Route::Download, Fault::status(404))],
        ..Default::default()
    })
    .await;
    h.put(SITE_BUCKET, "index.html", PREVIOUS_PAGE).await;
    let err = chain_error(&h).await;
    assert_eq!(err.error_type, "Download.Gone");
    assert!(err.error_message.contains("404"), "{}", err.error_message);
    assert_nothing_published(&h).await;
    assert!(h.keys(REPORTS_BUCKET).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payload_that_is_not_json_fails_as_input_invalid() {
    // The runtime layer turns unparsable bytes into a marker the handlers refuse.
    let h = with_body(b"a\n1\n").await;
    let marker: Value =
        serde_json::from_slice(&shared::runtime::check_body(b"{\"report_id\": ").unwrap()).unwrap();
    for err in [
        h.create(marker.clone()).await.unwrap_err(),
        h.poll(marker.clone()).await.unwrap_err(),
        h.download(marker.clone()).await.unwrap_err(),
        h.update(marker).await.unwrap_err(),
    ] {
        assert_eq!(err.error_type, "Input.Invalid");
        assert!(
            err.error_message.contains("not JSON"),
            "{}",
            err.error_message
        );
    }
    assert_nothing_published(&h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payloads_missing_fields_or_of_the_wrong_type_fail_as_input_invalid_naming_the_field() {
    let h = with_body(b"a\n1\n").await;
    let poll = h.poll(json!({"report_id": "r1"})).await.unwrap_err();
    assert_eq!(poll.error_type, "Input.Invalid");
    assert!(
        poll.error_message.contains("status_url"),
        "{}",
        poll.error_message
    );
    let download = h
        .download(json!({"report_id": "r1", "status": "COMPLETED"}))
        .await
        .unwrap_err();
    assert_eq!(download.error_type, "Input.Invalid");
    let update = h.update(json!({"report_id": "r1", "bucket": "reports", "key": 5, "bytes": 1, "created_at": "2026-01-01T00:00:00Z"})).await.unwrap_err();
    assert_eq!(update.error_type, "Input.Invalid");
    assert!(
        update.error_message.contains("invalid type"),
        "{}",
        update.error_message
    );
    let create = h.create(json!([1, 2, 3])).await.unwrap_err();
    assert_eq!(create.error_type, "Input.Invalid");
    let traversal = h.update(json!({"report_id": "../index", "bucket": "reports", "key": "k", "bytes": 1, "created_at": "2026-01-01T00:00:00Z"})).await.unwrap_err();
    assert_eq!(traversal.error_type, "Input.Invalid");
    assert_nothing_published(&h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_api_is_a_transient_error_the_state_machine_retries() {
    let mut h = with_body(b"a\n1\n").await;
    // A port nothing listens on: bind one, then drop it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    h.set_env("REPORT_API_URL", &format!("http://127.0.0.1:{port}"));
    let err = h.create(json!({})).await.unwrap_err();
    assert_eq!(err.error_type, "ReportApi.Unavailable");
    assert!(
        err.error_message.contains("connect"),
        "{}",
        err.error_message
    );
}
