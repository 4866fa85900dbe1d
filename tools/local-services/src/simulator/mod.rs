//! A reporting-API simulator: a real HTTP server on a loopback port.
//!
//! Routes (default dialect, the one the Lambdas speak):
//!
//! | route | answer |
//! | --- | --- |
//! | `POST /reports` (JSON parameters) | 201 `{"report_id": "rpt-000001", "status_url": "<base>/reports/rpt-000001"}`; a repeated `Idempotency-Key` gets the same report back |
//! | `GET /reports/{id}` | `{"status": "IN_PROGRESS", "download_url": null}` for the first [`SimConfig::polls_to_complete`] polls, then `COMPLETED` with `<base>/files/{id}.csv` (or `FAILED`, or never, per [`Outcome`]); 404 for an unknown id |
//! | `GET /files/{id}.csv` / `{id}.csv.gz` | the CSV, streamed from [`CsvSpec`] (or [`SimConfig::download_body`]) |
//!
//! Every knob a Lambda's error path needs is here: auth, the dialect's field
//! names and words, gzip either as `Content-Encoding` or as a `.csv.gz`
//! file, and a queue of scripted [`Fault`]s per [`Route`], consumed one per
//! request. [`Simulator::request_count`] lets a test assert that a retry
//! really happened.

//!
//! - `config.rs`: [`SimConfig`], [`Route`], [`Fault`], [`Outcome`], [`Dialect`];
//! - `routes.rs`: the handlers and their responses.

mod config;
mod routes;

pub use config::*;
use routes::*;

use crate::csvgen::CsvSpec;
use crate::server::ServerTask;
use axum::routing::{get, post};
use axum::Router;
use hyper_util::rt::TokioExecutor;
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use hyper_util::service::TowerToHyperService;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A report as the simulator saw it, for assertions.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRecord {
    pub id: String,
    /// The POST body.
    pub params: Value,
    pub idempotency_key: Option<String>,
    /// Status polls answered so far (faulted ones not counted).
    pub polls: u32,
}

struct Inner {
    next_id: u64,
    reports: Vec<ReportRecord>,
    by_key: HashMap<String, usize>,
    faults: HashMap<Route, VecDeque<Fault>>,
    polls_to_complete: u32,
    outcome: Outcome,
}

struct Shared {
    config: SimConfig,
    base_url: String,
    /// Computed once: the generated CSV's length, for Content-Length.
    csv_len: u64,
    counts: [AtomicU64; 3],
    inner: Mutex<Inner>,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panicking handler must not take the simulator down with it.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running simulator. Stops when dropped.
pub struct Simulator {
    shared: Arc<Shared>,
    server: ServerTask,
}

impl fmt::Debug for Simulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Simulator")
            .field("base_url", &self.shared.base_url)
            .finish()
    }
}

impl Simulator {
    /// Binds the port and starts serving.
    pub async fn start(config: SimConfig) -> io::Result<Simulator> {
        let spec = config.csv;
        // exact_len walks every row (about 0.1 s per GB): off the async threads.
        let csv_len = tokio::task::spawn_blocking(move || spec.exact_len())
            .await
            .map_err(io::Error::other)?;
        let mut faults: HashMap<Route, VecDeque<Fault>> = HashMap::new();
        for (route, fault) in &config.faults {
            faults.entry(*route).or_default().push_back(fault.clone());
        }
        let inner = Inner {
            next_id: config.first_id.max(1),
            reports: Vec::new(),
            by_key: HashMap::new(),
            faults,
            polls_to_complete: config.polls_to_complete,
            outcome: config.outcome,
        };
        // Bind first: the base URL needs the port.
        let listener = ServerTask::listen(config.port).await?;
        let port = listener.local_addr()?.port();
        let base_url = format!("http://127.0.0.1:{port}");
        let shared = Arc::new(Shared {
            config,
            base_url,
            csv_len,
            counts: Default::default(),
            inner: Mutex::new(inner),
        });
        let router = Router::new()
            .route("/reports", post(create))
            .route("/reports/{id}", get(status))
            .route("/files/{file}", get(download))
            .with_state(shared.clone());
        let server = ServerTask::spawn(
            listener,
            Box::new(move |io| {
                let svc = TowerToHyperService::new(router.clone());
                Box::pin(async move {
                    let _ = ConnBuilder::new(TokioExecutor::new())
                        .serve_connection(io, svc)
                        .await;
                })
            }),
        )?;
        Ok(Simulator { shared, server })
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// The URL a client POSTs to create a report.
    pub fn create_url(&self) -> String {
        format!("{}/reports", self.shared.base_url)
    }

    /// The status URL of report `id`.
    pub fn status_url(&self, id: &str) -> String {
        format!("{}/reports/{id}", self.shared.base_url)
    }

    /// The download URL of report `id`, as the completed status gives it.
    pub fn download_url(&self, id: &str) -> String {
        download_url(&self.shared, id)
    }

    /// The CSV every report serves (absent a `download_body`), so tests can
    /// recompute any cell.
    pub fn csv_spec(&self) -> CsvSpec {
        self.shared.config.csv
    }

    pub fn config(&self) -> &SimConfig {
        &self.shared.config
    }

    /// The environment a Lambda needs to talk to this simulator:
    /// `REPORT_API_URL`, the token and auth header when configured, and the
    /// dialect's variables that differ from the default.
    pub fn env_vars(&self) -> Vec<(&'static str, String)> {
        let c = &self.shared.config;
        let mut vars = vec![("REPORT_API_URL", self.shared.base_url.clone())];
        if let Some(token) = &c.token {
            vars.push(("REPORT_API_TOKEN", token.clone()));
        }
        if let Some(header) = &c.token_header {
            vars.push(("REPORT_API_AUTH_HEADER", header.clone()));
        }
        vars.extend(c.dialect.env_vars());
        vars
    }

    /// Queues `fault` for the next request on `route` (after those queued before).
    pub fn push_fault(&self, route: Route, fault: Fault) {
        self.shared
            .lock()
            .faults
            .entry(route)
            .or_default()
            .push_back(fault);
    }

    /// Faults still queued on `route`.
    pub fn pending_faults(&self, route: Route) -> usize {
        self.shared
            .lock()
            .faults
            .get(&route)
            .map_or(0, VecDeque::len)
    }

    /// Requests received on `route` so far, faulted and unauthorized ones included.
    pub fn request_count(&self, route: Route) -> u64 {
        self.shared.counts[route.index()].load(Ordering::SeqCst)
    }

    /// Reports created so far, oldest first.
    pub fn reports(&self) -> Vec<ReportRecord> {
        self.shared.lock().reports.clone()
    }

    /// Changes the outcome for every report, created or not.
    pub fn set_outcome(&self, outcome: Outcome) {
        self.shared.lock().outcome = outcome;
    }

    /// Stops the server, ending open connections (stalled ones included).
    pub async fn shutdown(mut self) {
        self.server.shutdown().await;
    }
}
