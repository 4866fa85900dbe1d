//! Hostile data and secrets: no executable content reaches the page, the
//! token never leaves the HTTP header, overlapping runs never go back in
//! time, and repeating a step repeats its result.

use std::io::Write;
use std::sync::{Arc, Mutex};

use local_services::simulator::SimConfig;
use offline_runner::local_run::{self, RunConfig};
use pipeline_tests::{Harness, SITE_BUCKET};
use serde_json::json;
use statemachine::ExecutionStatus;

/// Markup, attribute break-outs, URLs and Unicode tricks, in every place a
/// value from the report or the configuration reaches the page.
const XSS: &[&str] = &[
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "\"><svg onload=alert(1)>",
    "'><iframe src=javascript:alert(1)>",
    "javascript:alert(document.cookie)",
    "</td></tr></tbody></table><script>alert(1)</script>",
    "<!--",
    "]]><script>alert(1)</script>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "\u{FF1C}script\u{FF1E}alert(1)\u{FF1C}/script\u{FF1E}",
    "\u{202E}gnp.exe",
    "<scr\u{200B}ipt>alert(1)</scr\u{200B}ipt>",
    "<style>body{display:none}</style>",
    "<base href=//evil.example>",
    "<meta http-equiv=refresh content=0;url=//evil.example>",
];

/// The only tags the page template writes.
const OUR_TAGS: &[&str] = &[
    "!DOCTYPE", "html", "head", "meta", "title", "link", "script", "body", "header", "nav", "a",
    "main", "h1", "p", "code", "time", "span", "section", "table", "caption", "thead", "tbody",
    "tr", "th", "td", "details", "summary", "ol", "li", "footer",
];

