//! A report of more than 50 MB through DownloadReport and UpdateSite: the
//! page is complete and correct. (Memory and speed are measured by the
//! benchmarks, not asserted here.)

use local_services::csvgen::CsvSpec;
use local_services::simulator::SimConfig;
use pipeline_tests::{html, Harness, SITE_BUCKET};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_50_mb_report_is_published_whole_with_every_row_and_correct_cells() {
    // GIVEN a 50 MB report
    let spec = CsvSpec::for_size(50 * 1024 * 1024, 2026);
    assert!(spec.exact_len() >= 50 * 1024 * 1024);
    let h = Harness::start(SimConfig {
        polls_to_complete: 1,
        csv: spec,
        ..Default::default()
    })
    .await;

    // WHEN the chain runs
    let published = h.run_chain().await.expect("the chain succeeds");

    // THEN every row is on the pages, in order, with the right cells
    assert_eq!(published["rows"].as_u64(), Some(spec.rows));
    let page = String::from_utf8(h.get(SITE_BUCKET, "index.html").await.unwrap())
        .expect("the page is UTF-8");
    assert_eq!(html::stated_rows(&page), Some(spec.rows));
    assert_eq!(html::header(&page), spec.header());
    let id = published["report_id"].as_str().unwrap();
    let rows = h.site_rows(id).await;
    assert_eq!(rows.len() as u64, spec.rows);
    let step = (spec.rows / 500).max(1);
    for r in (0..spec.rows).step_by(step as usize).chain([spec.rows - 1]) {
        assert_eq!(rows[r as usize], spec.row(r), "row {r}");
    }
    assert!(page.trim_end().ends_with("</html>"), "the page is complete");
    assert_eq!(h.open_uploads(SITE_BUCKET).await, 0);
}
