//! The executor: runs a JSONPath-mode state machine the way Step Functions
//! does, recording AWS-style history events.
//!
//! Data flow per state follows the ASL spec: raw input → `InputPath` →
//! `Parameters`/`ItemSelector` → the state's work → `ResultSelector` →
//! `ResultPath` (merged into the raw input) → `OutputPath`. Errors are
//! [`Failure`]s; `Retry` and `Catch` see only catchable ones (`States.Runtime`
//! and the execution timeout end the execution whatever the handlers say).
//!
//! Time is virtual: a Wait of *n* seconds sleeps `n × wait_scale` for real and
//! advances the clock by the rest, so `wait_scale = 0` runs instantly while the
//! context object, history timestamps and `TimeoutSeconds` still see full waits.
//! Map iterations and Parallel branches run one after another, which keeps the
//! history deterministic and the Task result order equal to the item order.

use std::borrow::Cow;
use std::collections::HashMap;
use std::future::Future;
use std::hash::BuildHasherDefault;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::choice;
use crate::history::{HistoryEvent, Observer};
use crate::intrinsics::{self, Intrinsic};
use crate::invoke::{TaskCall, TaskInvoker};
use crate::model::{function_from_arn_or_name, small_get, ResourceKind, State, StateMachine};
use crate::path::{JsonPath, Root};

/// AWS's payload limit for state input/output: 256 KiB.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// How an execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

impl ExecutionStatus {
    /// AWS's spelling: `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`.
    pub fn as_aws(&self) -> &'static str {
        match self {
            ExecutionStatus::Succeeded => "SUCCEEDED",
            ExecutionStatus::Failed => "FAILED",
            ExecutionStatus::TimedOut => "TIMED_OUT",
            ExecutionStatus::Aborted => "ABORTED",
        }
    }
}

/// The result of [`execute`].
#[derive(Debug, Clone, Serialize)]
pub struct Execution {
    pub status: ExecutionStatus,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub history: Vec<HistoryEvent>,
}

/// Knobs for one run.
#[derive(Clone)]
pub struct RunOptions {
    /// Real seconds slept per virtual second of Wait/retry delay (0 = never sleep).
    pub wait_scale: f64,
    /// Sees every history event as it happens.
    pub observer: Option<Arc<dyn Observer>>,
    /// `$$.Execution.Name` (a UUID when `None`).
    pub execution_name: Option<String>,
    /// `$$.StateMachine.Name`.
    pub state_machine_name: String,
    /// Apply a Task's `TimeoutSeconds` as a real deadline on the invoker call.
    pub enforce_task_timeouts: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            wait_scale: 1.0,
            observer: None,
            execution_name: None,
            state_machine_name: "StateMachine".to_string(),
            enforce_task_timeouts: true,
        }
    }
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("wait_scale", &self.wait_scale)
            .field("observer", &self.observer.is_some())
            .field("execution_name", &self.execution_name)
            .field("state_machine_name", &self.state_machine_name)
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FailureKind {
    /// Retry/Catch may handle it.
    Catchable,
    /// `States.Runtime` and friends: ends the execution.
    Fatal,
    /// The whole execution's `TimeoutSeconds` elapsed.
    ExecutionTimeout,
}

#[derive(Debug, Clone)]
struct Failure {
    error: String,
    cause: Option<String>,
    kind: FailureKind,
}

impl Failure {
    fn catchable(error: impl Into<String>, cause: Option<String>) -> Self {
        Failure {
            error: error.into(),
            cause,
            kind: FailureKind::Catchable,
        }
    }
    fn error_object(&self) -> Value {
        let mut o = Map::new();
        o.insert("Error".into(), Value::String(self.error.clone()));
        if let Some(c) = &self.cause {
            o.insert("Cause".into(), Value::String(c.clone()));
        }
        Value::Object(o)
    }
}

/// Errors a Retry/Catch `ErrorEquals` list matches (AWS rules: `States.ALL`
/// matches any catchable error, `States.TaskFailed` any but `States.Timeout`).
pub fn error_matches(error_equals: &[Value], error: &str) -> bool {
    error_equals.iter().filter_map(Value::as_str).any(|e| {
        e == error || e == "States.ALL" || (e == "States.TaskFailed" && error != "States.Timeout")
    })
}

struct Clock {
    start: Instant,
    start_wall: DateTime<Utc>,
    /// `start_wall` in microseconds since the epoch.
    start_micros: i64,
    /// Virtual seconds skipped so far (an `f64`'s bits).
    skipped: AtomicU64,
}

/// RFC 3339 text with milliseconds, reusing the last text while the
/// millisecond is unchanged (many events share one).
#[derive(Default)]
struct TimestampCache {
    /// The millisecond (since the epoch) of `text`.
    last: Option<(i64, Arc<str>)>,
}

impl TimestampCache {
    /// The time `elapsed` seconds after the clock's start.
    fn format(&mut self, clock: &Clock, elapsed: f64) -> Arc<str> {
        let ms = (clock.start_micros + (elapsed * 1e6) as i64).div_euclid(1000);
        match &self.last {
            Some((k, text)) if *k == ms => text.clone(),
            _ => {
                let text: Arc<str> = clock
                    .at(elapsed)
                    .to_rfc3339_opts(SecondsFormat::Millis, true)
                    .into();
                self.last = Some((ms, text.clone()));
                text
            }
        }
    }
}

/// The history and what stamps its events, behind one lock.
#[derive(Default)]
struct Recorder {
    events: Vec<HistoryEvent>,
    timestamps: TimestampCache,
}

/// Hashes a text's address (two words) with one multiply each, where
/// SipHash's DoS resistance buys nothing.
#[derive(Default)]
struct AddrHasher(u64);

impl std::hash::Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

/// Parse results of the definition's texts (JSONPaths, intrinsic calls),
/// each parsed once per execution; parse errors are kept too, since parsing
/// is pure. Keyed by where the text lives: the texts are the definition's,
/// which outlives the execution, so the address names the text without
/// hashing its bytes. The text is still compared on a hit, in case a text
/// from elsewhere comes to occupy an address another one had.
struct ParseCache<T> {
    map: HashMap<TextAddr, (Box<str>, Parsed<T>), BuildHasherDefault<AddrHasher>>,
}

/// A text's address and length.
type TextAddr = (usize, usize);
type Parsed<T> = Arc<Result<T, String>>;

impl<T> Default for ParseCache<T> {
    fn default() -> Self {
        ParseCache {
            map: HashMap::default(),
        }
    }
}

