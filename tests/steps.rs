//! Each step on its own, against the real simulator (HTTP) and the embedded
//! S3 server, with the same clients the Lambdas use.

use local_services::csvgen::CsvSpec;
use local_services::simulator::{Dialect, Gzip, SimConfig};
use pipeline_tests::{Harness, REPORTS_BUCKET, SITE_BUCKET};
use serde_json::{json, Value};

#[tokio::test]
async fn create_report_posts_the_configured_parameters_with_the_token_and_the_event_id() {
    // GIVEN an API that requires a bearer token
    let mut h = Harness::start(SimConfig {
        token: Some("s3cret-t0ken".into()),
        ..Default::default()
    })
    .await;
    h.set_env("REPORT_PARAMETERS", r#"{"kind": "daily", "region": "eu"}"#);

    // WHEN CreateReport runs on a scheduled event
    let out = h
        .create(json!({"id": "evt-42", "detail-type": "Scheduled Event", "detail": {}}))
        .await
        .unwrap();

    // THEN the report is requested once, with the parameters and the idempotency key
    let reports = h.sim.reports();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].params, json!({"kind": "daily", "region": "eu"}));
    assert_eq!(reports[0].idempotency_key.as_deref(), Some("evt-42"));
    assert_eq!(out["report_id"], reports[0].id.as_str());
    assert_eq!(out["status_url"], h.sim.status_url(&reports[0].id));
    assert_eq!(
        (out["poll_count"].as_u64(), out["max_polls"].as_u64()),
        (Some(0), Some(10))
    );
    assert!(
        !out.to_string().contains("s3cret-t0ken"),
        "the token leaked into the payload"
    );
}

#[tokio::test]
async fn create_report_retried_with_the_same_event_asks_for_the_same_report() {
    let h = Harness::start(SimConfig::default()).await;
    let first = h.create(json!({"id": "evt-1"})).await.unwrap();
    let second = h.create(json!({"id": "evt-1"})).await.unwrap();
    assert_eq!(first["report_id"], second["report_id"]);
    assert_eq!(h.sim.reports().len(), 1);
}

#[tokio::test]
async fn create_report_without_the_required_token_is_rejected_by_name() {
    let mut h = Harness::start(SimConfig {
        token: Some("t".into()),
        ..Default::default()
    })
    .await;
    h.token = None;
    let err = h.create(json!({})).await.unwrap_err();
    assert_eq!(err.error_type, "ReportApi.Rejected");
    assert!(err.error_message.contains("401"), "{}", err.error_message);
}

#[tokio::test]
async fn poll_report_moves_the_count_on_until_completed_and_then_returns_the_url() {
    let h = Harness::start(SimConfig {
        polls_to_complete: 2,
        ..Default::default()
    })
    .await;
    let handle = h.create(json!({})).await.unwrap();

    let first = h.poll(handle).await.unwrap();
    assert_eq!(
        (first["status"].as_str(), first["poll_count"].as_u64()),
        (Some("IN_PROGRESS"), Some(1))
    );
    assert_eq!(first["download_url"], Value::Null);
    let second = h.poll(first.clone()).await.unwrap();
    assert!(
        second["wait_seconds"].as_u64() > first["wait_seconds"].as_u64(),
        "the wait grows"
    );
    let third = h.poll(second).await.unwrap();
    assert_eq!(third["status"], "COMPLETED");
    assert_eq!(third["poll_count"], 3);
    let id = third["report_id"].as_str().unwrap();
    assert_eq!(third["download_url"], h.sim.download_url(id));
}

#[tokio::test]
async fn poll_report_speaks_a_configured_dialect() {
    // GIVEN an API that says "state": "running"/"done" and "file"
    let dialect = Dialect {
        status_field: "state".into(),
        in_progress: "running".into(),
        completed: "done".into(),
        failed: "broken".into(),
        download_url_field: "file".into(),
        ..Dialect::default()
    };
    let mut h = Harness::start(SimConfig {
        polls_to_complete: 1,
        dialect,
        ..Default::default()
    })
    .await;
    for (k, v) in [
        ("REPORT_STATUS_FIELD", "state"),
        ("REPORT_STATUS_IN_PROGRESS", "running"),
        ("REPORT_STATUS_COMPLETED", "done"),
        ("REPORT_STATUS_FAILED", "broken"),
        ("REPORT_DOWNLOAD_URL_FIELD", "file"),
    ] {
        h.set_env(k, v);
    }
    let done = h
        .poll_until_done(h.create(json!({})).await.unwrap())
        .await
        .unwrap();
    assert_eq!(done["status"], "COMPLETED");
    assert!(done["download_url"].as_str().unwrap().ends_with(".csv"));
}

#[tokio::test]
async fn poll_report_returns_failed_as_a_status_for_the_choice_to_route() {
    let h = Harness::start(SimConfig {
        polls_to_complete: 0,
        outcome: local_services::simulator::Outcome::Fail,
        ..Default::default()
    })
    .await;
    let out = h.poll(h.create(json!({})).await.unwrap()).await.unwrap();
    assert_eq!(out["status"], "FAILED");
    assert_eq!(out["download_url"], Value::Null);
}

async fn completed(h: &Harness) -> Value {
    let done = h
        .poll_until_done(h.create(json!({})).await.unwrap())
        .await
        .unwrap();
    assert_eq!(done["status"], "COMPLETED");
    done
}

