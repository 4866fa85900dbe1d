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

use crate::csvgen::{CsvSpec, DEFAULT_CHUNK};
use crate::server::ServerTask;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use hyper_util::rt::TokioExecutor;
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use hyper_util::service::TowerToHyperService;
use serde_json::{json, Map, Value};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The three routes, for faults and request counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// `POST /reports`
    Create,
    /// `GET /reports/{id}`
    Status,
    /// `GET /files/{id}.csv[.gz]`
    Download,
}

impl Route {
    pub const ALL: [Route; 3] = [Route::Create, Route::Status, Route::Download];

    fn index(self) -> usize {
        match self {
            Route::Create => 0,
            Route::Status => 1,
            Route::Download => 2,
        }
    }
}

impl FromStr for Route {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "create" => Ok(Route::Create),
            "status" => Ok(Route::Status),
            "download" => Ok(Route::Download),
            _ => Err(format!("unknown route {s:?} (create, status or download)")),
        }
    }
}

/// One scripted misbehaviour, consumed by the next request on its route.
///
/// Faults that replace the answer ([`Fault::Status`], [`Fault::MalformedJson`],
/// [`Fault::UnknownStatus`], [`Fault::Body`]) leave the report untouched: a
/// status poll answered with a fault does not count towards completion, and
/// a create answered with a fault creates nothing. The others ([`Fault::Delay`],
/// [`Fault::Stall`], [`Fault::Truncate`]) wrap the normal answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status code (a JSON error body), with `Retry-After`
    /// when given (seconds or an HTTP date, sent verbatim).
    Status {
        code: u16,
        retry_after: Option<String>,
    },
    /// Wait this long before sending the headers, then answer normally.
    Delay { ms: u64 },
    /// Answer normally but stop sending after `after_bytes` bytes of body,
    /// keeping the connection open: a read timeout's test.
    Stall { after_bytes: u64 },
    /// Answer normally, Content-Length announcing the full body, but close
    /// the connection after `after_bytes` bytes.
    Truncate { after_bytes: u64 },
    /// 200 with `application/json` and a body that is not JSON.
    MalformedJson,
    /// Status route: answer with this status word instead of the real one.
    UnknownStatus(String),
    /// `302 Found` to this URL (the SSRF tests: a redirect to another host).
    Redirect { location: String },
    /// Answer with exactly this code, content type and body.
    Body {
        code: u16,
        content_type: String,
        body: Bytes,
    },
    /// Close the connection without any answer (the client sees a reset /
    /// incomplete message, as from a crashing load balancer).
    Disconnect,
}

impl Fault {
    /// `Fault::Status` without `Retry-After`.
    pub fn status(code: u16) -> Fault {
        Fault::Status {
            code,
            retry_after: None,
        }
    }

    /// `Fault::Status` with `Retry-After: <seconds>`.
    pub fn retry_after(code: u16, seconds: u64) -> Fault {
        Fault::Status {
            code,
            retry_after: Some(seconds.to_string()),
        }
    }

    fn replaces_answer(&self) -> bool {
        matches!(
            self,
            Fault::Status { .. }
                | Fault::MalformedJson
                | Fault::Body { .. }
                | Fault::Disconnect
                | Fault::Redirect { .. }
        )
    }
}