impl<T> ParseCache<T> {
    fn get_or_parse(
        &mut self,
        text: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Arc<Result<T, String>> {
        let key = (text.as_ptr() as usize, text.len());
        if let Some((seen, parsed)) = self.map.get(&key) {
            if **seen == *text {
                return parsed.clone();
            }
        }
        let parsed = Arc::new(parse(text));
        self.map.insert(key, (text.into(), parsed.clone()));
        parsed
    }
}

/// Counts the bytes serde_json writes, without keeping them.
struct ByteCounter(usize);

impl std::io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.0 += buf.len();
        Ok(())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An upper bound of [`json_len`] found without formatting anything: a
/// string takes at most 6 bytes per byte (`\u00XX`) plus quotes, an integer
/// at most 20 characters; other numbers are measured.
fn json_len_bound(v: &Value) -> usize {
    fn string(s: &str) -> usize {
        s.len().saturating_mul(6).saturating_add(2)
    }
    match v {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(n) if n.is_i64() || n.is_u64() => 20,
        Value::Number(_) => json_len(v),
        Value::String(s) => string(s),
        Value::Array(a) => a.iter().fold(2usize, |acc, x| {
            acc.saturating_add(json_len_bound(x).saturating_add(1))
        }),
        Value::Object(o) => o.iter().fold(2usize, |acc, (k, x)| {
            acc.saturating_add(
                string(k)
                    .saturating_add(json_len_bound(x))
                    .saturating_add(2),
            )
        }),
    }
}

/// The length of `serde_json::to_string(v)` (0 when it cannot be serialized).
fn json_len(v: &Value) -> usize {
    let mut c = ByteCounter(0);
    match serde_json::to_writer(&mut c, v) {
        Ok(()) => c.0,
        Err(_) => 0,
    }
}

impl Clock {
    fn elapsed(&self) -> f64 {
        self.start.elapsed().as_secs_f64() + f64::from_bits(self.skipped.load(Ordering::Acquire))
    }
    fn now(&self) -> DateTime<Utc> {
        self.at(self.elapsed())
    }
    /// The wall time `elapsed` seconds after the start.
    fn at(&self, elapsed: f64) -> DateTime<Utc> {
        self.start_wall + chrono::Duration::microseconds((elapsed * 1e6) as i64)
    }
    fn advance(&self, secs: f64) {
        let _ = self
            .skipped
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |bits| {
                Some((f64::from_bits(bits) + secs).to_bits())
            });
    }
}

/// A state's input or output: shared by the history and the next state, and
/// passed on as it is by the states that do not change it.
type Payload = Arc<Value>;

enum Transition<'m> {
    Next(&'m str, Payload),
    End(Payload),
}

type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Per-scope data: workflow variables and, for a Map iteration's ItemSelector, the item.
#[derive(Clone, Default)]
struct Scope {
    vars: Map<String, Value>,
}

impl Scope {
    fn store(&mut self, assigned: Option<Value>) {
        if let Some(Value::Object(o)) = assigned {
            for (k, v) in o {
                self.vars.insert(k, v);
            }
        }
    }
}

struct Runner<'a> {
    invoker: &'a dyn TaskInvoker,
    opts: &'a RunOptions,
    recorder: Mutex<Recorder>,
    /// Parsed JSONPath texts of the definition.
    paths: Mutex<ParseCache<JsonPath>>,
    /// Parsed intrinsic calls of the definition.
    calls: Mutex<ParseCache<Intrinsic>>,
    clock: Clock,
    deadline: Option<f64>,
    execution: Value,
    state_machine: Value,
}

/// Run `machine` on `input` to completion.
pub async fn execute(
    machine: &StateMachine,
    input: Value,
    invoker: &dyn TaskInvoker,
    options: RunOptions,
) -> Execution {
    let start_wall = Utc::now();
    let exec_name = options
        .execution_name
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let sm_name = options.state_machine_name.clone();
    let runner = Runner {
        invoker,
        opts: &options,
        recorder: Mutex::new(Recorder::default()),
        paths: Mutex::new(ParseCache::default()),
        calls: Mutex::new(ParseCache::default()),
        clock: Clock {
            start: Instant::now(),
            start_wall,
            start_micros: start_wall.timestamp_micros(),
            skipped: AtomicU64::new(0.0f64.to_bits()),
        },
        deadline: machine.timeout_seconds,
        execution: json!({
            "Id": format!("arn:aws:states:us-east-1:111111111111:execution:{sm_name}:{exec_name}"),
            "Input": input.clone(),
            "Name": exec_name,
            "RoleArn": "arn:aws:iam::111111111111:role/StepFunctionsLocal",
            "StartTime": start_wall.to_rfc3339_opts(SecondsFormat::Millis, true),
            "RedriveCount": 0
        }),
        state_machine: json!({
            "Id": format!("arn:aws:states:us-east-1:111111111111:stateMachine:{sm_name}"),
            "Name": sm_name
        }),
    };
    let input: Payload = Arc::new(input);
    let mut ev = HistoryEvent::new("ExecutionStarted");
    ev.input = Some(input.clone());
    runner.record(ev);

    let result = if machine.uses_jsonata() {
        Err(Failure {
            error: "States.Runtime".into(),
            cause: Some("unsupported: JSONata query language".into()),
            kind: FailureKind::Fatal,
        })
    } else {
        let mut scope = Scope::default();
        let run = runner.run_machine(machine, input, &mut scope);
        match machine.timeout_seconds {
            // The virtual clock is never behind the real one, so a real deadline of
            // TimeoutSeconds only fires for work that blocks (a Task that never answers).
            Some(t) if t > 0.0 => match tokio::time::timeout(Duration::from_secs_f64(t), run).await
            {
                Ok(r) => r,
                Err(_) => Err(runner.timeout_failure()),
            },
            _ => run.await,
        }
    };

    let (status, output, error, cause) = match result {
        Ok(out) => {
            let mut ev = HistoryEvent::new("ExecutionSucceeded");
            ev.output = Some(out.clone());
            runner.record(ev);
            (ExecutionStatus::Succeeded, Some(out), None, None)
        }
        Err(f) if f.kind == FailureKind::ExecutionTimeout => {
            let mut ev = HistoryEvent::new("ExecutionTimedOut");
            ev.error = Some(f.error.clone());
            ev.cause = f.cause.clone();
            runner.record(ev);
            (ExecutionStatus::TimedOut, None, Some(f.error), f.cause)
        }
        Err(f) => {
            let mut ev = HistoryEvent::new("ExecutionFailed");
            ev.error = Some(f.error.clone());
            ev.cause = f.cause.clone();
            runner.record(ev);
            (ExecutionStatus::Failed, None, Some(f.error), f.cause)
        }
    };
    let history = runner.recorder.into_inner().expect("history").events;
    Execution {
        status,
        // The history keeps its own reference: one copy, at the very end.
        output: output.map(Arc::unwrap_or_clone),
        error,
        cause,
        history,
    }
}

fn runtime_cause(state: &str, entered: u64, msg: &str) -> String {
    format!("An error occurred while executing the state '{state}' (entered at the event id #{entered}). {msg}")
}

impl<'a> Runner<'a> {
    fn record(&self, ev: HistoryEvent) -> u64 {
        self.record_timed(ev).0
    }

    /// [`Self::record`], also returning the clock reading the event carries.
    fn record_timed(&self, mut ev: HistoryEvent) -> (u64, f64) {
        let mut r = self.recorder.lock().expect("history");
        ev.id = r.events.len() as u64 + 1;
        ev.previous_event_id = r.events.len() as u64;
        let elapsed = self.clock.elapsed();
        ev.elapsed_seconds = elapsed;
        ev.timestamp = r.timestamps.format(&self.clock, elapsed);
        let id = ev.id;
        if let Some(o) = &self.opts.observer {
            o.on_event(&ev);
        }
        r.events.push(ev);
        (id, elapsed)
    }

    /// `JsonPath::parse(text)`, parsed once per execution.
    fn parse_path(&self, text: &str) -> Arc<Result<JsonPath, String>> {
        self.paths
            .lock()
            .expect("paths")
            .get_or_parse(text, JsonPath::parse)
    }

    /// `Intrinsic::parse(text)`, parsed once per execution.
    fn parse_call(&self, text: &str) -> Arc<Result<Intrinsic, String>> {
        self.calls
            .lock()
            .expect("calls")
            .get_or_parse(text, Intrinsic::parse)
    }

    fn state_event(&self, ty: &'static str, state: &Arc<str>) -> HistoryEvent {
        let mut ev = HistoryEvent::new(ty);
        ev.state_name = Some(state.clone());
        ev
    }

    fn check_deadline(&self) -> Result<(), Failure> {
        match self.deadline {
            Some(d) if self.clock.elapsed() > d => Err(self.timeout_failure()),
            _ => Ok(()),
        }
    }

