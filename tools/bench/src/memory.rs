//! Flat memory: peak RSS of DownloadReport (simulator → S3) and UpdateSite
//! (S3 get → render → S3 multipart put) on 10 MB and 1 GB reports.
//!
//! The servers (reporting-API simulator, embedded S3) run in this process;
//! each handler runs in a fresh child process (`child.rs`), wired exactly as
//! its `main.rs` wires it, and reports its own `VmHWM`: so peaks never mix,
//! and the servers' memory is not counted.

use std::collections::HashMap;

use create_report::CreateReport;
use poll_report::PollReport;
use serde_json::{json, Value};
use shared::function::Function;

use crate::child::{cpu_seconds, run_child, ChildReport};
use crate::s3_cost::Requests;
use crate::{human_size, mb, met, runtime, Options, ScratchDir, Table};
use local_services::csvgen::CsvSpec;
use local_services::s3::LocalS3;
use local_services::simulator::{SimConfig, Simulator};
use offline_runner::local_run::Layered;

/// Target: a 128 MB Lambda handles any report.
pub(crate) const TARGET_MIB: f64 = 64.0;

const REPORTS_BUCKET: &str = "reports";
const SITE_BUCKET: &str = "site";

pub(crate) struct Row {
    function: &'static str,
    pub size: u64,
    pub report: ChildReport,
    /// CPU seconds of this process (the simulator and the embedded S3
    /// server, nothing else runs here meanwhile) while the child ran.
    pub server_cpu: f64,
    /// UpdateSite only: the renderer alone over the same CSV, in this
    /// process, in the same run (seconds).
    pub render_alone: Option<f64>,
    /// What the embedded S3 server counted while the child ran.
    pub requests: crate::s3_cost::Requests,
    /// UpdateSite only: end to end / renderer alone of every run, sorted
    /// (this row is the median one).
    ratios: Vec<f64>,
}

/// UpdateSite runs per size: one run's end to end / renderer moved between
/// 0.69 and 0.86 on a shared 2-core VM, so the table shows the median run.
fn update_runs(quick: bool, bytes: u64) -> usize {
    match () {
        _ if quick => 2,
        _ if bytes >= 500_000_000 => 3,
        _ => 5,
    }
}

/// Target: UpdateSite end to end at least this fraction of the renderer
/// alone's throughput (issue 14).
pub(crate) const TARGET_E2E: f64 = 0.8;

