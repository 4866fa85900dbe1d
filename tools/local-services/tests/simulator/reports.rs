//! Creating, polling and downloading reports.

use super::*;

#[tokio::test]
async fn given_a_post_when_created_then_201_with_id_and_status_url_and_the_parameters_are_recorded()
{
    let sim = start(SimConfig::default()).await;
    let resp = http()
        .post(sim.create_url())
        .json(&json!({"from": "2024-01-01"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["report_id"], "rpt-000001");
    assert_eq!(
        body["status_url"],
        format!("{}/reports/rpt-000001", sim.base_url())
    );
    let reports = sim.reports();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].params, json!({"from": "2024-01-01"}));
    assert_eq!(sim.request_count(Route::Create), 1);
}

#[tokio::test]
async fn given_a_repeated_idempotency_key_when_posting_again_then_the_same_report_comes_back() {
    let sim = start(SimConfig::default()).await;
    let post = |key: &'static str| {
        let url = sim.create_url();
        async move {
            let r = http()
                .post(url)
                .header("Idempotency-Key", key)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            r.json::<Value>().await.unwrap()["report_id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let a = post("event-1").await;
    let b = post("event-1").await;
    let c = post("event-2").await;
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(sim.reports().len(), 2);
}

#[tokio::test]
async fn given_polls_to_complete_2_when_polled_then_two_in_progress_then_completed_with_a_download_url(
) {
    let sim = start(SimConfig {
        polls_to_complete: 2,
        ..Default::default()
    })
    .await;
    let id = create(&sim).await;
    for _ in 0..2 {
        let s = poll(&sim, &id).await;
        assert_eq!(s["status"], "IN_PROGRESS");
        assert_eq!(s["download_url"], Value::Null);
    }
    let s = poll(&sim, &id).await;
    assert_eq!(s["status"], "COMPLETED");
    assert_eq!(
        s["download_url"],
        format!("{}/files/{id}.csv", sim.base_url())
    );
    assert_eq!(sim.reports()[0].polls, 3);
}

#[tokio::test]
async fn given_outcome_fail_or_never_when_polled_then_failed_or_forever_in_progress() {
    let sim = start(SimConfig {
        polls_to_complete: 0,
        outcome: Outcome::Fail,
        ..Default::default()
    })
    .await;
    let id = create(&sim).await;
    assert_eq!(
        poll(&sim, &id).await,
        json!({"report_id": id, "status": "FAILED", "download_url": null})
    );

    sim.set_outcome(Outcome::Never);
    for _ in 0..5 {
        assert_eq!(poll(&sim, &id).await["status"], "IN_PROGRESS");
    }
}

#[tokio::test]
async fn given_an_unknown_report_id_when_polled_or_downloaded_then_404_json() {
    let sim = start(SimConfig::default()).await;
    for url in [sim.status_url("rpt-999999"), sim.download_url("rpt-999999")] {
        let resp = http().get(url).send().await.unwrap();
        assert_eq!(resp.status(), 404);
        assert!(resp.json::<Value>().await.unwrap()["message"]
            .as_str()
            .unwrap()
            .contains("rpt-999999"));
    }
}

#[tokio::test]
async fn given_a_completed_report_when_downloaded_then_text_csv_with_exact_length_and_the_generated_cells(
) {
    let spec = CsvSpec::new(1_500, 11);
    let sim = start(SimConfig {
        csv: spec,
        polls_to_complete: 0,
        ..Default::default()
    })
    .await;
    let id = create(&sim).await;
    let url = poll(&sim, &id).await["download_url"]
        .as_str()
        .unwrap()
        .to_string();
    let resp = http().get(url).send().await.unwrap();
    assert_eq!(resp.headers()["content-type"], "text/csv");
    assert_eq!(resp.content_length(), Some(spec.exact_len()));
    assert!(resp.headers().get("content-encoding").is_none());
    let body = resp.bytes().await.unwrap();
    let mut rdr = csv::Reader::from_reader(&body[..]);
    assert_eq!(
        rdr.headers().unwrap().iter().collect::<Vec<_>>(),
        spec.header()
    );
    for (r, rec) in rdr.records().enumerate() {
        let rec = rec.unwrap();
        assert_eq!(rec.iter().collect::<Vec<_>>(), spec.row(r as u64));
    }
}

#[tokio::test]
async fn given_gzip_content_encoding_when_downloaded_then_the_csv_is_gzipped_with_content_encoding()
{
    let spec = CsvSpec::new(500, 1);
    let sim = start(SimConfig {
        csv: spec,
        gzip: Gzip::ContentEncoding,
        ..Default::default()
    })
    .await;
    let id = create(&sim).await;
    let resp = http().get(sim.download_url(&id)).send().await.unwrap();
    assert!(sim.download_url(&id).ends_with(".csv"));
    assert_eq!(resp.headers()["content-type"], "text/csv");
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    assert_eq!(gunzip(&resp.bytes().await.unwrap()), spec.to_bytes());
}

#[tokio::test]
async fn given_gzip_as_file_when_completed_then_the_url_is_csv_gz_served_as_application_gzip() {
    let spec = CsvSpec::new(500, 2);
    let sim = start(SimConfig {
        csv: spec,
        gzip: Gzip::File,
        polls_to_complete: 0,
        ..Default::default()
    })
    .await;
    let id = create(&sim).await;
    let url = poll(&sim, &id).await["download_url"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(url.ends_with(&format!("/files/{id}.csv.gz")), "{url}");
    let resp = http().get(url).send().await.unwrap();
    assert_eq!(resp.headers()["content-type"], "application/gzip");
    assert!(resp.headers().get("content-encoding").is_none());
    assert_eq!(gunzip(&resp.bytes().await.unwrap()), spec.to_bytes());
}
