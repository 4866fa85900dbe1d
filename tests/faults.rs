//! The fault matrix, each case through the whole offline execution: the
//! deployed definition run by the local executor, the handlers in-process,
//! the simulator and the embedded S3 injecting the fault.
//!
//! Every case first publishes a page with a clean run, then runs again with
//! the fault, and checks: the final status and error name (or the recovery),
//! `index.html` byte-identical to before on any failure, no incomplete
//! multipart upload left, no stray object in the site bucket.
//! docs/reliability.md lists the cases and why each ends as it does.

use std::collections::BTreeSet;

use bytes::Bytes;
use local_services::s3::{S3Fault, S3Op};
use local_services::simulator::{Fault, Gzip, Outcome, Route};
use offline_runner::local_run::{self, RunConfig, RunReport};
use serde_json::json;
use statemachine::ExecutionStatus;

enum Expect {
    /// The run ends SUCCEEDED (the fault was absorbed by a retry).
    Succeeds,
    /// The run ends FAILED with this error name.
    Fails(&'static str),
}

struct Ran {
    report: RunReport,
}

impl Ran {
    fn task_failures(&self, state: &str) -> usize {
        self.report
            .execution
            .history
            .iter()
            .filter(|e| e.is_task_failure() && e.state_name.as_deref() == Some(state))
            .count()
    }
}

fn base(work_dir: &std::path::Path) -> RunConfig {
    let mut c = RunConfig {
        work_dir: work_dir.to_path_buf(),
        progress: false,
        ..Default::default()
    };
    c.sim.csv.rows = 50;
    c.sim.polls_to_complete = 1;
    // Fast internal retries and short timeouts keep the matrix quick; the
    // behaviour is the same as with the defaults.
    for (k, v) in [
        ("HTTP_RETRY_BASE_MS", "10"),
        ("HTTP_TIMEOUT_SECONDS", "1"),
        ("HTTP_CONNECT_TIMEOUT_SECONDS", "1"),
    ] {
        c.env.insert(k.into(), v.into());
    }
    c
}

async fn site_state(
    report: &RunReport,
    bucket: &str,
) -> (Option<Vec<u8>>, BTreeSet<String>, usize) {
    let s3 = report.s3.as_ref().expect("the embedded S3 runs");
    let client = local_services::s3::client(s3);
    let page = std::fs::read(s3.object_path(bucket, "index.html")).ok();
    let listed = client
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let keys = listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(String::from))
        .collect();
    let mut open = 0;
    for b in ["reports", "site"] {
        if let Ok(out) = client.list_multipart_uploads().bucket(b).send().await {
            open += out.uploads().len();
        }
    }
    (page, keys, open)
}

/// GIVEN a published page, WHEN a run meets the fault `tweak` sets up, THEN `expect`.
async fn case(tweak: impl FnOnce(&mut RunConfig), expect: Expect) -> Ran {
    let dir = tempfile::tempdir().unwrap();
    let clean = local_run::run(&base(dir.path()))
        .await
        .expect("the clean run starts");
    assert_eq!(
        clean.execution.status,
        ExecutionStatus::Succeeded,
        "the clean run: {:?}",
        clean.execution.cause
    );
    let (before, keys_before, _) = site_state(&clean, "site").await;
    drop(clean);

    let mut faulty = base(dir.path());
    tweak(&mut faulty);
    let report = local_run::run(&faulty)
        .await
        .expect("the faulty run starts");
    let exec = &report.execution;
    let (after, keys_after, open_uploads) = site_state(&report, "site").await;
    assert_eq!(
        open_uploads, 0,
        "incomplete multipart uploads were left behind"
    );
    match expect {
        Expect::Succeeds => {
            assert_eq!(
                exec.status,
                ExecutionStatus::Succeeded,
                "expected a recovery, got {:?}: {:?}",
                exec.error,
                exec.cause
            );
            assert!(after.is_some());
        }
        Expect::Fails(name) => {
            assert_eq!(exec.status, ExecutionStatus::Failed);
            assert_eq!(exec.error.as_deref(), Some(name), "cause: {:?}", exec.cause);
            assert!(
                exec.cause.as_deref().is_some_and(|c| !c.is_empty()),
                "a failure must say why"
            );
            assert!(before == after, "index.html changed on a failed run");
            assert_eq!(keys_before, keys_after, "stray objects in the site bucket");
        }
    }
    Ran { report }
}

fn fault(c: &mut RunConfig, route: Route, f: Fault, n: usize) {
    c.sim.faults.extend(std::iter::repeat_n((route, f), n));
}

fn body(c: &mut RunConfig, bytes: impl Into<Bytes>) {
    c.sim.download_body = Some(bytes.into());
}