    fn timeout_failure(&self) -> Failure {
        Failure {
            error: "States.Timeout".into(),
            cause: Some(
                "The execution timed out (TimeoutSeconds of the state machine elapsed).".into(),
            ),
            kind: FailureKind::ExecutionTimeout,
        }
    }

    /// Sleep `secs` of virtual time; fails when the execution deadline falls inside.
    async fn wait(&self, secs: f64) -> Result<(), Failure> {
        let secs = secs.max(0.0);
        let mut todo = secs;
        let mut hit_deadline = false;
        if let Some(d) = self.deadline {
            let left = (d - self.clock.elapsed()).max(0.0);
            if todo > left {
                todo = left;
                hit_deadline = true;
            }
        }
        let real = todo * self.opts.wait_scale.max(0.0);
        if real > 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(real)).await;
        }
        self.clock.advance(todo - real);
        if hit_deadline {
            self.clock.advance(1e-3);
            return Err(self.timeout_failure());
        }
        Ok(())
    }

    fn context(
        &self,
        state: &str,
        entered: &str,
        retry: u32,
        item: Option<(usize, &Value)>,
    ) -> Value {
        let mut ctx = json!({
            "Execution": self.execution,
            "State": {"EnteredTime": entered, "Name": state, "RetryCount": retry},
            "StateMachine": self.state_machine,
        });
        if let Some((i, v)) = item {
            ctx["Map"] = json!({"Item": {"Index": i, "Value": v}});
        }
        ctx
    }

    fn run_machine<'s>(
        &'s self,
        machine: &'s StateMachine,
        input: Payload,
        scope: &'s mut Scope,
    ) -> BoxFut<'s, Result<Payload, Failure>> {
        Box::pin(async move {
            let mut name: &str = &machine.start_at;
            let mut input = input;
            loop {
                self.check_deadline()?;
                let state = machine.state(name).ok_or_else(|| Failure {
                    error: "States.Runtime".into(),
                    cause: Some(format!("The state '{name}' does not exist.")),
                    kind: FailureKind::Fatal,
                })?;
                match self.run_state(state, input, scope).await? {
                    Transition::Next(n, out) => {
                        name = n;
                        input = out;
                    }
                    Transition::End(out) => return Ok(out),
                }
            }
        })
    }

    async fn run_state<'m>(
        &self,
        state: &'m State,
        raw: Payload,
        scope: &mut Scope,
    ) -> Result<Transition<'m>, Failure> {
        let kind = state.kind.as_str();
        let (entered_type, exited_type) = event_types(kind);
        let mut ev = self.state_event(entered_type, &state.name);
        ev.input = Some(raw.clone());
        let (entered, entered_at) = self.record_timed(ev);
        let sc = StateCtx {
            state,
            entered,
            entered_time: self.clock.at(entered_at),
            retry: 0,
        };
        let (next, output) = match kind {
            "Pass" => self.run_pass(&sc, &raw, scope)?,
            "Task" | "Parallel" | "Map" => {
                let (next, out) = self.run_with_handlers(&sc, &raw, scope).await?;
                (next, Arc::new(out))
            }
            "Choice" => self.run_choice(&sc, &raw, scope)?,
            "Wait" => self.run_wait(&sc, &raw, scope).await?,
            "Succeed" => {
                let eff = self.input_path_cow(&sc, &raw, scope)?;
                (None, self.hand_on(&sc, &raw, eff, scope)?)
            }
            "Fail" => return Err(self.run_fail(&sc, &raw, scope)),
            other => {
                return Err(Failure {
                    error: "States.Runtime".into(),
                    cause: Some(runtime_cause(
                        &state.name,
                        entered,
                        &format!("Unsupported state type '{other}'."),
                    )),
                    kind: FailureKind::Fatal,
                })
            }
        };
        self.check_size(&state.name, &output, true)?;
        let mut ev = self.state_event(exited_type, &state.name);
        ev.output = Some(output.clone());
        self.record(ev);
        match next {
            Some(n) => Ok(Transition::Next(n, output)),
            None => Ok(Transition::End(output)),
        }
    }

    fn check_size(&self, who: &str, v: &Value, fatal: bool) -> Result<(), Failure> {
        if json_len_bound(v) <= MAX_PAYLOAD_BYTES {
            return Ok(());
        }
        let size = json_len(v);
        if size > MAX_PAYLOAD_BYTES {
            return Err(Failure {
                error: "States.DataLimitExceeded".into(),
                cause: Some(format!(
                    "The state/task '{who}' returned a result with a size exceeding the maximum number of bytes service limit."
                )),
                kind: if fatal {
                    FailureKind::Fatal
                } else {
                    FailureKind::Catchable
                },
            });
        }
        Ok(())
    }

    fn fatal(&self, sc: &StateCtx<'_>, msg: &str) -> Failure {
        Failure {
            error: "States.Runtime".into(),
            cause: Some(runtime_cause(&sc.state.name, sc.entered, msg)),
            kind: FailureKind::Fatal,
        }
    }

    fn next_of<'s>(&self, sc: &StateCtx<'s>) -> Option<&'s str> {
        if sc.state.is_end() {
            None
        } else {
            sc.state.next()
        }
    }

    /// Read a path for `state`: `$…` from `input`, `$$…` from the context, `$var…` from variables.
    fn read_path(
        &self,
        sc: &StateCtx<'_>,
        path: &JsonPath,
        input: &Value,
        scope: &Scope,
        item: Option<(usize, &Value)>,
    ) -> Result<Value, String> {
        match &path.root {
            Root::Input => path.read(input).map_err(|e| e.message),
            Root::Context => {
                let entered = sc.entered_time.to_rfc3339_opts(SecondsFormat::Millis, true);
                let ctx = self.context(&sc.state.name, &entered, sc.retry(), item);
                path.read(&ctx).map_err(|e| e.message)
            }
            Root::Variable(v) => match scope.vars.get(v) {
                Some(doc) => path.read(doc).map_err(|e| e.message),
                None => Err(format!("The variable '${v}' is not defined.")),
            },
        }
    }

    /// Evaluate a `.$` value: a path or an intrinsic call.
    fn eval_expr(
        &self,
        sc: &StateCtx<'_>,
        expr: &str,
        input: &Value,
        scope: &Scope,
        item: Option<(usize, &Value)>,
    ) -> Result<Value, String> {
        if intrinsics::is_intrinsic(expr) {
            let resolve = |p: &JsonPath| self.read_path(sc, p, input, scope, item);
            return match &*self.parse_call(expr) {
                Ok(call) => call.eval(&resolve),
                Err(e) => Err(e.clone()),
            };
        }
        match &*self.parse_path(expr) {
            Ok(path) => self.read_path(sc, path, input, scope, item),
            Err(e) => Err(e.clone()),
        }
    }

    /// Resolve a payload template (`Parameters`, `ItemSelector`, `ResultSelector`, `Assign`).
    fn template(
        &self,
        sc: &StateCtx<'_>,
        tmpl: &Value,
        input: &Value,
        scope: &Scope,
        item: Option<(usize, &Value)>,
    ) -> Result<Value, Failure> {
        match tmpl {
            Value::Object(o) => {
                let mut out = Map::new();
                for (k, v) in o {
                    match (k.strip_suffix(".$"), v) {
                        (Some(key), Value::String(expr)) => {
                            let val = self.eval_expr(sc, expr, input, scope, item).map_err(|e| {
                                if intrinsics::is_intrinsic(expr) {
                                    self.fatal(sc, &e)
                                } else {
                                    self.fatal(
                                        sc,
                                        &format!(
                                            "The JSONPath '{expr}' specified for the field '{k}' could not be found in the input '{}'",
                                            input
                                        ),
                                    )
                                }
                            })?;
                            out.insert(key.to_string(), val);
                        }
                        _ => {
                            out.insert(k.clone(), self.template(sc, v, input, scope, item)?);
                        }
                    }
                }
                Ok(Value::Object(out))
            }
            Value::Array(a) => a
                .iter()
                .map(|v| self.template(sc, v, input, scope, item))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            v => Ok(v.clone()),
        }
    }

    /// The output of a state that hands on its effective input (Choice, Wait,
    /// Succeed): OutputPath applied to it, or, with neither InputPath nor
    /// OutputPath, the raw input itself, shared rather than copied.
    fn hand_on(
        &self,
        sc: &StateCtx<'_>,
        raw: &Payload,
        eff: Cow<'_, Value>,
        scope: &Scope,
    ) -> Result<Payload, Failure> {
        match (eff, sc.state.get("OutputPath")) {
            (Cow::Borrowed(_), None) => Ok(raw.clone()),
            (eff, _) => Ok(Arc::new(self.output_path(sc, eff.into_owned(), scope)?)),
        }
    }

    fn input_path(&self, sc: &StateCtx<'_>, raw: &Value, scope: &Scope) -> Result<Value, Failure> {
        self.input_path_cow(sc, raw, scope).map(Cow::into_owned)
    }

    /// [`Self::input_path`], borrowing the raw input when there is no `InputPath`.
    fn input_path_cow<'v>(
        &self,
        sc: &StateCtx<'_>,
        raw: &'v Value,
        scope: &Scope,
    ) -> Result<Cow<'v, Value>, Failure> {
        Ok(Cow::Owned(match sc.state.get("InputPath") {
            None => return Ok(Cow::Borrowed(raw)),
            Some(Value::Null) => json!({}),
            Some(Value::String(p)) => self.read_field_path(sc, p, raw, scope)?,
            Some(other) => return Err(self.fatal(sc, &format!("Invalid InputPath {other}"))),
        }))
    }

    fn read_field_path(
        &self,
        sc: &StateCtx<'_>,
        p: &str,
        doc: &Value,
        scope: &Scope,
    ) -> Result<Value, Failure> {
        let parsed = self.parse_path(p);
        let path = match &*parsed {
            Ok(path) => path,
            Err(e) => return Err(self.fatal(sc, &format!("Invalid path '{p}' : {e}"))),
        };
        self.read_path(sc, path, doc, scope, None)
            .map_err(|e| self.fatal(sc, &format!("Invalid path '{p}' : {e}")))
    }

    fn output_path(&self, sc: &StateCtx<'_>, v: Value, scope: &Scope) -> Result<Value, Failure> {
        match sc.state.get("OutputPath") {
            None => Ok(v),
            Some(Value::Null) => Ok(json!({})),
            Some(Value::String(p)) => self.read_field_path(sc, p, &v, scope),
            Some(other) => Err(self.fatal(sc, &format!("Invalid OutputPath {other}"))),
        }
    }

    fn result_path_of(
        &self,
        sc: &StateCtx<'_>,
        field: Option<&Value>,
        raw: &Value,
        result: Value,
    ) -> Result<Value, Failure> {
        match field {
            None => Ok(result),
            Some(Value::Null) => Ok(raw.clone()),
            Some(Value::String(p)) => {
                let parsed = self.parse_path(p);
                let path = match &*parsed {
                    Ok(path) => path,
                    Err(e) => return Err(self.fatal(sc, &format!("Invalid path '{p}' : {e}"))),
                };
                let mut doc = raw.clone();
                path.write(&mut doc, result)
                    .map_err(|e| self.fatal(sc, &format!("Invalid path '{p}' : {}", e.message)))?;
                Ok(doc)
            }
            Some(other) => Err(self.fatal(sc, &format!("Invalid ResultPath {other}"))),
        }
    }

    /// `Assign` (JSONPath mode): evaluated against `value`, all at once.
    /// The caller stores the result with [`Scope::store`] only after OutputPath,
    /// because paths in the same state still see the old values.
    fn assign(
        &self,
        sc: &StateCtx<'_>,
        assign: Option<&Value>,
        value: &Value,
        scope: &Scope,
    ) -> Result<Option<Value>, Failure> {
        let Some(a) = assign else { return Ok(None) };
        Ok(Some(self.template(sc, a, value, scope, None)?))
    }

    /// ResultSelector → ResultPath → OutputPath (+ Assign), shared by Task/Map/Parallel/Pass.
    fn finish(
        &self,
        sc: &StateCtx<'_>,
        raw: &Value,
        result: Value,
        scope: &mut Scope,
    ) -> Result<Value, Failure> {
        let result = match sc.state.get("ResultSelector") {
            Some(sel) => self.template(sc, sel, &result, scope, None)?,
            None => result,
        };
        let assigned = self.assign(sc, sc.state.get("Assign"), &result, scope)?;
        let merged = self.result_path_of(sc, sc.state.get("ResultPath"), raw, result)?;
        let out = self.output_path(sc, merged, scope)?;
        scope.store(assigned);
        Ok(out)
    }

    fn run_pass<'s>(
        &self,
        sc: &StateCtx<'s>,
        raw: &Payload,
        scope: &mut Scope,
    ) -> Result<(Option<&'s str>, Payload), Failure> {
        let eff = self.input_path_cow(sc, raw, scope)?;
        let result = match (sc.state.get("Result"), sc.state.get("Parameters")) {
            // `Result` is literal: keys ending in `.$` are not evaluated.
            (Some(r), _) => r.clone(),
            (None, Some(p)) => self.template(sc, p, &eff, scope, None)?,
            (None, None) => eff.into_owned(),
        };
        self.check_size(&sc.state.name, &result, true)?;
        let out = self.finish(sc, raw, result, scope)?;
        Ok((self.next_of(sc), Arc::new(out)))
    }

    fn run_choice<'s>(
        &self,
        sc: &StateCtx<'s>,
        raw: &Payload,
        scope: &mut Scope,
    ) -> Result<(Option<&'s str>, Payload), Failure> {
        let eff = self.input_path_cow(sc, raw, scope)?;
        let rules: &'s [Value] = sc
            .state
            .get("Choices")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice);
        let mut chosen: Option<(&'s str, Option<&'s Value>)> = None;
        for rule in rules {
            let Some(r) = rule.as_object() else { continue };
            let read = |p: &str| -> Result<Option<Value>, String> {
                let parsed = self.parse_path(p);
                let path = parsed.as_ref().as_ref().map_err(Clone::clone)?;
                match self.read_path(sc, path, &eff, scope, None) {
                    Ok(v) => Ok(Some(v)),
                    Err(_) => Ok(None),
                }
            };
            let hit = choice::evaluate(r, &read).map_err(|e| self.fatal(sc, &e))?;
            if hit {
                let next = small_get(r, "Next")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                chosen = Some((next, small_get(r, "Assign")));
                break;
            }
        }
        let (next, rule_assign) = match chosen {
            Some(c) => c,
            None => match sc.state.str("Default") {
                Some(d) => (d, None),
                None => {
                    return Err(Failure::catchable(
                        "States.NoChoiceMatched",
                        Some(runtime_cause(
                            &sc.state.name,
                            sc.entered,
                            "No Choice matched and no Default is set.",
                        )),
                    )
                    .fatalize())
                }
            },
        };
        let a1 = self.assign(sc, sc.state.get("Assign"), &eff, scope)?;
        let a2 = self.assign(sc, rule_assign, &eff, scope)?;
        let out = self.hand_on(sc, raw, eff, scope)?;
        scope.store(a1);
        scope.store(a2);
        Ok((Some(next), out))
    }

    async fn run_wait<'s>(
        &self,
        sc: &StateCtx<'s>,
        raw: &Payload,
        scope: &mut Scope,
    ) -> Result<(Option<&'s str>, Payload), Failure> {
        let eff = self.input_path_cow(sc, raw, scope)?;
        let st = sc.state;
        let secs: f64 = if let Some(s) = st.get("Seconds") {
            s.as_f64().unwrap_or(0.0)
        } else if let Some(Value::String(p)) = st.get("SecondsPath") {
            let v = self.read_field_path(sc, p, &eff, scope)?;
            let shown = match &v {
                Value::String(s) => s.clone(),
                o => o.to_string(),
            };
            let n = match &v {
                Value::Number(n) if n.is_i64() || n.is_u64() => n.as_f64().unwrap_or(0.0),
                _ => {
                    return Err(self.fatal(
                        sc,
                        &format!("The SecondsPath parameter cannot be parsed as a long value: {p} == {shown}"),
                    ))
                }
            };
            if n < 0.0 {
                return Err(self.fatal(
                    sc,
                    &format!(
                        "The SecondsPath parameter references a negative value: {p} == {shown}"
                    ),
                ));
            }
            n
        } else {
            let (field, text) = if let Some(t) = st.get("Timestamp") {
                ("Timestamp", t.clone())
            } else if let Some(Value::String(p)) = st.get("TimestampPath") {
                ("TimestampPath", self.read_field_path(sc, p, &eff, scope)?)
            } else {
                ("Timestamp", Value::Null)
            };
            let parsed = text.as_str().and_then(choice::parse_timestamp);
            match parsed {
                Some(ts) => {
                    let target = ts.with_timezone(&Utc);
                    (target - self.clock.now()).num_milliseconds().max(0) as f64 / 1000.0
                }
                None => {
                    let shown = match &text {
                        Value::String(s) => s.clone(),
                        o => o.to_string(),
                    };
                    let p = st.str("TimestampPath").unwrap_or("");
                    return Err(self.fatal(
                        sc,
                        &format!("The {field} parameter does not reference a valid ISO-8601 extended offset date-time format string: {p} == {shown}"),
                    ));
                }
            }
        };
        self.wait(secs).await?;
        let assigned = self.assign(sc, st.get("Assign"), &eff, scope)?;
        let out = self.hand_on(sc, raw, eff, scope)?;
        scope.store(assigned);
        Ok((self.next_of(sc), out))
    }

    fn run_fail(&self, sc: &StateCtx<'_>, raw: &Value, scope: &Scope) -> Failure {
        let st = sc.state;
        let pick = |lit: &str, path: &str| -> Result<Option<String>, Failure> {
            if let Some(v) = st.str(lit) {
                return Ok(Some(v.to_string()));
            }
            if let Some(p) = st.str(path) {
                let v = self
                    .eval_expr(sc, p, raw, scope, None)
                    .map_err(|e| self.fatal(sc, &format!("Invalid path '{p}' : {e}")))?;
                return Ok(Some(match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                }));
            }
            Ok(None)
        };
        let error = match pick("Error", "ErrorPath") {
            Ok(e) => e,
            Err(f) => return f,
        };
        let cause = match pick("Cause", "CausePath") {
            Ok(c) => c,
            Err(f) => return f,
        };
        Failure {
            error: error.unwrap_or_default(),
            cause,
            kind: FailureKind::Catchable,
        }
    }

    /// Task, Parallel and Map: run with Retry/Catch.
    async fn run_with_handlers<'s>(
        &self,
        sc: &StateCtx<'s>,
        raw: &Value,
        scope: &mut Scope,
    ) -> Result<(Option<&'s str>, Value), Failure> {
        let st = sc.state;
        let retriers: &'s [Value] = st
            .get("Retry")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice);
        let catchers: &'s [Value] = st
            .get("Catch")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice);
        let mut attempts = vec![0u32; retriers.len()];
        let mut retry_count = 0u32;
        loop {
            let sc2 = StateCtx {
                state: st,
                entered: sc.entered,
                entered_time: sc.entered_time,
                retry: retry_count,
            };
            let attempt = match st.kind.as_str() {
                "Task" => self.task_attempt(&sc2, raw, scope, retry_count).await,
                "Parallel" => self.parallel_attempt(&sc2, raw, scope).await,
                _ => self.map_attempt(&sc2, raw, scope).await,
            };
            let failure = match attempt {
                Ok(result) => {
                    let out = self.finish(sc, raw, result, scope)?;
                    return Ok((self.next_of(sc), out));
                }
                Err(f) => f,
            };
            if failure.kind != FailureKind::Catchable {
                return Err(failure);
            }
            // Retry: the first retrier whose ErrorEquals matches decides.
            if let Some(i) = retriers.iter().position(|r| {
                r.get("ErrorEquals")
                    .and_then(Value::as_array)
                    .is_some_and(|l| error_matches(l, &failure.error))
            }) {
                let r = &retriers[i];
                let max = r.get("MaxAttempts").and_then(Value::as_u64).unwrap_or(3) as u32;
                if attempts[i] < max {
                    let interval = r
                        .get("IntervalSeconds")
                        .and_then(Value::as_f64)
                        .unwrap_or(1.0);
                    let rate = r.get("BackoffRate").and_then(Value::as_f64).unwrap_or(2.0);
                    let mut delay = interval * rate.powi(attempts[i] as i32);
                    if let Some(m) = r.get("MaxDelaySeconds").and_then(Value::as_f64) {
                        delay = delay.min(m);
                    }
                    if r.get("JitterStrategy").and_then(Value::as_str) == Some("FULL") {
                        delay *= intrinsics::random_fraction();
                    }
                    attempts[i] += 1;
                    retry_count += 1;
                    self.wait(delay).await?;
                    continue;
                }
            }
            for c in catchers {
                let matches = c
                    .get("ErrorEquals")
                    .and_then(Value::as_array)
                    .is_some_and(|l| error_matches(l, &failure.error));
                if !matches {
                    continue;
                }
                let err_obj = failure.error_object();
                let assigned = self.assign(sc, c.get("Assign"), &err_obj, scope)?;
                let out = self.result_path_of(sc, c.get("ResultPath"), raw, err_obj)?;
                scope.store(assigned);
                let next = c.get("Next").and_then(Value::as_str).unwrap_or_default();
                return Ok((Some(next), out));
            }
            return Err(failure);
        }
    }

    fn timeout_of(
        &self,
        sc: &StateCtx<'_>,
        eff: &Value,
        scope: &Scope,
    ) -> Result<Option<f64>, Failure> {
        if let Some(t) = sc.state.get("TimeoutSeconds").and_then(Value::as_f64) {
            return Ok(Some(t));
        }
        if let Some(p) = sc.state.str("TimeoutSecondsPath") {
            let v = self.read_field_path(sc, p, eff, scope)?;
            return match v.as_f64() {
                Some(t) if t > 0.0 => Ok(Some(t)),
                _ => Err(self.fatal(
                    sc,
                    &format!("The TimeoutSecondsPath parameter does not reference a positive integer: {p} == {v}"),
                )),
            };
        }
        Ok(None)
    }

    async fn task_attempt(
        &self,
        sc: &StateCtx<'_>,
        raw: &Value,
        scope: &mut Scope,
        attempt: u32,
    ) -> Result<Value, Failure> {
        let st = sc.state;
        let eff = self.input_path(sc, raw, scope)?;
        let params = match st.get("Parameters") {
            Some(p) => self.template(sc, p, &eff, scope, None)?,
            None => eff.clone(),
        };
        let timeout = self.timeout_of(sc, &eff, scope)?;
        let kind = st.resource_kind();
        let resource = st.resource_text();
        let (function, payload) = match kind {
            ResourceKind::LambdaInvoke => (
                params
                    .get("FunctionName")
                    .and_then(function_from_arn_or_name)
                    .unwrap_or_default(),
                params.get("Payload").cloned().unwrap_or(json!({})),
            ),
            _ => (
                st.static_function().unwrap_or_else(|| resource.clone()),
                params.clone(),
            ),
        };
        let mut ev = self.state_event("TaskScheduled", &st.name);
        ev.resource = Some(resource.clone());
        ev.input = Some(Arc::new(params.clone()));
        self.record(ev);
        self.record(self.state_event("TaskStarted", &st.name));
        let call = TaskCall {
            state_name: st.name.to_string(),
            function,
            resource: resource.clone(),
            kind: kind.clone(),
            payload,
            parameters: params,
            attempt,
        };
        let fut = self.invoker.invoke_task(&call);
        let result = match timeout {
            Some(t) if self.opts.enforce_task_timeouts => {
                match tokio::time::timeout(Duration::from_secs_f64(t), fut).await {
                    Ok(r) => r.map_err(|f| (f.error, Some(f.cause))),
                    Err(_) => Err(("States.Timeout".to_string(), None)),
                }
            }
            _ => fut.await.map_err(|f| (f.error, Some(f.cause))),
        };
        match result {
            Ok(v) => {
                // The service names the Lambda resource ("lambda" for the integration) in the cause.
                let who = if kind == ResourceKind::LambdaInvoke {
                    "lambda".to_string()
                } else {
                    resource
                };
                if let Err(f) = self.check_size(&who, &v, false) {
                    let mut ev = self.state_event("TaskFailed", &st.name);
                    ev.error = Some(f.error.clone());
                    ev.cause = f.cause.clone();
                    self.record(ev);
                    return Err(f);
                }
                let v = Arc::new(v);
                let mut ev = self.state_event("TaskSucceeded", &st.name);
                ev.output = Some(v.clone());
                self.record(ev);
                Ok(Arc::unwrap_or_clone(v))
            }
            Err((error, cause)) => {
                let cause = cause.filter(|c| !c.is_empty());
                let mut ev = self.state_event("TaskFailed", &st.name);
                ev.error = Some(error.clone());
                ev.cause = cause.clone();
                self.record(ev);
                Err(Failure::catchable(error, cause))
            }
        }
    }

    async fn parallel_attempt(
        &self,
        sc: &StateCtx<'_>,
        raw: &Value,
        scope: &mut Scope,
    ) -> Result<Value, Failure> {
        let st = sc.state;
        let eff = self.input_path(sc, raw, scope)?;
        let input = match st.get("Parameters") {
            Some(p) => self.template(sc, p, &eff, scope, None)?,
            None => eff,
        };
        self.record(self.state_event("ParallelStateStarted", &st.name));
        let mut results = Vec::with_capacity(st.branches.len());
        for b in &st.branches {
            let mut inner = scope.clone();
            match self
                .run_machine(b, Arc::new(input.clone()), &mut inner)
                .await
            {
                Ok(v) => results.push(Arc::unwrap_or_clone(v)),
                Err(f) => {
                    let mut ev = self.state_event("ParallelStateFailed", &st.name);
                    ev.error = Some(f.error.clone());
                    ev.cause = f.cause.clone();
                    self.record(ev);
                    return Err(f);
                }
            }
        }
        self.record(self.state_event("ParallelStateSucceeded", &st.name));
        Ok(Value::Array(results))
    }

    fn int_field(
        &self,
        sc: &StateCtx<'_>,
        field: &str,
        eff: &Value,
        scope: &Scope,
        float: bool,
    ) -> Result<Option<f64>, Failure> {
        if let Some(v) = sc.state.get(field) {
            return Ok(v.as_f64());
        }
        let pf = format!("{field}Path");
        let Some(p) = sc.state.str(&pf) else {
            return Ok(None);
        };
        let v = self.read_field_path(sc, p, eff, scope)?;
        // AWS accepts numeric strings too ("1").
        let ok = match &v {
            Value::Number(n) if float => n.as_f64(),
            Value::Number(n) => n.as_i64().map(|i| i as f64),
            Value::String(s) if float => s.trim().parse::<f64>().ok(),
            Value::String(s) => s.trim().parse::<i64>().ok().map(|i| i as f64),
            _ => None,
        };
        match ok {
            Some(x) => Ok(Some(x)),
            None => {
                let shown = match &v {
                    Value::String(s) => s.clone(),
                    o => o.to_string(),
                };
                let what = if float { "float" } else { "integer" };
                Err(self.fatal(
                    sc,
                    &format!("The {pf} field refers to value \"{shown}\" which is not a valid {what}: {p}"),
                ))
            }
        }
    }

    async fn map_attempt(
        &self,
        sc: &StateCtx<'_>,
        raw: &Value,
        scope: &mut Scope,
    ) -> Result<Value, Failure> {
        let st = sc.state;
        let eff = self.input_path(sc, raw, scope)?;
        let items_v = match st.get("Items") {
            Some(tmpl) => self.template(sc, &json!({"v": tmpl}), &eff, scope, None)?["v"].take(),
            None => match st.str("ItemsPath") {
                Some(p) => self.read_field_path(sc, p, &eff, scope)?,
                None => eff.clone(),
            },
        };
        let Value::Array(items) = items_v else {
            return Err(self.fatal(
                sc,
                &format!(
                    "Invalid path '{}' : The Map state's items must be a JSON array, got: {}",
                    st.str("ItemsPath").unwrap_or("$"),
                    items_v
                ),
            ));
        };
        let _max_concurrency = self.int_field(sc, "MaxConcurrency", &eff, scope, false)?;
        let tol_count = self.int_field(sc, "ToleratedFailureCount", &eff, scope, false)?;
        if tol_count.is_some_and(|c| c < 0.0) {
            return Err(self.fatal(sc, "ToleratedFailureCount cannot be negative."));
        }
        let tol_pct = self.int_field(sc, "ToleratedFailurePercentage", &eff, scope, true)?;
        if tol_pct.is_some_and(|p| !(0.0..=100.0).contains(&p)) {
            return Err(self.fatal(sc, "ToleratedFailurePercentage must be between 0 and 100."));
        }
        // A Distributed Map fails its map run with ExceedToleratedFailureThreshold
        // (threshold 0 by default) instead of passing the item's error through.
        let distributed = st
            .get("ItemProcessor")
            .and_then(|p| p.get("ProcessorConfig"))
            .and_then(|c| c.get("Mode"))
            .and_then(Value::as_str)
            == Some("DISTRIBUTED");
        let tolerant = tol_count.is_some() || tol_pct.is_some() || distributed;
        let processor = st
            .processor
            .as_deref()
            .ok_or_else(|| self.fatal(sc, "The Map state has no ItemProcessor or Iterator."))?;
        let mut ev = self.state_event("MapStateStarted", &st.name);
        ev.index = Some(items.len());
        self.record(ev);
        let selector = st.get("ItemSelector").or_else(|| st.get("Parameters"));
        let mut inputs = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            inputs.push(match selector {
                Some(sel) => self.template(sc, sel, &eff, scope, Some((i, item)))?,
                None => item.clone(),
            });
        }
        // ItemBatcher: each iteration gets {"BatchInput": …, "Items": [up to MaxItemsPerBatch]}.
        if let Some(batcher) = st.get("ItemBatcher") {
            let bsc = StateCtx {
                state: st,
                entered: sc.entered,
                entered_time: sc.entered_time,
                retry: sc.retry,
            };
            let max = match batcher.get("MaxItemsPerBatch").and_then(Value::as_u64) {
                Some(m) => Some(m),
                None => match batcher.get("MaxItemsPerBatchPath").and_then(Value::as_str) {
                    Some(p) => self.read_field_path(&bsc, p, &eff, scope)?.as_u64(),
                    None => None,
                },
            };
            let size = max.unwrap_or(inputs.len() as u64).max(1) as usize;
            let batch_input = match batcher.get("BatchInput") {
                Some(b) => Some(self.template(sc, b, &eff, scope, None)?),
                None => None,
            };
            inputs = inputs
                .chunks(size)
                .map(|chunk| {
                    let mut o = Map::new();
                    if let Some(b) = &batch_input {
                        o.insert("BatchInput".into(), b.clone());
                    }
                    o.insert("Items".into(), Value::Array(chunk.to_vec()));
                    Value::Object(o)
                })
                .collect();
        }
        let total = inputs.len();
        let mut results = Vec::with_capacity(total);
        let mut failures = 0usize;
        for (i, input) in inputs.into_iter().enumerate() {
            let mut ev = self.state_event("MapIterationStarted", &st.name);
            ev.index = Some(i);
            self.record(ev);
            let mut inner = scope.clone();
            match self
                .run_machine(processor, Arc::new(input), &mut inner)
                .await
            {
                Ok(v) => {
                    let v = Arc::unwrap_or_clone(v);
                    let mut ev = self.state_event("MapIterationSucceeded", &st.name);
                    ev.index = Some(i);
                    self.record(ev);
                    results.push(v);
                }
                Err(f) => {
                    let mut ev = self.state_event("MapIterationFailed", &st.name);
                    ev.index = Some(i);
                    ev.error = Some(f.error.clone());
                    ev.cause = f.cause.clone();
                    self.record(ev);
                    if f.kind != FailureKind::Catchable {
                        return Err(f);
                    }
                    failures += 1;
                    let within_count = tol_count.is_some_and(|c| failures as f64 <= c);
                    let within_pct =
                        tol_pct.is_some_and(|p| (failures as f64) * 100.0 / (total as f64) <= p);
                    if !(within_count || within_pct) {
                        let err = if tolerant {
                            Failure::catchable(
                                "States.ExceedToleratedFailureThreshold",
                                Some(
                                    "The specified tolerated failure threshold was exceeded".into(),
                                ),
                            )
                        } else {
                            f
                        };
                        let mut ev = self.state_event("MapStateFailed", &st.name);
                        ev.error = Some(err.error.clone());
                        ev.cause = err.cause.clone();
                        self.record(ev);
                        return Err(err);
                    }
                    results.push(f.error_object());
                }
            }
        }
        self.record(self.state_event("MapStateSucceeded", &st.name));
        Ok(Value::Array(results))
    }
}