impl FromStr for Fault {
    type Err = String;
    /// `503`, `429:retry-after=2`, `delay=500`, `stall=1000`, `truncate=1000`,
    /// `malformed`, `unknown=QUEUED`, `disconnect` (the `report-sim --fault` syntax).
    fn from_str(s: &str) -> Result<Self, String> {
        let num = |v: &str| v.parse::<u64>().map_err(|e| format!("{v:?}: {e}"));
        if let Some((code, rest)) = s.split_once(':') {
            let code = code.parse::<u16>().map_err(|e| format!("{code:?}: {e}"))?;
            let secs = rest
                .strip_prefix("retry-after=")
                .ok_or_else(|| format!("expected retry-after=N in {s:?}"))?;
            return Ok(Fault::Status {
                code,
                retry_after: Some(secs.to_string()),
            });
        }
        if let Ok(code) = s.parse::<u16>() {
            return Ok(Fault::status(code));
        }
        match s.split_once('=') {
            Some(("delay", v)) => Ok(Fault::Delay { ms: num(v)? }),
            Some(("stall", v)) => Ok(Fault::Stall {
                after_bytes: num(v)?,
            }),
            Some(("truncate", v)) => Ok(Fault::Truncate {
                after_bytes: num(v)?,
            }),
            Some(("unknown", v)) => Ok(Fault::UnknownStatus(v.to_string())),
            None if s == "malformed" => Ok(Fault::MalformedJson),
            None if s == "disconnect" => Ok(Fault::Disconnect),
            _ => Err(format!("unknown fault {s:?}")),
        }
    }
}

/// How a report ends once its in-progress polls are used up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Outcome {
    #[default]
    Complete,
    Fail,
    /// Stays in progress forever (the poll budget's test).
    Never,
}

/// How the CSV is compressed, if at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Gzip {
    #[default]
    None,
    /// `/files/{id}.csv` is sent gzipped with `Content-Encoding: gzip`.
    ContentEncoding,
    /// The download URL is `/files/{id}.csv.gz`, sent as `application/gzip`
    /// with no Content-Encoding (a gzip file, not a transfer encoding).
    File,
}

/// The API's words: field names and status values. A field name with dots
/// (`data.state`) is a path into nested objects, as the Lambdas read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialect {
    /// Report id field of the create answer (and of status answers).
    pub report_id_field: String,
    /// Status URL field of the create answer.
    pub status_url_field: String,
    pub status_field: String,
    pub in_progress: String,
    pub completed: String,
    pub failed: String,
    pub download_url_field: String,
}

impl Default for Dialect {
    fn default() -> Self {
        Dialect {
            report_id_field: "report_id".into(),
            status_url_field: "status_url".into(),
            status_field: "status".into(),
            in_progress: "IN_PROGRESS".into(),
            completed: "COMPLETED".into(),
            failed: "FAILED".into(),
            download_url_field: "download_url".into(),
        }
    }
}

impl Dialect {
    /// The Lambdas' environment variables for this dialect, only those that
    /// differ from the default (the Lambdas' defaults are the same).
    pub fn env_vars(&self) -> Vec<(&'static str, String)> {
        let d = Dialect::default();
        [
            ("REPORT_ID_FIELD", &self.report_id_field, &d.report_id_field),
            (
                "REPORT_STATUS_URL_FIELD",
                &self.status_url_field,
                &d.status_url_field,
            ),
            ("REPORT_STATUS_FIELD", &self.status_field, &d.status_field),
            (
                "REPORT_STATUS_IN_PROGRESS",
                &self.in_progress,
                &d.in_progress,
            ),
            ("REPORT_STATUS_COMPLETED", &self.completed, &d.completed),
            ("REPORT_STATUS_FAILED", &self.failed, &d.failed),
            (
                "REPORT_DOWNLOAD_URL_FIELD",
                &self.download_url_field,
                &d.download_url_field,
            ),
        ]
        .into_iter()
        .filter(|(_, v, default)| v != default)
        .map(|(name, v, _)| (name, v.clone()))
        .collect()
    }
}

/// Sets `path` (dot-separated) in `obj`, creating nested objects.
fn set_path(obj: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            obj.insert(path.to_string(), value);
        }
        Some((head, rest)) => {
            let child = obj
                .entry(head.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !child.is_object() {
                *child = Value::Object(Map::new());
            }
            if let Value::Object(m) = child {
                set_path(m, rest, value);
            }
        }
    }
}