// ---- The reporting API ------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_500_once_on_create_with_an_idempotency_key_is_absorbed_by_the_internal_retry() {
    let ran = case(
        |c| {
            c.input = json!({"id": "evt-1"});
            fault(c, Route::Create, Fault::status(500), 1);
        },
        Expect::Succeeds,
    )
    .await;
    assert_eq!(
        ran.task_failures("CreateReport"),
        0,
        "retried inside the invocation"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_500_on_create_without_an_idempotency_key_is_left_to_the_state_machine() {
    // The API may have created the report before failing: a blind resend
    // could order a second one, so only the state machine's Retry resends.
    let ran = case(
        |c| fault(c, Route::Create, Fault::status(500), 1),
        Expect::Succeeds,
    )
    .await;
    assert_eq!(ran.task_failures("CreateReport"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_502_five_times_outlasts_the_internal_retries_and_the_state_machine_retries() {
    let ran = case(
        |c| {
            c.input = json!({"id": "evt-2"});
            fault(c, Route::Create, Fault::status(502), 5);
        },
        Expect::Succeeds,
    )
    .await;
    assert_eq!(ran.task_failures("CreateReport"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_503_on_a_status_poll_is_retried() {
    case(
        |c| fault(c, Route::Status, Fault::status(503), 2),
        Expect::Succeeds,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_429_with_retry_after_is_honoured() {
    let started = std::time::Instant::now();
    case(
        |c| fault(c, Route::Create, Fault::retry_after(429, 1), 1),
        Expect::Succeeds,
    )
    .await;
    // Not a timing assertion on speed: the wait the server asked for happened.
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_refusing_connections_fails_as_report_api_unavailable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ran = case(
        |c| {
            c.report_api = Some(format!("http://127.0.0.1:{port}"));
            c.env.insert("LOCAL_MODE".into(), "true".into());
        },
        Expect::Fails("ReportApi.Unavailable"),
    )
    .await;
    // The first attempt and the definition's four retries.
    assert_eq!(
        ran.task_failures("CreateReport"),
        5,
        "the state machine retried, then gave up"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_time_out_and_are_retried() {
    case(
        |c| fault(c, Route::Status, Fault::Delay { ms: 1_500 }, 1),
        Expect::Succeeds,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_download_body_times_out_and_the_state_machine_retries_the_download() {
    let ran = case(
        |c| fault(c, Route::Download, Fault::Stall { after_bytes: 1_000 }, 1),
        Expect::Succeeds,
    )
    .await;
    assert_eq!(ran.task_failures("DownloadReport"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_download_is_retried_by_the_state_machine() {
    let ran = case(
        |c| fault(c, Route::Download, Fault::Truncate { after_bytes: 500 }, 1),
        Expect::Succeeds,
    )
    .await;
    assert_eq!(ran.task_failures("DownloadReport"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_status_json_fails_as_bad_response() {
    case(
        |c| fault(c, Route::Status, Fault::MalformedJson, 1),
        Expect::Fails("ReportApi.BadResponse"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_status_word_fails_as_bad_response() {
    case(
        |c| fault(c, Route::Status, Fault::UnknownStatus("QUEUED".into()), 1),
        Expect::Fails("ReportApi.BadResponse"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_report_fails_as_report_failed() {
    case(
        |c| c.sim.outcome = Outcome::Fail,
        Expect::Fails("Report.Failed"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_that_never_completes_fails_as_report_timed_out() {
    case(
        |c| c.sim.outcome = Outcome::Never,
        Expect::Fails("Report.TimedOut"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_answering_403_404_or_410_fails_as_download_gone() {
    for code in [403, 404, 410] {
        case(
            |c| fault(c, Route::Download, Fault::status(code), 1),
            Expect::Fails("Download.Gone"),
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_gzip_fails_as_csv_malformed() {
    let garbage = Fault::Body {
        code: 200,
        content_type: "application/gzip".into(),
        body: Bytes::from_static(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03not deflate at all"),
    };
    case(
        |c| fault(c, Route::Download, garbage, 1),
        Expect::Fails("Csv.Malformed"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_reports_are_published_whichever_way_they_are_sent() {
    case(|c| c.sim.gzip = Gzip::ContentEncoding, Expect::Succeeds).await;
    case(|c| c.sim.gzip = Gzip::File, Expect::Succeeds).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_larger_than_the_limit_fails_as_limit_exceeded_while_streaming() {
    // The limit stands in for "larger than memory": the body is refused as it streams.
    case(
        |c| {
            c.sim.csv.rows = 5_000;
            c.env.insert("MAX_REPORT_BYTES".into(), "100000".into());
        },
        Expect::Fails("Csv.LimitExceeded"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_to_another_host_is_refused() {
    let to_metadata = Fault::Redirect {
        location: "http://169.254.169.254/latest/meta-data/".into(),
    };
    case(
        |c| fault(c, Route::Download, to_metadata, 1),
        Expect::Fails("Input.Invalid"),
    )
    .await;
}

// ---- S3 ---------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_slow_down_once_is_retried_by_the_sdk() {
    case(
        |c| c.s3_faults.push((S3Op::PutObject, S3Fault::slow_down())),
        Expect::Succeeds,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_internal_error_on_a_part_is_retried_by_the_sdk() {
    case(
        |c| {
            c.sim.csv = local_services::csvgen::CsvSpec::for_size(9 * 1024 * 1024, 3);
            c.s3_faults
                .push((S3Op::UploadPart, S3Fault::internal_error()));
        },
        Expect::Succeeds,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_access_denied_fails_as_storage_failed() {
    // Denied on each PutObject DownloadReport makes (4), as a missing
    // permission denies each: it stores the report and, alongside, its
    // profile and download, whose uploads would race for a single fault (a
    // failed profile is only logged).
    case(
        |c| {
            c.s3_faults.extend(std::iter::repeat_n(
                (S3Op::PutObject, S3Fault::access_denied()),
                4,
            ))
        },
        Expect::Fails("Storage.Failed"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_bucket_fails_as_storage_failed() {
    // s3s-fs creates a bucket's folder on demand, so the S3 side answers
    // NoSuchBucket by fault injection, as AWS would: on each PutObject
    // DownloadReport makes (see s3_access_denied_fails_as_storage_failed).
    case(
        |c| {
            c.s3_faults.extend(std::iter::repeat_n(
                (S3Op::PutObject, S3Fault::no_such_bucket()),
                4,
            ))
        },
        Expect::Fails("Storage.Failed"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_reset_during_a_multipart_upload_aborts_it_and_the_retry_publishes() {
    let ran = case(
        |c| {
            c.sim.csv = local_services::csvgen::CsvSpec::for_size(9 * 1024 * 1024, 4);
            // More resets than the SDK's three attempts per part: at least one
            // invocation fails, its upload is aborted, a retry completes.
            c.s3_faults
                .extend(std::iter::repeat_n((S3Op::UploadPart, S3Fault::Reset), 6));
        },
        Expect::Succeeds,
    )
    .await;
    assert!(
        ran.task_failures("DownloadReport") >= 1,
        "no attempt failed: the resets were not injected"
    );
    let s3 = ran.report.s3.as_ref().unwrap();
    assert!(
        s3.request_count(S3Op::AbortMultipartUpload) >= 1,
        "the failed upload was not aborted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_503_while_reading_the_csv_back_is_retried() {
    case(
        |c| c.s3_faults.push((S3Op::GetObject, S3Fault::slow_down())),
        Expect::Succeeds,
    )
    .await;
}

// ---- Payloads -----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn execution_input_of_the_wrong_type_fails_as_input_invalid() {
    case(
        |c| c.input = json!({"parameters": "not an object"}),
        Expect::Fails("Input.Invalid"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_fields_in_the_execution_input_are_ignored() {
    case(
        |c| c.input = json!({"detail-type": "Scheduled Event", "unexpected": {"x": 1}}),
        Expect::Succeeds,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn execution_input_over_256_kib_is_refused_before_the_execution_starts() {
    // As StartExecution refuses it on AWS: nothing runs, nothing is published.
    let dir = tempfile::tempdir().unwrap();
    let mut c = base(dir.path());
    c.input = json!({"padding": "x".repeat(300 * 1024)});
    let err = local_run::run(&c).await.err().expect("refused");
    assert!(err.contains("262144"), "{err}");
    assert!(!dir.path().join("s3/site/index.html").exists());
}

// ---- CSV ----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_that_cannot_be_published_fails_as_csv_malformed() {
    let cases: [&'static [u8]; 5] = [
        b"a,b,c\n1,2,3\n4,5\n",             // ragged
        b"name\nJos\xe9\n",                 // invalid UTF-8
        b"",                                // empty
        b"a,b\n1,\x002\n",                  // NUL byte
        b"<html><body>error</body></html>", // not CSV
    ];
    for data in cases {
        case(|c| body(c, data), Expect::Fails("Csv.Malformed")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn awkward_but_valid_csv_is_published() {
    let big_field = format!("id,blob\n1,{}\n", "x".repeat(1024 * 1024));
    let wide = format!(
        "{}\n{}\n",
        (0..1000)
            .map(|i| format!("c{i}"))
            .collect::<Vec<_>>()
            .join(","),
        vec!["v"; 1000].join(",")
    );
    let cases: Vec<Vec<u8>> = vec![
        b"\xEF\xBB\xBFid,name\n1,x\n".to_vec(), // a BOM
        b"id,name\r\n1,x\r\n2,y\r\n".to_vec(),  // CRLF
        b"id,note\n1,\"two\nlines, and \"\"quotes\"\"\"\n".to_vec(), // quoted newlines
        b"id,name\n".to_vec(),                  // header only
        big_field.into_bytes(),                 // a 1 MiB field (the limit)
        wide.into_bytes(),                      // 1,000 columns (the limit)
    ];
    for data in cases {
        case(|c| body(c, data), Expect::Succeeds).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_past_the_field_or_column_limits_fails_as_limit_exceeded() {
    let big_field = format!("id,blob\n1,{}\n", "x".repeat(1024 * 1024 + 1));
    let wide = format!(
        "{}\n",
        (0..1001)
            .map(|i| format!("c{i}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    for data in [big_field, wide] {
        case(|c| body(c, data), Expect::Fails("Csv.LimitExceeded")).await;
    }
}