pub fn run(options: &Options) -> Result<(), String> {
    let sizes: &[u64] = if options.quick {
        &[1_000_000, 10_000_000]
    } else {
        &[10_000_000, 1_000_000_000]
    };
    let rt = runtime()?;
    let mut rows = Vec::new();
    let mut places = Vec::new();
    let mut traffic = Vec::new();
    for &size in sizes {
        let (measured, alone, place) = rt.block_on(one_size(size, options.quick))?;
        rows.extend(measured);
        traffic.push(alone);
        if !places.contains(&place) {
            places.push(place);
        }
    }
    let mut table = Table::new(
        "Flat memory: peak RSS of one invocation, in a fresh process",
        &[
            "function",
            "report",
            "peak RSS MiB",
            "after init MiB",
            "handler s",
            "CPU s",
            "server CPU s",
            "MB/s",
            "renderer alone MB/s",
            "end to end / renderer (≥ 0.8)",
            "target ≤ 64 MiB",
        ],
    );
    for r in &rows {
        let peak = r.report.peak_kib as f64 / 1024.0;
        let secs = r.report.seconds;
        table.row(vec![
            r.function.to_string(),
            human_size(r.size),
            format!("{peak:.1}"),
            format!("{:.1}", r.report.init_kib as f64 / 1024.0),
            format!("{secs:.2}"),
            format!("{:.2}", r.report.cpu_seconds),
            format!("{:.2}", r.server_cpu),
            format!("{:.0}", mb(r.size) / secs.max(1e-9)),
            r.render_alone.map_or(String::new(), |s| {
                format!("{:.0}", mb(r.size) / s.max(1e-9))
            }),
            r.render_alone.map_or(String::new(), |alone| {
                let ratio = alone / secs.max(1e-9);
                let spread = match (r.ratios.first(), r.ratios.last()) {
                    (Some(lo), Some(hi)) if r.ratios.len() > 1 => {
                        format!(" ({lo:.2}–{hi:.2}, {} runs)", r.ratios.len())
                    }
                    _ => String::new(),
                };
                format!("{ratio:.2} {}{spread}", met(ratio >= TARGET_E2E))
            }),
            met(peak <= TARGET_MIB).to_string(),
        ]);
    }
    table.note(
        "Peak RSS = VmHWM of a child process running the handler as its main.rs wires it \
         (tokio multi-thread runtime, aws-sdk-s3 client, reqwest), so it includes the runtime \
         and clients (\"after init\"). The simulator and the embedded S3 server (s3s-fs with \
         its own plain PUT and whole-object GET, files where the next note says) run in the \
         parent and are not counted. DownloadReport: simulator → \
         S3 multipart put (8 MiB parts), with the profile made on the way (first pass and \
         gzip download, a second multipart put); UpdateSite: the profile, one S3 get of the \
         CSV, pages uploaded 4 at a time, the gzip download DownloadReport made copied inside \
         S3 (CopyObject), then archive.json, index.html, archive.html, \
         feed.xml. Server CPU s = this \
         process's CPU while the child ran: the embedded S3 server (and the idle simulator), \
         which on AWS is S3's, not the function's. Renderer alone = the render section's \
         render pass (pages into counting sinks, with the profile) over the \
         same CSV, run here \
         just before the child; end to end / renderer = its seconds over the handler's. \
         UpdateSite runs 3 times on 1 GB and 5 times below (2 with --quick), each on an \
         empty site bucket after its own renderer-alone pass: its row is the run with the \
         median ratio (peak RSS: the highest of all), the range in brackets.",
    );
    table.note(format!(
        "The embedded S3 server's files: {} (BENCH_S3_DIR=path puts them elsewhere, a disk \
         folder for instance).",
        places.join(", ")
    ));
    table.print();
    crate::traffic::print(&traffic);
    let measured: Vec<crate::lambda_cost::Measured> = rows
        .iter()
        .map(|r| crate::lambda_cost::Measured {
            function: r.function,
            bytes: r.size,
            cpu_seconds: r.report.cpu_seconds,
            requests: r.requests,
        })
        .collect();
    crate::lambda_cost::print(&measured);
    crate::s3_cost::print(&measured);
    Ok(())
}

