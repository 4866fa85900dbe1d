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