/// AWS's `…StateEntered` and `…StateExited` event types of a state type.
fn event_types(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "Pass" => ("PassStateEntered", "PassStateExited"),
        "Task" => ("TaskStateEntered", "TaskStateExited"),
        "Choice" => ("ChoiceStateEntered", "ChoiceStateExited"),
        "Wait" => ("WaitStateEntered", "WaitStateExited"),
        "Succeed" => ("SucceedStateEntered", "SucceedStateExited"),
        "Fail" => ("FailStateEntered", "FailStateExited"),
        "Parallel" => ("ParallelStateEntered", "ParallelStateExited"),
        "Map" => ("MapStateEntered", "MapStateExited"),
        // Validation refuses other types; running one anyway fails right
        // after this event with a cause that names the type.
        _ => ("StateEntered", "StateExited"),
    }
}

impl Failure {
    fn fatalize(mut self) -> Self {
        self.kind = FailureKind::Fatal;
        self
    }
}

struct StateCtx<'s> {
    state: &'s State,
    entered: u64,
    /// `$$.State.EnteredTime` (formatted only when the context is read).
    entered_time: DateTime<Utc>,
    /// `$$.State.RetryCount`.
    retry: u32,
}

impl StateCtx<'_> {
    fn retry(&self) -> u32 {
        self.retry
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invoke::{FnInvoker, MockInvoker, TaskFailure};

    fn machine(def: Value) -> StateMachine {
        StateMachine::from_value(def).unwrap()
    }

    fn fast() -> RunOptions {
        RunOptions {
            wait_scale: 0.0,
            ..RunOptions::default()
        }
    }

    fn types(e: &Execution) -> Vec<&str> {
        e.history.iter().map(|h| h.event_type).collect()
    }

    #[tokio::test]
    async fn given_pass_with_parameters_and_result_path_when_run_then_result_is_merged_into_input()
    {
        let m = machine(json!({"StartAt": "P", "States": {"P": {
            "Type": "Pass", "Parameters": {"sum.$": "States.MathAdd($.a, $.b)", "name": "x"},
            "ResultPath": "$.r", "OutputPath": "$.r", "End": true}}}));
        let e = execute(&m, json!({"a": 1, "b": 2}), &MockInvoker::new(), fast()).await;
        assert_eq!(e.status, ExecutionStatus::Succeeded);
        assert_eq!(e.output, Some(json!({"sum": 3, "name": "x"})));
        assert_eq!(
            types(&e),
            [
                "ExecutionStarted",
                "PassStateEntered",
                "PassStateExited",
                "ExecutionSucceeded"
            ]
        );
    }

    #[tokio::test]
    async fn given_a_task_when_run_then_history_has_aws_event_types_with_chained_ids() {
        let m = machine(json!({"StartAt": "T", "States": {"T": {
            "Type": "Task", "Resource": {"Fn::GetAtt": ["Double", "Arn"]}, "End": true}}}));
        let inv = FnInvoker::new().with("Double", |v: Value| async move {
            Ok(json!(v["n"].as_i64().unwrap_or(0) * 2))
        });
        let e = execute(&m, json!({"n": 21}), &inv, fast()).await;
        assert_eq!(e.output, Some(json!(42)));
        assert_eq!(
            types(&e),
            [
                "ExecutionStarted",
                "TaskStateEntered",
                "TaskScheduled",
                "TaskStarted",
                "TaskSucceeded",
                "TaskStateExited",
                "ExecutionSucceeded"
            ]
        );
        for (i, ev) in e.history.iter().enumerate() {
            assert_eq!(ev.id, i as u64 + 1);
            assert_eq!(ev.previous_event_id, i as u64);
        }
    }

    #[tokio::test]
    async fn given_a_retrier_when_the_task_fails_then_it_is_retried_until_success() {
        let m = machine(json!({"StartAt": "T", "States": {"T": {
            "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:F",
            "Retry": [{"ErrorEquals": ["States.TaskFailed"], "MaxAttempts": 2, "IntervalSeconds": 3}],
            "End": true}}}));
        let inv = MockInvoker::from_value(&json!({"T": [
            {"error": "Boom", "cause": "1"}, {"error": "Boom", "cause": "2"}, {"output": "ok"}]}))
        .unwrap();
        let e = execute(&m, json!({}), &inv, fast()).await;
        assert_eq!(e.status, ExecutionStatus::Succeeded);
        assert_eq!(types(&e).iter().filter(|t| **t == "TaskFailed").count(), 2);
        // 3 s then 6 s of virtual backoff, no real sleeping.
        assert!(e.history.last().unwrap().elapsed_seconds >= 9.0);
    }

    #[tokio::test]
    async fn given_retries_exhausted_when_a_catcher_matches_then_error_goes_to_result_path_and_next(
    ) {
        let m = machine(json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:F",
                  "Retry": [{"ErrorEquals": ["Boom"], "MaxAttempts": 1}],
                  "Catch": [{"ErrorEquals": ["Other"], "Next": "Never"},
                            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Handled"}],
                  "End": true},
            "Never": {"Type": "Succeed"},
            "Handled": {"Type": "Pass", "End": true}}}));
        let inv =
            MockInvoker::from_value(&json!({"F": [{"error": "Boom", "cause": "c"}]})).unwrap();
        let e = execute(&m, json!({"keep": 1}), &inv, fast()).await;
        assert_eq!(
            e.output,
            Some(json!({"keep": 1, "err": {"Error": "Boom", "Cause": "c"}}))
        );
    }

    #[tokio::test]
    async fn given_a_runtime_error_when_states_all_catcher_exists_then_it_is_not_caught() {
        let m = machine(json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:F",
                  "OutputPath": "$.missing",
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handled"}], "End": true},
            "Handled": {"Type": "Succeed"}}}));
        let inv = MockInvoker::from_value(&json!({"F": [{"output": {}}]})).unwrap();
        let e = execute(&m, json!({}), &inv, fast()).await;
        assert_eq!(e.status, ExecutionStatus::Failed);
        assert_eq!(e.error.as_deref(), Some("States.Runtime"));
        assert_eq!(
            e.cause.as_deref(),
            Some("An error occurred while executing the state 'T' (entered at the event id #2). Invalid path '$.missing' : No results for path: $['missing']")
        );
    }

    #[tokio::test]
    async fn given_machine_timeout_shorter_than_a_wait_when_run_at_scale_zero_then_it_times_out_instantly(
    ) {
        let m = machine(json!({"StartAt": "W", "TimeoutSeconds": 5, "States": {
            "W": {"Type": "Wait", "Seconds": 60, "End": true}}}));
        let started = Instant::now();
        let e = execute(&m, json!({}), &MockInvoker::new(), fast()).await;
        assert_eq!(e.status, ExecutionStatus::TimedOut);
        assert_eq!(e.error.as_deref(), Some("States.Timeout"));
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(types(&e).last(), Some(&"ExecutionTimedOut"));
    }

    #[tokio::test]
    async fn given_a_negative_seconds_path_when_waiting_then_states_runtime_names_the_path() {
        let m = machine(json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "SecondsPath": "$.s", "End": true}}}));
        let e = execute(&m, json!({"s": -1}), &MockInvoker::new(), fast()).await;
        assert_eq!(e.error.as_deref(), Some("States.Runtime"));
        assert!(e
            .cause
            .unwrap()
            .ends_with("The SecondsPath parameter references a negative value: $.s == -1"));
    }

    #[tokio::test]
    async fn given_a_map_with_item_selector_when_run_then_context_item_index_and_value_are_available(
    ) {
        let m = machine(json!({"StartAt": "M", "States": {"M": {
            "Type": "Map", "ItemsPath": "$.xs",
            "ItemSelector": {"i.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value", "k.$": "$.k"},
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
            "End": true}}}));
        let e = execute(
            &m,
            json!({"xs": ["a", "b"], "k": 7}),
            &MockInvoker::new(),
            fast(),
        )
        .await;
        assert_eq!(
            e.output,
            Some(json!([{"i": 0, "v": "a", "k": 7}, {"i": 1, "v": "b", "k": 7}]))
        );
        assert!(types(&e).contains(&"MapIterationSucceeded"));
    }

    #[tokio::test]
    async fn given_an_item_batcher_when_run_then_iterations_receive_batches_with_batch_input() {
        let m = machine(json!({"StartAt": "M", "States": {"M": {
            "Type": "Map",
            "ItemBatcher": {"MaxItemsPerBatch": 2, "BatchInput": {"tag.$": "$.tag"}},
            "ItemsPath": "$.xs",
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
            "End": true}}}));
        let e = execute(
            &m,
            json!({"xs": [1, 2, 3], "tag": "t"}),
            &MockInvoker::new(),
            fast(),
        )
        .await;
        assert_eq!(
            e.output,
            Some(json!([
                {"BatchInput": {"tag": "t"}, "Items": [1, 2]},
                {"BatchInput": {"tag": "t"}, "Items": [3]}
            ]))
        );
    }

    #[tokio::test]
    async fn given_a_parallel_state_when_run_then_branch_outputs_form_an_array_in_order() {
        let m = machine(json!({"StartAt": "Par", "States": {"Par": {
            "Type": "Parallel", "End": true, "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 1, "End": true}}},
                {"StartAt": "B", "States": {"B": {"Type": "Pass", "Result": 2, "End": true}}}]}}}));
        let e = execute(&m, json!({}), &MockInvoker::new(), fast()).await;
        assert_eq!(e.output, Some(json!([1, 2])));
    }

    #[tokio::test]
    async fn given_a_result_over_256_kib_when_a_task_returns_it_then_data_limit_exceeded_is_catchable(
    ) {
        let m = machine(json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:Big",
                  "Catch": [{"ErrorEquals": ["States.DataLimitExceeded"], "Next": "H"}], "End": true},
            "H": {"Type": "Pass", "End": true}}}));
        let inv = FnInvoker::new().with("Big", |_v: Value| async move {
            Ok::<Value, TaskFailure>(json!("x".repeat(MAX_PAYLOAD_BYTES + 1)))
        });
        let e = execute(&m, json!({}), &inv, fast()).await;
        assert_eq!(e.status, ExecutionStatus::Succeeded);
        assert_eq!(e.output.unwrap()["Error"], "States.DataLimitExceeded");
    }

    #[tokio::test]
    async fn given_an_observer_when_run_then_it_sees_every_event_in_order() {
        struct Collect(Mutex<Vec<String>>);
        impl Observer for Collect {
            fn on_event(&self, e: &HistoryEvent) {
                self.0.lock().unwrap().push(e.event_type.to_string());
            }
        }
        let obs = Arc::new(Collect(Mutex::new(Vec::new())));
        let m = machine(json!({"StartAt": "F", "States": {
            "F": {"Type": "Fail", "ErrorPath": "$.e", "Cause": "because"}}}));
        let opts = RunOptions {
            observer: Some(obs.clone()),
            ..fast()
        };
        let e = execute(&m, json!({"e": "My.Error"}), &MockInvoker::new(), opts).await;
        assert_eq!(e.error.as_deref(), Some("My.Error"));
        assert_eq!(e.cause.as_deref(), Some("because"));
        assert_eq!(
            *obs.0.lock().unwrap(),
            ["ExecutionStarted", "FailStateEntered", "ExecutionFailed"]
        );
    }

    #[test]
    fn given_payloads_when_bounding_their_size_then_the_bound_is_never_below_the_json_length() {
        let cases = [
            json!(null),
            json!(true),
            json!(-9223372036854775808i64),
            json!(18446744073709551615u64),
            json!(-1.2345678901234567e-308),
            json!(1e300),
            json!("\u{0}\u{1f}\"\\é😀\n"),
            json!({"\u{1}k": [1, 2.5, {"": null}], "x": [[], {}]}),
        ];
        for v in cases {
            assert!(json_len_bound(&v) >= json_len(&v), "{v}");
            assert_eq!(json_len(&v), serde_json::to_string(&v).unwrap().len());
        }
    }

    #[test]
    fn given_error_equals_lists_when_matching_then_aws_wildcard_rules_apply() {
        assert!(error_matches(&[json!("States.ALL")], "Anything"));
        assert!(error_matches(
            &[json!("States.TaskFailed")],
            "Lambda.Unknown"
        ));
        assert!(!error_matches(
            &[json!("States.TaskFailed")],
            "States.Timeout"
        ));
        assert!(!error_matches(&[json!("A")], "B"));
    }
}