#[tokio::test]
async fn download_report_streams_the_csv_into_s3_and_returns_only_its_key() {
    let spec = CsvSpec { rows: 500, seed: 3 };
    let h = Harness::start(SimConfig {
        polls_to_complete: 0,
        csv: spec,
        ..Default::default()
    })
    .await;
    let stored = h.download(completed(&h).await).await.unwrap();
    let id = stored["report_id"].as_str().unwrap();
    assert_eq!(stored["bucket"], REPORTS_BUCKET);
    assert_eq!(stored["key"], format!("reports/{id}.csv"));
    assert_eq!(stored["bytes"], spec.exact_len());
    assert_eq!(
        h.get(REPORTS_BUCKET, &format!("reports/{id}.csv"))
            .await
            .unwrap(),
        spec.to_bytes()
    );
    assert!(
        stored.to_string().len() < 512,
        "the payload carries keys, not data: {stored}"
    );
}

#[tokio::test]
async fn download_report_decompresses_gzip_sent_as_content_encoding_or_as_a_gz_file() {
    let spec = CsvSpec {
        rows: 300,
        seed: 11,
    };
    for gzip in [Gzip::ContentEncoding, Gzip::File] {
        let h = Harness::start(SimConfig {
            polls_to_complete: 0,
            csv: spec,
            gzip,
            ..Default::default()
        })
        .await;
        let stored = h.download(completed(&h).await).await.unwrap();
        let key = stored["key"].as_str().unwrap();
        assert_eq!(
            h.get(REPORTS_BUCKET, key).await.unwrap(),
            spec.to_bytes(),
            "{gzip:?}"
        );
    }
}

#[tokio::test]
async fn download_report_uploads_a_large_body_in_parts_and_leaves_no_open_upload() {
    // 20 MB: three 8 MiB parts.
    let spec = CsvSpec::for_size(20_000_000, 5);
    let h = Harness::start(SimConfig {
        polls_to_complete: 0,
        csv: spec,
        ..Default::default()
    })
    .await;
    let stored = h.download(completed(&h).await).await.unwrap();
    assert_eq!(stored["bytes"], spec.exact_len());
    let body = h
        .get(REPORTS_BUCKET, stored["key"].as_str().unwrap())
        .await
        .unwrap();
    assert!(
        body == spec.to_bytes(),
        "stored bytes differ from the served CSV"
    );
    assert_eq!(h.open_uploads(REPORTS_BUCKET).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_site_publishes_index_and_archive_with_html_headers() {
    let h = Harness::start(SimConfig {
        polls_to_complete: 0,
        csv: CsvSpec { rows: 20, seed: 1 },
        ..Default::default()
    })
    .await;
    let stored = h.download(completed(&h).await).await.unwrap();
    let published = h.update(stored).await.unwrap();
    let id = published["report_id"].as_str().unwrap();
    assert_eq!(published["index_key"], "index.html");
    assert_eq!(
        published["archive_key"],
        format!("reports/{id}/page-1.html")
    );
    assert_eq!(published["rows"], 20);

    let head = h
        .client
        .head_object()
        .bucket(SITE_BUCKET)
        .key("index.html")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("text/html; charset=utf-8"));
    assert_eq!(head.cache_control(), Some("public, max-age=60"));
    let archived = h
        .client
        .head_object()
        .bucket(SITE_BUCKET)
        .key(format!("reports/{id}/page-1.html"))
        .send()
        .await
        .unwrap();
    assert_eq!(archived.content_type(), Some("text/html; charset=utf-8"));
    assert_eq!(archived.cache_control(), Some("public, max-age=86400"));
    let gz = h
        .client
        .head_object()
        .bucket(SITE_BUCKET)
        .key(format!("reports/{id}/report.csv.gz"))
        .send()
        .await
        .unwrap();
    assert_eq!(gz.content_type(), Some("text/csv; charset=utf-8"));
    assert_eq!(gz.content_encoding(), Some("gzip"));
    assert_eq!(
        h.keys(SITE_BUCKET).await,
        vec![
            "archive.html".to_string(),
            "archive.json".to_string(),
            "assets/favicon.svg".to_string(),
            "assets/site.css".to_string(),
            "assets/site.js".to_string(),
            "feed.xml".to_string(),
            "index.html".to_string(),
            format!("reports/{id}/manifest.json"),
            format!("reports/{id}/page-1.html"),
            format!("reports/{id}/report.csv.gz"),
            format!("reports/{id}/rows.bin"),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_site_keeps_the_last_reports_and_deletes_older_ones_over_the_s3_protocol() {
    // GIVEN a retention of one report and one stored CSV
    let mut h = Harness::start(SimConfig {
        polls_to_complete: 0,
        csv: CsvSpec { rows: 5, seed: 1 },
        ..Default::default()
    })
    .await;
    h.set_env("SITE_KEEP_REPORTS", "1");
    let stored = h.download(completed(&h).await).await.unwrap();

    // WHEN two reports are published, the second newer
    for (i, id) in ["rpt-a", "rpt-b"].iter().enumerate() {
        let mut report = stored.clone();
        report["report_id"] = serde_json::json!(id);
        report["created_at"] = serde_json::json!(format!("2026-01-0{}T00:00:00Z", i + 1));
        h.update(report).await.unwrap();
    }

    // THEN only the newest is left, listed and deleted through S3
    let keys = h.keys(SITE_BUCKET).await;
    assert!(
        !keys.iter().any(|k| k.starts_with("reports/rpt-a/")),
        "{keys:?}"
    );
    assert!(
        keys.iter().any(|k| k.starts_with("reports/rpt-b/")),
        "{keys:?}"
    );
    let archive = String::from_utf8(h.get(SITE_BUCKET, "archive.html").await.unwrap()).unwrap();
    assert!(!archive.contains("rpt-a") && archive.contains("rpt-b"));
}