fn csv_field(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Every `<` in the page opens one of our tags; no inline style or script,
/// the one script is ours, from the site's own assets.
fn assert_no_foreign_markup(page: &str) {
    for (i, _) in page.match_indices('<') {
        let rest = &page[i + 1..];
        let name: String = rest
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '!')
            .collect();
        assert!(
            OUR_TAGS.contains(&name.as_str()),
            "foreign markup <{name} at byte {i}: {}",
            &page[i..(i + 60).min(page.len())]
        );
    }
    assert!(!page.contains("<style"), "an inline style element");
    assert!(!page.contains(" style="), "an inline style attribute");
    for (i, _) in page.match_indices("<script") {
        let tag = &page[i..page[i..].find('>').map_or(page.len(), |e| i + e + 1)];
        assert!(
            tag.contains("assets/site.js\""),
            "a script that is not ours: {tag}"
        );
    }
    assert!(
        page.matches("<meta").count() <= 5,
        "an injected meta element"
    );
    assert!(!page.contains("<base"), "an injected base element");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xss_vectors_in_header_cells_and_title_yield_no_executable_content() {
    // GIVEN a report whose header and cells are XSS vectors, and a hostile title
    let header: Vec<String> = XSS.iter().map(|v| csv_field(v)).collect();
    let mut csv = header.join(",") + "\n";
    for shift in 0..XSS.len() {
        let row: Vec<String> = (0..XSS.len())
            .map(|c| csv_field(XSS[(c + shift) % XSS.len()]))
            .collect();
        csv.push_str(&(row.join(",") + "\n"));
    }
    let mut h = Harness::start(SimConfig {
        polls_to_complete: 0,
        download_body: Some(csv.into()),
        ..Default::default()
    })
    .await;
    h.set_env("SITE_TITLE", "Sales</title><script>alert(1)</script>");

    // WHEN it is published
    let published = h
        .run_chain()
        .await
        .expect("hostile text is still valid CSV");

    // THEN every page holds every value as text, and no markup of its own
    assert_eq!(published["rows"], XSS.len());
    let page = String::from_utf8(h.get(SITE_BUCKET, "index.html").await.unwrap()).unwrap();
    assert_no_foreign_markup(&page);
    let rows = pipeline_tests::html::rows(&page);
    assert_eq!(pipeline_tests::html::header(&page), XSS);
    assert_eq!(rows[0], XSS);
    assert!(
        page.contains("content=\"default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'\""),
        "the strict CSP is missing"
    );
    let id = published["report_id"].as_str().unwrap();
    for key in [format!("reports/{id}/page-1.html"), "archive.html".into()] {
        let other = String::from_utf8(h.get(SITE_BUCKET, &key).await.unwrap()).unwrap();
        assert_no_foreign_markup(&other);
        assert!(!other.contains("<script>alert"), "{key}");
    }
    // The feed is XML: the title is text there too.
    let feed = String::from_utf8(h.get(SITE_BUCKET, "feed.xml").await.unwrap()).unwrap();
    assert!(
        !feed.contains("<script>") && feed.contains("&#60;script&#62;"),
        "{feed}"
    );
    // The manifest is JSON: it gives back the very strings. (The page
    // script reads the rows from the download, and shows them as text: the
    // browser tests' "cells are text".)
    let manifest: serde_json::Value = serde_json::from_slice(
        &h.get(SITE_BUCKET, &format!("reports/{id}/manifest.json"))
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["title"], "Sales</title><script>alert(1)</script>");
    assert_eq!(manifest["columns"][0]["name"], XSS[0]);
}

/// A `tracing` writer that keeps everything the handlers log.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_token_never_appears_in_logs_payloads_history_or_error_causes() {
    const TOKEN: &str = "tok-7f3c9a1e-b0d4";
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    // Global: the handlers log from the runtime's worker threads.
    tracing::subscriber::set_global_default(subscriber)
        .expect("the only subscriber in this test binary");

    let dir = tempfile::tempdir().unwrap();
    let mut config = RunConfig {
        work_dir: dir.path().to_path_buf(),
        progress: false,
        ..Default::default()
    };
    config.sim.token = Some(TOKEN.into());
    config.env.insert("REPORT_API_TOKEN".into(), TOKEN.into());
    config.env.insert("HTTP_RETRY_BASE_MS".into(), "5".into());
    // A run that succeeds, and one that fails after the token was sent.
    let ok = local_run::run(&config).await.unwrap();
    assert_eq!(
        ok.execution.status,
        ExecutionStatus::Succeeded,
        "{:?}",
        ok.execution.cause
    );
    config.sim.faults.push((
        local_services::simulator::Route::Download,
        local_services::simulator::Fault::status(403),
    ));
    let failed = local_run::run(&config).await.unwrap();
    assert_eq!(failed.execution.error.as_deref(), Some("Download.Gone"));

    let mut seen = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        seen.contains("report requested") && seen.contains("report stored"),
        "the handlers' logs were not captured:\n{seen}"
    );
    for run in [&ok, &failed] {
        seen.push_str(&serde_json::to_string(&run.execution.history).unwrap());
        seen.push_str(&std::fs::read_to_string(&run.history_file).unwrap());
        seen.push_str(&format!(
            "{:?} {:?} {:?}",
            run.execution.output, run.execution.error, run.execution.cause
        ));
    }
    assert!(seen.len() > 1000, "nothing was captured");
    assert!(!seen.contains(TOKEN), "the token leaked");
    if let Some(i) = seen.find("7f3c9a1e") {
        panic!(
            "part of the token leaked: …{}…",
            &seen[i.saturating_sub(200)..(i + 50).min(seen.len())]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_earlier_run_never_overwrites_the_page_of_a_later_one() {
    // GIVEN two reports: the later run publishes first
    let h = Harness::start(SimConfig {
        polls_to_complete: 0,
        ..Default::default()
    })
    .await;
    let early = h
        .poll_until_done(h.create(json!({"id": "early"})).await.unwrap())
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let late = h
        .poll_until_done(h.create(json!({"id": "late"})).await.unwrap())
        .await
        .unwrap();
    let late_stored = h.download(late).await.unwrap();
    let early_stored = h.download(early).await.unwrap();
    let late_published = h.update(late_stored.clone()).await.unwrap();
    let page = h.get(SITE_BUCKET, "index.html").await.unwrap();

    // WHEN the earlier run's UpdateSite finishes after it
    let early_published = h
        .update(early_stored.clone())
        .await
        .expect("the earlier run still ends cleanly");

    // THEN the later page stays, the earlier one is archived only
    assert_eq!(late_published["index_updated"], true);
    assert_eq!(early_published["index_updated"], false);
    assert_eq!(h.get(SITE_BUCKET, "index.html").await.unwrap(), page);
    assert!(h
        .get(
            SITE_BUCKET,
            early_published["archive_key"].as_str().unwrap()
        )
        .await
        .is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_updates_race_and_the_newest_report_always_wins() {
    let h = Harness::start(SimConfig {
        polls_to_complete: 0,
        ..Default::default()
    })
    .await;
    let mut stored = Vec::new();
    for i in 0..4 {
        let done = h
            .poll_until_done(h.create(json!({"id": format!("evt-{i}")})).await.unwrap())
            .await
            .unwrap();
        stored.push(h.download(done).await.unwrap());
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    let newest = stored.last().unwrap()["report_id"]
        .as_str()
        .unwrap()
        .to_string();
    // WHEN all four publish at once, in reverse order of age
    let results = futures_join(&h, stored.iter().rev().cloned().collect()).await;
    // THEN all end cleanly and the index shows the newest report
    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
    let head = h
        .client
        .head_object()
        .bucket(SITE_BUCKET)
        .key("index.html")
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("report-id"))
            .map(String::as_str),
        Some(newest.as_str())
    );
}

async fn futures_join(
    h: &Harness,
    inputs: Vec<serde_json::Value>,
) -> Vec<Result<serde_json::Value, lambda_runtime::Diagnostic>> {
    let mut out = Vec::new();
    let futures: Vec<_> = inputs.into_iter().map(|i| h.update(i)).collect();
    for r in futures::future::join_all(futures).await {
        out.push(r);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_a_step_twice_with_the_same_input_leaves_the_same_result() {
    let h = Harness::start(SimConfig {
        polls_to_complete: 0,
        ..Default::default()
    })
    .await;
    let first_create = h.create(json!({"id": "evt-same"})).await.unwrap();
    let second_create = h.create(json!({"id": "evt-same"})).await.unwrap();
    assert_eq!(
        first_create["report_id"], second_create["report_id"],
        "one report for one scheduled event"
    );
    let done = h.poll_until_done(first_create).await.unwrap();

    let stored_once = h.download(done.clone()).await.unwrap();
    let keys_once = h.keys("reports").await;
    let stored_twice = h.download(done).await.unwrap();
    assert_eq!(stored_once, stored_twice);
    assert_eq!(h.keys("reports").await, keys_once);

    let mut published_once = h.update(stored_once.clone()).await.unwrap();
    let site_once = h.keys(SITE_BUCKET).await;
    let mut published_twice = h.update(stored_once).await.unwrap();
    assert_eq!(
        published_twice["index_updated"], true,
        "a repeat of the same report may republish it"
    );
    // The page states when it was generated; everything else is the same.
    for p in [&mut published_once, &mut published_twice] {
        p.as_object_mut().unwrap().remove("bytes");
    }
    assert_eq!(published_once, published_twice);
    assert_eq!(h.keys(SITE_BUCKET).await, site_once);
}