/// Everything the simulator can be told at start.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Status polls answered "in progress" before the outcome: with 2, polls
    /// 1 and 2 say IN_PROGRESS and poll 3 says COMPLETED; 0 completes at once.
    pub polls_to_complete: u32,
    pub outcome: Outcome,
    /// The CSV every report serves.
    pub csv: CsvSpec,
    pub gzip: Gzip,
    /// Serve these bytes instead of the generated CSV (invalid UTF-8, a
    /// ragged CSV, an HTML error page...). Gzip still applies.
    pub download_body: Option<Bytes>,
    /// Content-Type of downloads instead of `text/csv` / `application/gzip`.
    pub download_content_type: Option<String>,
    /// When set, every request must carry it (else 401).
    pub token: Option<String>,
    /// Header carrying the raw token (e.g. `x-api-key`); `None` means
    /// `Authorization: Bearer <token>`.
    pub token_header: Option<String>,
    pub dialect: Dialect,
    /// Faults queued before the first request.
    pub faults: Vec<(Route, Fault)>,
    /// The number of the first report created (`rpt-000001` for 1). The
    /// offline runner continues from its last run so that reports of
    /// successive runs in one work folder keep distinct ids, as a real API's do.
    pub first_id: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            port: 0,
            polls_to_complete: 1,
            outcome: Outcome::Complete,
            csv: CsvSpec::default(),
            gzip: Gzip::None,
            download_body: None,
            download_content_type: None,
            token: None,
            token_header: None,
            dialect: Dialect::default(),
            faults: Vec::new(),
            first_id: 1,
        }
    }
}

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

fn download_url(shared: &Shared, id: &str) -> String {
    let ext = if shared.config.gzip == Gzip::File {
        "csv.gz"
    } else {
        "csv"
    };
    format!("{}/files/{id}.{ext}", shared.base_url)
}

/// A response body with its length when known.
struct Payload {
    stream: BoxStream<'static, io::Result<Bytes>>,
    len: Option<u64>,
}

impl Payload {
    fn bytes(b: impl Into<Bytes>) -> Payload {
        let b: Bytes = b.into();
        let len = Some(b.len() as u64);
        Payload {
            stream: futures::stream::once(async move { Ok(b) }).boxed(),
            len,
        }
    }
}

/// Cuts a stream after `limit` bytes.
fn take_bytes(
    stream: BoxStream<'static, io::Result<Bytes>>,
    limit: u64,
) -> BoxStream<'static, io::Result<Bytes>> {
    futures::stream::unfold((stream, limit), |(mut s, left)| async move {
        if left == 0 {
            return None;
        }
        match s.next().await? {
            Ok(mut b) => {
                if b.len() as u64 > left {
                    b.truncate(left as usize);
                }
                let n = b.len() as u64;
                Some((Ok(b), (s, left - n)))
            }
            Err(e) => Some((Err(e), (s, 0))),
        }
    })
    .boxed()
}

/// Builds the response, applying a body-level fault (stall or truncate).
fn respond(
    code: StatusCode,
    headers: Vec<(HeaderName, String)>,
    payload: Payload,
    fault: Option<Fault>,
) -> Response {
    let mut builder = Response::builder().status(code);
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    let (stream, len) = match fault {
        Some(Fault::Stall { after_bytes }) => (
            take_bytes(payload.stream, after_bytes)
                .chain(futures::stream::pending())
                .boxed(),
            payload.len,
        ),
        Some(Fault::Truncate { after_bytes }) => {
            // The announced length must exceed what is sent, even when unknown.
            let len = payload
                .len
                .filter(|&l| l > after_bytes)
                .unwrap_or(after_bytes + 65_536);
            // The pause lets hyper flush the headers and the bytes sent before
            // the error aborts the connection; without it the client may see
            // no response at all instead of a short body.
            let cut = take_bytes(payload.stream, after_bytes).chain(futures::stream::once(async {
                tokio::time::sleep(Duration::from_millis(100)).await;
                Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "body truncated by fault injection",
                ))
            }));
            (cut.boxed(), Some(len))
        }
        _ => (payload.stream, payload.len),
    };
    if let Some(len) = len {
        builder = builder.header(header::CONTENT_LENGTH, len);
    }
    builder
        .body(Body::from_stream(stream))
        .expect("valid response parts")
}

