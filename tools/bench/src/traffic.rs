//! UpdateSite's S3 traffic alone: the report read back and as many page
//! bodies, of the same total size, written as UpdateSite writes them (the
//! same S3 client and store, 4 PutObjects in flight), with no rendering.
//!
//! Its seconds are the least end to end can take with this S3 server on
//! this machine, whatever the renderer does: renderer alone / traffic alone
//! is the highest end to end / renderer the machine allows. It runs in a
//! fresh child process like the handlers (`bench __child traffic`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use local_services::csvgen::CsvSpec;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::config::ProcessEnv;
use shared::store::{ObjectReader, ObjectWriter, PutRequest, S3Settings, S3Store};
use tokio::task::JoinSet;
use update_site::site::pages::PageOptions;

use crate::child::{cpu_seconds, run_child, ChildReport};
use crate::memory::Row;
use crate::{human_size, Table};

/// As UpdateSite's `UPLOADS_IN_FLIGHT`.
const IN_FLIGHT: usize = 4;

/// What the traffic child moves: the stored report read back, and `pages`
/// bodies of `page_bytes` written under `site_bucket`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Traffic {
    pub bucket: String,
    pub key: String,
    /// The stored report's size, which the read must match.
    pub bytes: u64,
    pub site_bucket: String,
    pub pages: u64,
    pub page_bytes: usize,
}

/// Runs the traffic once: the seconds it took, the bytes read and written.
pub(crate) async fn run(t: Traffic) -> Result<(f64, serde_json::Value), String> {
    let client = S3Settings::from_lookup(&ProcessEnv)
        .map_err(|e| e.to_string())?
        .client()
        .await;
    let store = Arc::new(S3Store::new(client));
    // One body shared by every page: the floor leaves out making them.
    let body = Bytes::from(vec![b'x'; t.page_bytes]);
    let started = Instant::now();
    let read = async {
        let mut csv = store
            .open(&t.bucket, &t.key)
            .await
            .map_err(|e| e.to_string())?;
        tokio::io::copy(&mut csv, &mut tokio::io::sink())
            .await
            .map_err(|e| format!("reading the report: {e}"))
    };
    let write = async {
        let mut running = JoinSet::new();
        for page in 1..=t.pages {
            let req = PutRequest {
                bucket: t.site_bucket.clone(),
                key: format!("reports/rpt-traffic/page-{page}.html"),
                content_type: "text/html; charset=utf-8".into(),
                cache_control: Some("public, max-age=86400".into()),
                ..Default::default()
            };
            let (store, body) = (store.clone(), body.clone());
            running
                .spawn(async move { store.put_bytes(&req, body).await.map_err(|e| e.to_string()) });
            while running.len() >= IN_FLIGHT {
                if let Some(r) = running.join_next().await {
                    r.map_err(|e| e.to_string())??;
                }
            }
        }
        while let Some(r) = running.join_next().await {
            r.map_err(|e| e.to_string())??;
        }
        Ok::<_, String>(())
    };
    let (read, write) = tokio::join!(read, write);
    let seconds = started.elapsed().as_secs_f64();
    let read = read?;
    write?;
    if read != t.bytes {
        return Err(format!(
            "read {read} bytes of the report, expected {}",
            t.bytes
        ));
    }
    let written = t.pages * t.page_bytes as u64;
    Ok((
        seconds,
        serde_json::json!({ "read": read, "written": written }),
    ))
}

/// The traffic of one report size (the run of median seconds), beside
/// UpdateSite's median run.
pub(crate) struct TrafficRow {
    size: u64,
    pages: u64,
    written: u64,
    report: ChildReport,
    /// Seconds of every run, sorted.
    runs: Vec<f64>,
    server_cpu: f64,
    render_alone: f64,
    end_to_end: f64,
}