async fn one_size(
    size: u64,
    quick: bool,
) -> Result<(Vec<Row>, crate::traffic::TrafficRow, String), String> {
    let spec = CsvSpec::for_size(size, 11);
    let bytes = spec.exact_len();
    // The CSV, its gzip copy, about 3 bytes of pages per byte, and room.
    let (scratch, place) = ScratchDir::for_s3("memory", bytes * 6 + (256 << 20))
        .map_err(|e| format!("temp dir: {e}"))?;
    eprintln!(
        "bench: memory {} ({} rows), the embedded S3 on {place}…",
        human_size(bytes),
        spec.rows
    );
    let sim = Simulator::start(SimConfig {
        polls_to_complete: 0,
        csv: spec,
        ..Default::default()
    })
    .await
    .map_err(|e| format!("simulator: {e}"))?;
    let s3 = LocalS3::start(&scratch.path().join("s3"))
        .await
        .map_err(|e| format!("embedded S3: {e}"))?;
    for b in [REPORTS_BUCKET, SITE_BUCKET] {
        s3.create_bucket(b)
            .map_err(|e| format!("bucket {b}: {e}"))?;
    }
    let mut env: HashMap<String, String> = HashMap::new();
    for (k, v) in sim.env_vars().into_iter().chain(s3.env_vars()) {
        env.insert(k.to_string(), v);
    }
    env.insert("LOCAL_MODE".into(), "true".into());
    env.insert("REPORTS_BUCKET".into(), REPORTS_BUCKET.into());
    env.insert("SITE_BUCKET".into(), SITE_BUCKET.into());
    env.insert("RUST_LOG".into(), "off".into());

    // CreateReport and PollReport in-process, to get a COMPLETED report.
    let layered = Layered(env.clone());
    let create = CreateReport::build(&layered)
        .await
        .map_err(|e| e.to_string())?;
    let handle = create
        .handle(json!({}))
        .await
        .map_err(|e| format!("CreateReport: {e}"))?;
    let poll = PollReport::build(&layered)
        .await
        .map_err(|e| e.to_string())?;
    let outcome = poll
        .handle(serde_json::to_value(&handle).map_err(|e| e.to_string())?)
        .await
        .map_err(|e| format!("PollReport: {e}"))?;
    let event = serde_json::to_value(&outcome).map_err(|e| e.to_string())?;

    let mut rows = Vec::new();
    let (child_env, dl_event) = (env.clone(), event.clone());
    let server_cpu = cpu_seconds();
    let requests = Requests::counted(&s3);
    let download =
        tokio::task::spawn_blocking(move || run_child("download", &dl_event, &child_env))
            .await
            .map_err(|e| e.to_string())??;
    let server_cpu = cpu_seconds() - server_cpu;
    let requests = requests.since(&s3);
    let stored_bytes = download.output.get("bytes").and_then(Value::as_u64);
    if stored_bytes != Some(bytes) {
        return Err(format!(
            "DownloadReport stored {stored_bytes:?} bytes, expected {bytes}"
        ));
    }
    let stored = download.output.clone();
    rows.push(Row {
        function: "DownloadReport",
        size: bytes,
        report: download,
        server_cpu,
        requests,
        render_alone: None,
        ratios: Vec::new(),
    });
    // An empty site, so that every run publishes the report anew.
    let empty_site = || {
        let site = scratch.path().join("s3").join(SITE_BUCKET);
        std::fs::remove_dir_all(&site).map_err(|e| format!("emptying the site: {e}"))?;
        s3.create_bucket(SITE_BUCKET)
            .map_err(|e| format!("bucket {SITE_BUCKET}: {e}"))
    };
    let mut runs = Vec::new();
    for run in 0..update_runs(quick, bytes) {
        if run > 0 {
            empty_site()?;
        }
        runs.push(update_once(spec, &stored, &env, &s3).await?);
    }
    let ratio = |r: &Row| r.render_alone.unwrap_or(0.0) / r.report.seconds.max(1e-9);
    runs.sort_by(|a, b| ratio(a).total_cmp(&ratio(b)));
    let ratios: Vec<f64> = runs.iter().map(ratio).collect();
    let peak = runs.iter().map(|r| r.report.peak_kib).max().unwrap_or(0);
    let mut median = runs.swap_remove(runs.len() / 2);
    median.report.peak_kib = peak;
    median.ratios = ratios;
    let mut traffic = Vec::new();
    for _ in 0..update_runs(quick, bytes) {
        empty_site()?;
        traffic.push(crate::traffic::once(spec, &stored, &median, SITE_BUCKET, &env).await?);
    }
    let traffic = crate::traffic::median(traffic);
    rows.push(median);
    s3.shutdown().await;
    sim.shutdown().await;
    drop(scratch);
    Ok((rows, traffic, place))
}

/// One UpdateSite run, just after the renderer alone over the same CSV.
async fn update_once(
    spec: CsvSpec,
    stored: &Value,
    env: &HashMap<String, String>,
    s3: &LocalS3,
) -> Result<Row, String> {
    // The renderer as UpdateSite runs it here: with the profile
    // DownloadReport stored (made outside the timing).
    let alone = tokio::task::spawn_blocking(move || {
        let (_, scanned) = crate::render::profile(&spec)?;
        crate::render::render_pass(&spec, &scanned)
    })
    .await
    .map_err(|e| e.to_string())??;
    let (event, child_env) = (stored.clone(), env.clone());
    let server_cpu = cpu_seconds();
    let requests = Requests::counted(s3);
    let update = tokio::task::spawn_blocking(move || run_child("update-site", &event, &child_env))
        .await
        .map_err(|e| e.to_string())??;
    let server_cpu = cpu_seconds() - server_cpu;
    let requests = requests.since(s3);
    let rendered = update.output.get("rows").and_then(Value::as_u64);
    if rendered != Some(spec.rows) {
        return Err(format!(
            "UpdateSite rendered {rendered:?} rows, expected {}",
            spec.rows
        ));
    }
    Ok(Row {
        function: "UpdateSite",
        size: spec.exact_len(),
        report: update,
        server_cpu,
        requests,
        render_alone: Some(alone.seconds),
        ratios: Vec::new(),
    })
}