fn json_response(code: StatusCode, value: &Value, fault: Option<Fault>) -> Response {
    respond(
        code,
        vec![(header::CONTENT_TYPE, "application/json".into())],
        Payload::bytes(serde_json::to_vec(value).expect("JSON values serialize")),
        fault,
    )
}

fn error_response(code: StatusCode, message: &str) -> Response {
    json_response(
        code,
        &json!({"error": code.canonical_reason().unwrap_or("error"), "message": message}),
        None,
    )
}

/// The answer for a fault that replaces the normal one.
fn fault_response(fault: &Fault) -> Response {
    match fault {
        Fault::Status { code, retry_after } => {
            let code = StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut resp = error_response(code, "injected fault");
            if let Some(ra) = retry_after {
                if let Ok(v) = HeaderValue::from_str(ra) {
                    resp.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            resp
        }
        Fault::Redirect { location } => respond(
            StatusCode::FOUND,
            vec![(header::LOCATION, location.clone())],
            Payload::bytes(&b""[..]),
            None,
        ),
        Fault::MalformedJson => respond(
            StatusCode::OK,
            vec![(header::CONTENT_TYPE, "application/json".into())],
            Payload::bytes(&b"{\"status\": \"IN_PROG"[..]),
            None,
        ),
        Fault::Body {
            code,
            content_type,
            body,
        } => respond(
            StatusCode::from_u16(*code).unwrap_or(StatusCode::OK),
            vec![(header::CONTENT_TYPE, content_type.clone())],
            Payload::bytes(body.clone()),
            None,
        ),
        // A body that fails before anything is flushed makes hyper abort the
        // connection without writing the response head.
        Fault::Disconnect => Response::new(Body::from_stream(futures::stream::once(async {
            Err::<Bytes, _>(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "disconnect by fault injection",
            ))
        }))),
        _ => unreachable!("only answer-replacing faults get here"),
    }
}

/// What every handler does first: count, check auth, take the next fault
/// and serve its delay. `Err` is the response to send instead.
async fn prelude(
    shared: &Shared,
    route: Route,
    headers: &HeaderMap,
) -> Result<Option<Fault>, Response> {
    shared.counts[route.index()].fetch_add(1, Ordering::SeqCst);
    if let Some(token) = &shared.config.token {
        let ok = match &shared.config.token_header {
            None => headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .is_some_and(|t| t == token),
            Some(name) => headers
                .get(name.as_str())
                .is_some_and(|v| v.as_bytes() == token.as_bytes()),
        };
        if !ok {
            let mut resp = error_response(StatusCode::UNAUTHORIZED, "missing or wrong credentials");
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return Err(resp);
        }
    }
    let fault = shared
        .lock()
        .faults
        .get_mut(&route)
        .and_then(VecDeque::pop_front);
    match fault {
        Some(Fault::Delay { ms }) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(None)
        }
        Some(f) if f.replaces_answer() => Err(fault_response(&f)),
        other => Ok(other),
    }
}

async fn create(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let fault = match prelude(&shared, Route::Create, &headers).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    // An empty body means "no parameters"; anything else must be a JSON object.
    let params = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => {
                return error_response(
                    StatusCode::BAD_REQUEST,
                    "report parameters must be a JSON object",
                )
            }
            Err(e) => {
                return error_response(StatusCode::BAD_REQUEST, &format!("invalid JSON: {e}"))
            }
        }
    };
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let id = {
        let mut inner = shared.lock();
        match key.as_ref().and_then(|k| inner.by_key.get(k)).copied() {
            Some(i) => inner.reports[i].id.clone(),
            None => {
                let id = format!("rpt-{:06}", inner.next_id);
                inner.next_id += 1;
                inner.reports.push(ReportRecord {
                    id: id.clone(),
                    params,
                    idempotency_key: key.clone(),
                    polls: 0,
                });
                let index = inner.reports.len() - 1;
                if let Some(k) = key {
                    inner.by_key.insert(k, index);
                }
                id
            }
        }
    };
    let status_url = format!("{}/reports/{id}", shared.base_url);
    let d = &shared.config.dialect;
    let mut body = Map::new();
    set_path(&mut body, &d.report_id_field, Value::String(id));
    set_path(&mut body, &d.status_url_field, Value::String(status_url));
    json_response(StatusCode::CREATED, &Value::Object(body), fault)
}

