//! The whole chain in Rust: CreateReport → PollReport until ready →
//! DownloadReport → UpdateSite, against the simulator and the embedded S3.

use local_services::csvgen::CsvSpec;
use local_services::simulator::SimConfig;
use pipeline_tests::{html, Harness, SITE_BUCKET};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_a_report_ready_after_three_polls_when_the_chain_runs_then_the_page_shows_every_row()
{
    // GIVEN
    let spec = CsvSpec {
        rows: 1_000,
        seed: 7,
    };
    let h = Harness::start(SimConfig {
        polls_to_complete: 3,
        csv: spec,
        ..Default::default()
    })
    .await;

    // WHEN
    let published = h.run_chain().await.expect("the chain succeeds");

    // THEN
    assert_eq!(published["rows"], 1_000);
    assert_eq!(
        h.sim.reports()[0].polls,
        4,
        "three IN_PROGRESS answers, then COMPLETED"
    );
    let page =
        String::from_utf8(h.get(SITE_BUCKET, "index.html").await.expect("index.html")).unwrap();
    let first = h
        .get(SITE_BUCKET, published["archive_key"].as_str().unwrap())
        .await
        .expect("the report's first page");
    let first = String::from_utf8(first).unwrap();
    assert_eq!(
        html::rows(&page),
        html::rows(&first),
        "index.html is the report's first page"
    );
    assert_eq!(html::header(&page), spec.header());
    let id = published["report_id"].as_str().unwrap();
    let rows = h.site_rows(id).await;
    assert_eq!(rows.len(), 1_000);
    assert_eq!(html::stated_rows(&page), Some(1_000));
    for r in [0u64, 1, 2, 499, 998, 999] {
        assert_eq!(rows[r as usize], spec.row(r), "row {r}");
    }
    assert!(
        html::only_our_tags(&page),
        "raw markup from the data reached the page"
    );
    assert!(page.contains("<title>Daily sales – rows 1–"), "{page}");
    assert!(page.contains("Content-Security-Policy"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_a_header_only_csv_when_the_chain_runs_then_an_empty_table_is_published() {
    let h = Harness::start(SimConfig {
        polls_to_complete: 0,
        download_body: Some("id,name,amount\n".into()),
        ..Default::default()
    })
    .await;
    let published = h.run_chain().await.expect("a header-only CSV is valid");
    assert_eq!(published["rows"], 0);
    let page = String::from_utf8(h.get(SITE_BUCKET, "index.html").await.unwrap()).unwrap();
    assert_eq!(html::header(&page), ["id", "name", "amount"]);
    assert!(html::rows(&page).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_a_stored_report_its_profile_is_beside_it_and_its_download_is_copied_into_the_site() {
    // GIVEN a report large enough for several pages and upload parts
    let spec = CsvSpec::for_size(6 * 1024 * 1024, 11);
    let h = Harness::start(SimConfig {
        polls_to_complete: 0,
        csv: spec,
        ..Default::default()
    })
    .await;

    // WHEN the chain runs
    let published = h.run_chain().await.expect("the chain succeeds");

    // THEN the reports bucket holds the CSV, its download and its profile
    let id = published["report_id"].as_str().unwrap();
    let csv_key = format!("reports/{id}.csv");
    let csv = h
        .get(pipeline_tests::REPORTS_BUCKET, &csv_key)
        .await
        .unwrap();
    let profile = h
        .get(
            pipeline_tests::REPORTS_BUCKET,
            &format!("{csv_key}.profile.json"),
        )
        .await
        .expect("the profile");
    let profile: serde_json::Value = serde_json::from_slice(&profile).unwrap();
    assert_eq!(profile["rows"], spec.rows);
    // AND the site's download was copied inside S3 (UpdateSite used the
    // profile: without one it gzips and uploads the download itself)
    assert_eq!(h.s3.request_count(local_services::s3::S3Op::CopyObject), 1);
    // AND it is that CSV gzipped, with the site's headers rather than the
    // stored download's
    let key = format!("reports/{id}/report.csv.gz");
    let head = h
        .client
        .head_object()
        .bucket(SITE_BUCKET)
        .key(&key)
        .send()
        .await
        .expect("the download is published");
    assert_eq!(head.content_encoding(), Some("gzip"));
    assert_eq!(head.content_type(), Some("text/csv; charset=utf-8"));
    assert!(head.cache_control().is_some_and(|c| c.contains("max-age")));
    let gz = h.get(SITE_BUCKET, &key).await.unwrap();
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut unzipped).unwrap();
    assert!(unzipped == csv, "the download is not the stored CSV");
}
