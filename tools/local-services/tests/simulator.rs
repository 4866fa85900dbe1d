//! The reporting-API simulator, over real HTTP.

use local_services::csvgen::CsvSpec;
use local_services::simulator::{Dialect, Fault, Gzip, Outcome, Route, SimConfig, Simulator};
use serde_json::{json, Value};
use std::io::Read;
use std::time::{Duration, Instant};

async fn start(config: SimConfig) -> Simulator {
    Simulator::start(config).await.unwrap()
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

async fn create(sim: &Simulator) -> String {
    let resp = http()
        .post(sim.create_url())
        .json(&json!({"kind": "sales"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    resp.json::<Value>().await.unwrap()["report_id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn poll(sim: &Simulator, id: &str) -> Value {
    let resp = http().get(sim.status_url(id)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

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

#[tokio::test]
async fn given_a_bearer_token_when_a_request_lacks_it_then_401_and_with_it_then_served() {
    let sim = start(SimConfig {
        token: Some("s3cret".into()),
        ..Default::default()
    })
    .await;
    let resp = http()
        .post(sim.create_url())
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let resp = http()
        .post(sim.create_url())
        .bearer_auth("wrong")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let resp = http()
        .post(sim.create_url())
        .bearer_auth("s3cret")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let resp = http()
        .get(sim.status_url("rpt-000001"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "status route is protected too");
    assert_eq!(
        sim.request_count(Route::Create),
        3,
        "unauthorized requests are counted"
    );
}

#[tokio::test]
async fn given_an_api_key_header_when_the_raw_token_is_in_it_then_served() {
    let sim = start(SimConfig {
        token: Some("k".into()),
        token_header: Some("x-api-key".into()),
        ..Default::default()
    })
    .await;
    let resp = http()
        .post(sim.create_url())
        .bearer_auth("k")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let resp = http()
        .post(sim.create_url())
        .header("x-api-key", "k")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
}

#[tokio::test]
async fn given_a_custom_dialect_when_polled_then_its_field_names_and_words_are_used() {
    let dialect = Dialect {
        status_field: "state".into(),
        in_progress: "running".into(),
        completed: "done".into(),
        failed: "error".into(),
        download_url_field: "url".into(),
        ..Default::default()
    };
    let sim = start(SimConfig {
        dialect,
        ..Default::default()
    })
    .await;
    let id = create(&sim).await;
    let s = poll(&sim, &id).await;
    assert_eq!((&s["state"], &s["url"]), (&json!("running"), &Value::Null));
    assert!(s.get("status").is_none());
    let s = poll(&sim, &id).await;
    assert_eq!(s["state"], "done");
    assert_eq!(s["url"], sim.download_url(&id));
}

#[tokio::test]
async fn given_dotted_dialect_fields_when_creating_and_polling_then_values_are_nested_objects() {
    let dialect = Dialect {
        report_id_field: "data.id".into(),
        status_url_field: "links.self".into(),
        status_field: "data.state".into(),
        download_url_field: "data.file.url".into(),
        ..Default::default()
    };
    let sim = start(SimConfig {
        dialect,
        polls_to_complete: 0,
        ..Default::default()
    })
    .await;
    let created: Value = http()
        .post(sim.create_url())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        created,
        json!({"data": {"id": "rpt-000001"}, "links": {"self": sim.status_url("rpt-000001")}})
    );
    let s = poll(&sim, "rpt-000001").await;
    assert_eq!(
        s,
        json!({"data": {"id": "rpt-000001", "state": "COMPLETED", "file": {"url": sim.download_url("rpt-000001")}}})
    );
    let vars = sim.env_vars();
    assert!(vars.contains(&("REPORT_STATUS_FIELD", "data.state".to_string())));
    assert!(vars.contains(&("REPORT_API_URL", sim.base_url().to_string())));
    assert!(
        !vars.iter().any(|(n, _)| *n == "REPORT_STATUS_COMPLETED"),
        "defaults are not repeated"
    );
}

#[tokio::test]
async fn given_a_queued_503_with_retry_after_when_requested_twice_then_fault_first_and_normal_answer_second(
) {
    let sim = start(SimConfig {
        polls_to_complete: 0,
        ..Default::default()
    })
    .await;
    let id = create(&sim).await;
    sim.push_fault(Route::Status, Fault::retry_after(503, 2));
    let resp = http().get(sim.status_url(&id)).send().await.unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"], "2");
    assert_eq!(poll(&sim, &id).await["status"], "COMPLETED");
    assert_eq!(sim.request_count(Route::Status), 2);
    assert_eq!(sim.reports()[0].polls, 1, "the faulted poll did not count");
    assert_eq!(sim.pending_faults(Route::Status), 0);
}

#[tokio::test]
async fn given_faults_in_the_config_when_creating_then_they_apply_in_order_and_create_nothing() {
    let config = SimConfig {
        faults: vec![
            (Route::Create, Fault::status(500)),
            (Route::Create, Fault::status(429)),
        ],
        ..Default::default()
    };
    let sim = start(config).await;
    for expected in [500, 429, 201] {
        let resp = http()
            .post(sim.create_url())
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), expected);
    }
    assert_eq!(sim.reports().len(), 1);
    assert_eq!(sim.reports()[0].id, "rpt-000001");
}

#[tokio::test]
async fn given_a_delay_fault_when_requested_then_headers_come_after_the_delay() {
    let sim = start(SimConfig::default()).await;
    sim.push_fault(Route::Create, Fault::Delay { ms: 300 });
    let t = Instant::now();
    let resp = http().post(sim.create_url()).send().await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(300));
    assert_eq!(resp.status(), 201);
}

#[tokio::test]
async fn given_a_truncate_fault_when_downloading_then_content_length_is_full_but_the_body_ends_early(
) {
    let spec = CsvSpec::new(2_000, 3);
    let sim = start(SimConfig {
        csv: spec,
        ..Default::default()
    })
    .await;
    let id = create(&sim).await;
    sim.push_fault(Route::Download, Fault::Truncate { after_bytes: 1000 });
    let mut resp = http().get(sim.download_url(&id)).send().await.unwrap();
    assert_eq!(resp.content_length(), Some(spec.exact_len()));
    let mut got = 0;
    let err = loop {
        match resp.chunk().await {
            Ok(Some(c)) => got += c.len(),
            Ok(None) => panic!("body ended cleanly after {got} bytes"),
            Err(e) => break e,
        }
    };
    assert_eq!(got, 1000, "{err}");
}

#[tokio::test]
async fn given_a_stall_fault_when_downloading_then_the_body_stops_and_a_read_timeout_fires() {
    let sim = start(SimConfig {
        csv: CsvSpec::new(2_000, 3),
        ..Default::default()
    })
    .await;
    let id = create(&sim).await;
    sim.push_fault(Route::Download, Fault::Stall { after_bytes: 100 });
    let client = reqwest::Client::builder()
        .read_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let mut resp = client.get(sim.download_url(&id)).send().await.unwrap();
    let mut got = 0;
    let t = Instant::now();
    let err = loop {
        match resp.chunk().await {
            Ok(Some(c)) => got += c.len(),
            Ok(None) => panic!("body ended"),
            Err(e) => break e,
        }
    };
    assert_eq!(got, 100);
    assert!(err.is_timeout(), "{err}");
    assert!(t.elapsed() < Duration::from_secs(5));
    // Shutdown must not wait for the stalled connection.
    tokio::time::timeout(Duration::from_secs(2), sim.shutdown())
        .await
        .unwrap();
}

#[tokio::test]
async fn given_malformed_and_unknown_status_faults_when_polled_then_bad_json_then_an_unknown_word()
{
    let sim = start(SimConfig::default()).await;
    let id = create(&sim).await;
    sim.push_fault(Route::Status, Fault::MalformedJson);
    sim.push_fault(Route::Status, Fault::UnknownStatus("QUEUED".into()));
    let resp = http().get(sim.status_url(&id)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(serde_json::from_slice::<Value>(&resp.bytes().await.unwrap()).is_err());
    assert_eq!(poll(&sim, &id).await["status"], "QUEUED");
    assert_eq!(poll(&sim, &id).await["status"], "IN_PROGRESS");
    assert_eq!(sim.reports()[0].polls, 1);
}

#[tokio::test]
async fn given_a_download_body_override_when_downloading_then_the_exact_bytes_are_served() {
    let raw: &[u8] = b"id,name\n1,\xff\xfe broken\n2,too,many,cells\n";
    let sim = start(SimConfig {
        download_body: Some(raw.to_vec().into()),
        ..Default::default()
    })
    .await;
    let id = create(&sim).await;
    let resp = http().get(sim.download_url(&id)).send().await.unwrap();
    assert_eq!(resp.content_length(), Some(raw.len() as u64));
    assert_eq!(&resp.bytes().await.unwrap()[..], raw);
}

#[tokio::test]
async fn given_a_body_fault_when_downloading_then_that_code_type_and_body_are_served() {
    let sim = start(SimConfig::default()).await;
    let id = create(&sim).await;
    let html = "<!DOCTYPE html><p>maintenance</p>";
    sim.push_fault(
        Route::Download,
        Fault::Body {
            code: 200,
            content_type: "text/html".into(),
            body: html.into(),
        },
    );
    let resp = http().get(sim.download_url(&id)).send().await.unwrap();
    assert_eq!(resp.headers()["content-type"], "text/html");
    assert_eq!(resp.text().await.unwrap(), html);
}

/// The `report-sim` binary as a child process, killed on drop.
struct SimProcess(std::process::Child);

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rss_of(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 1024
}

/// Measured on the binary in its own process: RSS of the test process mixes
/// in whatever the tests running in parallel allocate.
#[tokio::test]
async fn given_the_report_sim_binary_serving_256mib_when_streamed_then_every_byte_arrives_and_its_memory_stays_flat(
) {
    use std::io::BufRead;
    let size = 256u64 << 20;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_report-sim"))
        .args(["--size", &size.to_string(), "--seed", "5"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = SimProcess(child);
    let mut base = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut base)
        .unwrap();
    let base = base.trim().to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");

    let created: Value = http()
        .post(format!("{base}/reports"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = format!(
        "{base}/files/{}.csv",
        created["report_id"].as_str().unwrap()
    );
    let pid = child.0.id();
    let before = rss_of(pid);
    let mut resp = reqwest::Client::new().get(url).send().await.unwrap();
    let expected = CsvSpec::for_size(size, 5).exact_len();
    assert_eq!(resp.content_length(), Some(expected));
    let (mut got, mut peak) = (0u64, before);
    while let Some(c) = resp.chunk().await.unwrap() {
        got += c.len() as u64;
        if got % (16 << 20) < c.len() as u64 {
            peak = peak.max(rss_of(pid));
        }
    }
    assert_eq!(got, expected);
    assert!(
        peak.saturating_sub(before) < 32 << 20,
        "simulator RSS grew by {} MiB",
        (peak - before) >> 20
    );
}

#[tokio::test]
async fn given_a_disconnect_fault_when_creating_then_no_response_arrives_and_the_retry_succeeds() {
    let sim = start(SimConfig::default()).await;
    sim.push_fault(Route::Create, "disconnect".parse().unwrap());
    let err = http().post(sim.create_url()).send().await.unwrap_err();
    assert!(!err.is_status() && !err.is_timeout(), "{err:?}");
    assert_eq!(
        http().post(sim.create_url()).send().await.unwrap().status(),
        201
    );
    assert_eq!(sim.request_count(Route::Create), 2);
}

#[test]
fn given_cli_fault_specs_when_parsed_then_they_map_to_faults() {
    assert_eq!("503".parse::<Fault>().unwrap(), Fault::status(503));
    assert_eq!(
        "429:retry-after=2".parse::<Fault>().unwrap(),
        Fault::retry_after(429, 2)
    );
    assert_eq!("delay=5".parse::<Fault>().unwrap(), Fault::Delay { ms: 5 });
    assert_eq!(
        "stall=7".parse::<Fault>().unwrap(),
        Fault::Stall { after_bytes: 7 }
    );
    assert_eq!(
        "truncate=9".parse::<Fault>().unwrap(),
        Fault::Truncate { after_bytes: 9 }
    );
    assert_eq!("malformed".parse::<Fault>().unwrap(), Fault::MalformedJson);
    assert_eq!(
        "unknown=QUEUED".parse::<Fault>().unwrap(),
        Fault::UnknownStatus("QUEUED".into())
    );
    assert_eq!("disconnect".parse::<Fault>().unwrap(), Fault::Disconnect);
    assert!("explode".parse::<Fault>().is_err());
    assert_eq!("download".parse::<Route>().unwrap(), Route::Download);
}