async fn status(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let fault = match prelude(&shared, Route::Status, &headers).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    let d = &shared.config.dialect;
    let (word, url) = {
        let mut inner = shared.lock();
        let (polls_to_complete, outcome) = (inner.polls_to_complete, inner.outcome);
        let Some(report) = inner.reports.iter_mut().find(|r| r.id == id) else {
            drop(inner);
            return error_response(StatusCode::NOT_FOUND, &format!("no report {id:?}"));
        };
        if let Some(Fault::UnknownStatus(word)) = &fault {
            (word.clone(), None)
        } else {
            report.polls += 1;
            if report.polls <= polls_to_complete || outcome == Outcome::Never {
                (d.in_progress.clone(), None)
            } else if outcome == Outcome::Fail {
                (d.failed.clone(), None)
            } else {
                (d.completed.clone(), Some(download_url(&shared, &id)))
            }
        }
    };
    let mut body = Map::new();
    set_path(&mut body, &d.report_id_field, Value::String(id));
    set_path(&mut body, &d.status_field, Value::String(word));
    set_path(
        &mut body,
        &d.download_url_field,
        url.map_or(Value::Null, Value::String),
    );
    json_response(
        StatusCode::OK,
        &Value::Object(body),
        fault.filter(|f| !matches!(f, Fault::UnknownStatus(_))),
    )
}

async fn download(
    State(shared): State<Arc<Shared>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    let fault = match prelude(&shared, Route::Download, &headers).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    let (id, gz_file) = if let Some(id) = file.strip_suffix(".csv.gz") {
        (id, true)
    } else if let Some(id) = file.strip_suffix(".csv") {
        (id, false)
    } else {
        return error_response(StatusCode::NOT_FOUND, &format!("no file {file:?}"));
    };
    if !shared.lock().reports.iter().any(|r| r.id == id) {
        return error_response(StatusCode::NOT_FOUND, &format!("no report {id:?}"));
    }
    let plain = match &shared.config.download_body {
        Some(b) => Payload::bytes(b.clone()),
        None => {
            let spec = shared.config.csv;
            // Generated chunk by chunk as the client reads: flat memory at any size.
            let stream = futures::stream::iter(spec.chunks(DEFAULT_CHUNK).map(Ok)).boxed();
            Payload {
                stream,
                len: Some(shared.csv_len),
            }
        }
    };
    let encode = !gz_file && shared.config.gzip == Gzip::ContentEncoding;
    let payload = if gz_file || encode {
        Payload {
            stream: gzip(plain.stream),
            len: None,
        }
    } else {
        plain
    };
    let default_type = if gz_file {
        "application/gzip"
    } else {
        "text/csv"
    };
    let content_type = shared
        .config
        .download_content_type
        .clone()
        .unwrap_or_else(|| default_type.into());
    let mut headers = vec![(header::CONTENT_TYPE, content_type)];
    if encode {
        headers.push((header::CONTENT_ENCODING, "gzip".into()));
    }
    respond(StatusCode::OK, headers, payload, fault)
}

/// Streaming gzip (fastest level: the simulator should not be the bottleneck).
fn gzip(stream: BoxStream<'static, io::Result<Bytes>>) -> BoxStream<'static, io::Result<Bytes>> {
    let reader = tokio_util::io::StreamReader::new(stream);
    let encoder = async_compression::tokio::bufread::GzipEncoder::with_quality(
        reader,
        async_compression::Level::Fastest,
    );
    tokio_util::io::ReaderStream::with_capacity(encoder, DEFAULT_CHUNK).boxed()
}
