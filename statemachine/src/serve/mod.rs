//! # The local Step Functions endpoint (`asl serve`)
//!
//! Speaks Step Functions' AWS JSON 1.0 protocol on loopback (`POST /` with
//! `X-Amz-Target: AWSStepFunctions.<Action>`), so the AWS SDKs and the CLI
//! work against it with `--endpoint-url`; executions run on this crate's
//! executor.
//!
//! # Layout
//!
//! - `mod.rs` (here): [`Endpoint`] and [`EndpointOptions`], the router and
//!   the dispatch of an action to its handler;
//! - `errors.rs`: every error answer (AWS's `__type` and message);
//! - `machines.rs`: state machine actions and `ValidateStateMachineDefinition`;
//! - `executions.rs`: start, describe, list, stop; `redrive.rs`: redrive;
//! - `run.rs`: an execution run in the background, its history live;
//! - `history.rs`: `GetExecutionHistory` (pages, `reverseOrder`,
//!   `includeExecutionData`) and the execution view page;
//! - `tasks.rs`: `SendTaskSuccess`/`Failure`/`Heartbeat` and `TestState`;
//! - `callbacks.rs`: tokens of `.waitForTaskToken` Tasks waiting for an answer;
//! - `invoker.rs`: a Task's answer: a mock, the functions, then a callback;
//! - `mocks.rs`: Step Functions Local's mock configuration file;
//! - `store.rs`: the records on disk (survive a restart).

mod callbacks;
mod errors;
mod executions;
mod history;
mod invoker;
mod machines;
mod mocks;
mod redrive;
mod run;
mod store;
mod tasks;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;

use crate::invoke::TaskInvoker;
pub use errors::ApiError;
pub use invoker::NoFunctions;
pub use mocks::MockConfig;
pub use tasks::test_state_answer;

use callbacks::Callbacks;
use store::{ExecutionRecord, MachineRecord, Store, StoredExecution};

/// How an endpoint runs.
pub struct EndpointOptions {
    /// Where state machines and executions are kept (`None`: memory only).
    pub store_dir: Option<PathBuf>,
    /// Real seconds per virtual second of Wait and retry delays, for every
    /// execution (0 skips waits); a request's `x-asl-wait-scale` header
    /// overrides it for the execution it starts.
    pub wait_scale: f64,
    /// What Task states call when no mock answers them.
    pub functions: Arc<dyn TaskInvoker>,
    /// Step Functions Local's mock configuration file, if one is given.
    pub mocks: Option<MockConfig>,
    /// Print a line to stderr as each execution ends (its ARN, status, time,
    /// error and cause).
    pub log: bool,
}

/// What the handlers share.
pub(crate) struct Shared {
    opts: EndpointOptions,
    store: Store,
    machines: Mutex<BTreeMap<String, MachineRecord>>,
    executions: Mutex<BTreeMap<String, StoredExecution>>,
    /// Running executions, to stop them.
    running: Mutex<HashMap<String, tokio::task::AbortHandle>>,
    callbacks: Arc<Callbacks>,
    /// Each execution's mock calls so far (a redrive counts on).
    test_cases: Mutex<HashMap<String, Arc<mocks::TestCase>>>,
}

/// A running endpoint.
pub struct Endpoint {
    addr: SocketAddr,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    shared: Arc<Shared>,
}

impl Endpoint {
    /// Binds `addr` (port 0 picks one), reads the store and starts serving.
    pub async fn start(addr: SocketAddr, opts: EndpointOptions) -> Result<Endpoint, String> {
        let store =
            Store::open(opts.store_dir.as_deref()).map_err(|e| format!("the store folder: {e}"))?;
        let shared = Arc::new(Shared {
            opts,
            store,
            machines: Mutex::default(),
            executions: Mutex::default(),
            running: Mutex::default(),
            callbacks: Arc::default(),
            test_cases: Mutex::default(),
        });
        let unreadable = shared.load();
        for f in unreadable {
            eprintln!("asl serve: {f} is not a record this endpoint wrote; left as it is");
        }
        let app = Router::new()
            .route("/", post(dispatch).get(history::index_page))
            .route("/executions/{machine}/{name}/", get(history::view_page))
            .route(
                "/executions/{machine}/{name}/{asset}",
                get(history::view_asset),
            )
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("binding {addr}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Endpoint {
            addr,
            server: Some(server),
            shared,
        })
    }

    /// `http://127.0.0.1:PORT`, for `--endpoint-url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until the server stops (an I/O error) or the task is dropped.
    pub async fn serve_forever(mut self) -> std::io::Result<()> {
        match self.server.take() {
            Some(s) => s.await.unwrap_or_else(|e| Err(std::io::Error::other(e))),
            None => Ok(()),
        }
    }

    /// Stops serving and every running execution (they stay `RUNNING` on
    /// disk, and read back as aborted by the next endpoint on this store).
    pub fn shutdown(&self) {
        if let Some(s) = &self.server {
            s.abort();
        }
        for (_, h) in self.shared.running.lock().expect("running").drain() {
            h.abort();
        }
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The body of every successful answer.
fn ok(v: Value) -> Response {
    (
        [("content-type", "application/x-amz-json-1.0")],
        v.to_string(),
    )
        .into_response()
}

/// `POST /`: one action of the AWS JSON 1.0 protocol.
async fn dispatch(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Some(action) = target.strip_prefix("AWSStepFunctions.") else {
        return ApiError::unknown_operation(target).into_response();
    };
    let req: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        match serde_json::from_slice(&body) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => {
                return ApiError::serialization("the body is not a JSON object").into_response()
            }
            Err(e) => return ApiError::serialization(&e.to_string()).into_response(),
        }
    };
    let wait_scale = headers
        .get("x-asl-wait-scale")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0);
    let r = Req(&req);
    let result = match action {
        "CreateStateMachine" => machines::create(&shared, r),
        "DescribeStateMachine" => machines::describe(&shared, r),
        "UpdateStateMachine" => machines::update(&shared, r),
        "DeleteStateMachine" => machines::delete(&shared, r),
        "ListStateMachines" => machines::list(&shared, r),
        "ValidateStateMachineDefinition" => machines::validate_definition(r),
        "StartExecution" => executions::start(&shared, r, wait_scale),
        "StartSyncExecution" => executions::start_sync(&shared, r, wait_scale).await,
        "DescribeExecution" => executions::describe(&shared, r),
        "DescribeStateMachineForExecution" => executions::describe_machine_for(&shared, r),
        "ListExecutions" => executions::list(&shared, r),
        "StopExecution" => executions::stop(&shared, r),
        "RedriveExecution" => redrive::redrive(&shared, r, wait_scale),
        "GetExecutionHistory" => history::get(&shared, r),
        "SendTaskSuccess" => tasks::send_success(&shared, r),
        "SendTaskFailure" => tasks::send_failure(&shared, r),
        "SendTaskHeartbeat" => tasks::send_heartbeat(&shared, r),
        "TestState" => tasks::test_state(&shared, r).await,
        _ => Err(ApiError::unknown_operation(target)),
    };
    match result {
        Ok(v) => ok(v),
        Err(e) => e.into_response(),
    }
}