/// One traffic run in a fresh child, shaped as UpdateSite's `update` run
/// over `spec` wrote: as many pages (from the rows and the page size) of
/// the same total bytes.
pub(crate) async fn once(
    spec: CsvSpec,
    stored: &Value,
    update: &Row,
    site_bucket: &str,
    env: &HashMap<String, String>,
) -> Result<TrafficRow, String> {
    let field = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(String::from);
    let (Some(bucket), Some(key), Some(bytes)) = (
        field(stored, "bucket"),
        field(stored, "key"),
        stored.get("bytes").and_then(Value::as_u64),
    ) else {
        return Err(format!("no bucket, key and bytes in {stored}"));
    };
    let written = update
        .report
        .output
        .get("bytes")
        .and_then(Value::as_u64)
        .ok_or("UpdateSite's output has no bytes")?;
    let columns = spec.row(0).len();
    let per_page = PageOptions {
        page_rows: 0,
        data: false,
    }
    .rows_per_page(columns) as u64;
    let pages = spec.rows.div_ceil(per_page).max(1);
    let traffic = Traffic {
        bucket,
        key,
        bytes,
        site_bucket: site_bucket.into(),
        pages,
        page_bytes: (written / pages) as usize,
    };
    let event = serde_json::to_value(&traffic).map_err(|e| e.to_string())?;
    let env = env.clone();
    let server_cpu = cpu_seconds();
    let report = tokio::task::spawn_blocking(move || run_child("traffic", &event, &env))
        .await
        .map_err(|e| e.to_string())??;
    let server_cpu = cpu_seconds() - server_cpu;
    Ok(TrafficRow {
        size: update.size,
        pages,
        written: pages * traffic.page_bytes as u64,
        runs: vec![report.seconds],
        report,
        server_cpu,
        render_alone: update.render_alone.unwrap_or(0.0),
        end_to_end: update.report.seconds,
    })
}

/// The run of median seconds, with every run's seconds.
pub(crate) fn median(mut runs: Vec<TrafficRow>) -> TrafficRow {
    runs.sort_by(|a, b| a.report.seconds.total_cmp(&b.report.seconds));
    let all: Vec<f64> = runs.iter().map(|r| r.report.seconds).collect();
    let mut median = runs.swap_remove(runs.len() / 2);
    median.runs = all;
    median
}

pub(crate) fn print(rows: &[TrafficRow]) {
    let mut table = Table::new(
        "UpdateSite's S3 traffic alone: the ceiling of end to end / renderer on this machine",
        &[
            "report",
            "PutObjects",
            "bytes written",
            "traffic alone s",
            "client CPU s",
            "server CPU s",
            "UpdateSite s",
            "renderer alone s",
            "renderer alone / traffic alone",
        ],
    );
    for r in rows {
        let spread = match (r.runs.first(), r.runs.last()) {
            (Some(lo), Some(hi)) if r.runs.len() > 1 => format!(" ({lo:.2}–{hi:.2})"),
            _ => String::new(),
        };
        table.row(vec![
            human_size(r.size),
            r.pages.to_string(),
            human_size(r.written),
            format!("{:.2}{spread}", r.report.seconds),
            format!("{:.2}", r.report.cpu_seconds),
            format!("{:.2}", r.server_cpu),
            format!("{:.2}", r.end_to_end),
            format!("{:.2}", r.render_alone),
            format!("{:.2}", r.render_alone / r.report.seconds.max(1e-9)),
        ]);
    }
    table.note(
        "Traffic alone = a fresh child process with UpdateSite's S3 client and store that reads \
         the stored report back (one GetObject, bytes dropped) while it writes as many pages as \
         UpdateSite wrote, of the same total size, 4 PutObjects in flight, to the same embedded \
         S3 server on an empty site bucket; one body shared by all pages, so nothing is \
         rendered, copied or allocated per page. Its seconds are the least UpdateSite can take \
         here, so renderer alone / traffic alone is the highest end to end / renderer this \
         machine and this S3 server allow: when it is under the 0.8 target, no renderer can \
         meet it here. Same number of runs as UpdateSite, the median shown, the range in \
         brackets; server CPU s = the embedded S3 server's.",
    );
    table.print();
}