/// A request's fields, with AWS's ValidationException for what is missing
/// or of the wrong type.
#[derive(Clone, Copy)]
pub(crate) struct Req<'a>(&'a Value);

impl<'a> Req<'a> {
    pub(crate) fn str(&self, field: &str) -> Result<&'a str, ApiError> {
        self.opt_str(field)?.ok_or_else(|| ApiError::missing(field))
    }
    pub(crate) fn opt_str(&self, field: &str) -> Result<Option<&'a str>, ApiError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::validation(format!("'{field}' must be a string"))),
        }
    }
    pub(crate) fn opt_bool(&self, field: &str) -> Result<Option<bool>, ApiError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(ApiError::validation(format!("'{field}' must be a boolean"))),
        }
    }
    pub(crate) fn opt_u64(&self, field: &str) -> Result<Option<u64>, ApiError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| ApiError::validation(format!("'{field}' must be a whole number"))),
        }
    }
    pub(crate) fn get(&self, field: &str) -> Option<&'a Value> {
        self.0.get(field).filter(|v| !v.is_null())
    }
}

/// Seconds since the epoch, as AWS JSON timestamps are sent.
pub(crate) fn now() -> f64 {
    let t = chrono::Utc::now();
    t.timestamp_millis() as f64 / 1000.0
}

/// AWS's names: 1–80 of letters, digits, `-` and `_`.
pub(crate) fn check_name(name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 80
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_name(name))
    }
}

/// Page tokens: the offset, as opaque text.
pub(crate) fn page(
    items_len: usize,
    req: Req<'_>,
    default_max: u64,
) -> Result<(usize, usize, Option<String>), ApiError> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let max = match req.opt_u64("maxResults")? {
        None | Some(0) => default_max,
        Some(m) if m > 1000 => {
            return Err(ApiError::validation("'maxResults' must be at most 1000"))
        }
        Some(m) => m,
    } as usize;
    let start = match req.opt_str("nextToken")? {
        None => 0,
        Some(t) => b64
            .decode(t)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix("offset:")?.parse::<usize>().ok())
            .filter(|o| *o <= items_len)
            .ok_or_else(ApiError::invalid_next_token)?,
    };
    let end = (start + max).min(items_len);
    let next = (end < items_len).then(|| b64.encode(format!("offset:{end}")));
    Ok((start, end, next))
}

impl Shared {
    /// Reads the store; returns the files it could not read.
    fn load(&self) -> Vec<String> {
        let (machines, executions, bad) = self.store.load();
        let mut m = self.machines.lock().expect("machines");
        for rec in machines {
            m.insert(rec.state_machine_arn.clone(), rec);
        }
        drop(m);
        let mut e = self.executions.lock().expect("executions");
        for mut stored in executions {
            if stored.record.status == "RUNNING" {
                run::abort_on_restart(&mut stored);
                let _ = self.store.save_execution(&stored);
            }
            e.insert(stored.record.execution_arn.clone(), stored);
        }
        bad
    }

    pub(crate) fn execution(&self, arn: &str) -> Result<StoredExecution, ApiError> {
        self.executions
            .lock()
            .expect("executions")
            .get(arn)
            .cloned()
            .ok_or_else(|| ApiError::execution_does_not_exist(arn))
    }

    pub(crate) fn save(&self, e: &StoredExecution) -> Result<(), ApiError> {
        self.store
            .save_execution(e)
            .map_err(|w| ApiError::store(&w))
    }

    pub(crate) fn put_execution(
        &self,
        rec: ExecutionRecord,
        history: Vec<crate::HistoryEvent>,
    ) -> StoredExecution {
        let stored = StoredExecution {
            record: rec,
            history: Arc::new(Mutex::new(history)),
        };
        self.executions
            .lock()
            .expect("executions")
            .insert(stored.record.execution_arn.clone(), stored.clone());
        stored
    }
}
