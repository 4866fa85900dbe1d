//! The run loop and what every state shares: the [`Runner`] of one
//! execution (history, clock, parse caches), a scope's variables, and
//! [`StateCtx`], the state being run.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use super::cache::ParseCache;
use super::clock::{Clock, TimestampCache};
use super::failure::Failure;
use super::RunOptions;
use crate::history::HistoryEvent;
use crate::intrinsics::Intrinsic;
use crate::invoke::TaskInvoker;
use crate::jsonata::Expr;
use crate::model::{State, StateMachine};
use crate::path::JsonPath;

/// A state's input or output: shared by the history and the next state, and
/// passed on as it is by the states that do not change it.
pub(super) type Payload = Arc<Value>;

pub(super) enum Transition<'m> {
    Next(&'m str, Payload),
    End(Payload),
}

pub(super) type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Per-scope data: workflow variables and, for a Map iteration's ItemSelector, the item.
#[derive(Clone, Default)]
pub(super) struct Scope {
    pub(super) vars: Map<String, Value>,
}

impl Scope {
    pub(super) fn store(&mut self, assigned: Option<Value>) {
        if let Some(Value::Object(o)) = assigned {
            for (k, v) in o {
                self.vars.insert(k, v);
            }
        }
    }
}

/// The history and what stamps its events, behind one lock.
#[derive(Default)]
pub(super) struct Recorder {
    pub(super) events: Vec<HistoryEvent>,
    /// Events of Parallel branches, counted but not recorded.
    unrecorded: usize,
    timestamps: TimestampCache,
}

/// One execution's shared state.
pub(super) struct Runner<'a> {
    pub(super) invoker: &'a dyn TaskInvoker,
    pub(super) opts: &'a RunOptions,
    pub(super) recorder: Mutex<Recorder>,
    /// An event was left out: the history reached its quota. Read at every
    /// state and wait, so kept outside the recorder's lock.
    pub(super) full: AtomicBool,
    /// `FailStateEntered` events recorded so far: a Parallel state records
    /// `ParallelStateFailed` only when a branch failed in a Fail state.
    pub(super) fail_states: AtomicUsize,
    /// Parsed JSONPath texts of the definition.
    pub(super) paths: Mutex<ParseCache<JsonPath>>,
    /// Parsed intrinsic calls of the definition.
    pub(super) calls: Mutex<ParseCache<Intrinsic>>,
    /// Parsed JSONata expressions of the definition.
    pub(super) exprs: Mutex<ParseCache<Expr>>,
    pub(super) clock: Clock,
    pub(super) deadline: Option<f64>,
    /// `$$.Execution` and `$$.StateMachine`.
    pub(super) execution: Value,
    pub(super) state_machine: Value,
}

/// The state being run: what its context object and its causes name.
pub(super) struct StateCtx<'s> {
    pub(super) state: &'s State,
    /// The id of its `…StateEntered` event.
    pub(super) entered: u64,
    /// `$$.State.EnteredTime` (formatted only when the context is read).
    pub(super) entered_time: DateTime<Utc>,
    /// `$$.State.RetryCount`.
    pub(super) retry: u32,
}

impl<'s> StateCtx<'s> {
    /// The same state on its retry number `retry`.
    pub(super) fn on_retry(&self, retry: u32) -> StateCtx<'s> {
        StateCtx {
            state: self.state,
            entered: self.entered,
            entered_time: self.entered_time,
            retry,
        }
    }
}

tokio::task_local! {
    /// Set while a Distributed Map's child execution runs: its events belong
    /// to the child's own history, not to this one.
    pub(super) static CHILD_EXECUTION: ();
    /// Set while a Parallel state's branches run. AWS's recorded histories
    /// (every Parallel case of the conformance corpus: Pass, Task, Fail and
    /// nested Parallel states in branches, succeeding, failing, retried and
    /// caught) list none of a branch's events but its Parallel states'
    /// `ParallelStateStarted` and its `FailStateEntered`; Map iterations'
    /// events, by contrast, are all there.
    pub(super) static PARALLEL_BRANCH: ();
}

/// The events a Parallel branch's history keeps (see [`PARALLEL_BRANCH`]).
fn kept_in_branch(event_type: &str) -> bool {
    matches!(event_type, "ParallelStateStarted" | "FailStateEntered")
}

impl Runner<'_> {
    pub(super) fn record(&self, ev: HistoryEvent) -> u64 {
        self.record_timed(ev).0
    }

    /// [`Self::record`], also returning the clock reading the event carries.
    pub(super) fn record_timed(&self, mut ev: HistoryEvent) -> (u64, f64) {
        if CHILD_EXECUTION.try_with(|_| ()).is_ok() {
            return (0, self.clock.elapsed());
        }
        let hidden = PARALLEL_BRANCH.try_with(|_| ()).is_ok() && !kept_in_branch(ev.event_type);
        if ev.event_type == "FailStateEntered" {
            self.fail_states.fetch_add(1, Ordering::Relaxed);
        }
        let mut r = self.recorder.lock().expect("history");
        // The last place is kept for the event that ends the execution.
        let terminal = matches!(
            ev.event_type,
            "ExecutionSucceeded" | "ExecutionFailed" | "ExecutionTimedOut"
        );
        // Events left out of a Parallel branch's history still count, so
        // that an endless loop in a branch ends at the quota too.
        let counted = r.events.len() + r.unrecorded;
        let full = self.full.load(Ordering::Relaxed);
        if full || (!terminal && counted + 1 >= self.opts.max_history_events) {
            self.full.store(true, Ordering::Relaxed);
            if !terminal || r.events.len() >= self.opts.max_history_events {
                return (0, self.clock.elapsed());
            }
        }
        if hidden {
            r.unrecorded += 1;
            return (0, self.clock.elapsed());
        }
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

    pub(super) fn history_full(&self) -> bool {
        self.full.load(Ordering::Relaxed)
    }

    /// Fails once the history has reached its quota, so that every branch
    /// stops at its next state.
    pub(super) fn check_history(&self) -> Result<(), Failure> {
        if self.history_full() {
            return Err(Failure::history_limit(self.opts.max_history_events));
        }
        Ok(())
    }

    /// `JsonPath::parse(text)`, parsed once per execution.
    pub(super) fn parse_path(&self, text: &str) -> Arc<Result<JsonPath, String>> {
        self.paths
            .lock()
            .expect("paths")
            .get_or_parse(text, JsonPath::parse)
    }

    /// `Intrinsic::parse(text)`, parsed once per execution.
    pub(super) fn parse_call(&self, text: &str) -> Arc<Result<Intrinsic, String>> {
        self.calls
            .lock()
            .expect("calls")
            .get_or_parse(text, Intrinsic::parse)
    }

    pub(super) fn state_event(&self, ty: &'static str, state: &Arc<str>) -> HistoryEvent {
        let mut ev = HistoryEvent::new(ty);
        ev.state_name = Some(state.clone());
        ev
    }

    pub(super) fn check_deadline(&self) -> Result<(), Failure> {
        match self.deadline {
            Some(d) if self.clock.elapsed() > d => Err(Failure::execution_timeout()),
            _ => Ok(()),
        }
    }

    /// Sleep `secs` of virtual time; fails when the execution deadline falls inside.
    ///
    /// The wait ends `secs` after it began on the virtual clock, so waits in
    /// concurrent Map iterations or Parallel branches overlap rather than add
    /// up: each yields first, letting the others begin theirs.
    pub(super) async fn wait(&self, secs: f64) -> Result<(), Failure> {
        self.check_history()?;
        let secs = secs.max(0.0);
        let began = self.clock.elapsed();
        let mut todo = secs;
        let mut hit_deadline = false;
        if let Some(d) = self.deadline {
            let left = (d - began).max(0.0);
            if todo > left {
                todo = left;
                hit_deadline = true;
            }
        }
        let real = todo * self.opts.wait_scale.max(0.0);
        if real > 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(real)).await;
        } else {
            tokio::task::yield_now().await;
        }
        self.clock.advance_to(began + todo);
        if hit_deadline {
            self.clock.advance(1e-3);
            return Err(Failure::execution_timeout());
        }
        Ok(())
    }

    /// The context object (`$$`) as `sc` sees it: a callback Task's also has
    /// `Task.Token`.
    pub(super) fn context(&self, sc: &StateCtx<'_>, item: Option<(usize, &Value)>) -> Value {
        let entered = sc.entered_time.to_rfc3339_opts(SecondsFormat::Millis, true);
        let mut ctx = json!({
            "Execution": self.execution,
            "State": {"EnteredTime": entered, "Name": *sc.state.name, "RetryCount": sc.retry},
            "StateMachine": self.state_machine,
        });
        if let Some(token) = self.task_token(sc) {
            ctx["Task"] = json!({ "Token": token });
        }
        if let Some((i, v)) = item {
            ctx["Map"] = json!({"Item": {"Index": i, "Value": v}});
        }
        ctx
    }

    /// `$$.Task.Token` of a `.waitForTaskToken` Task: names the execution,
    /// the state's entry and the attempt, so every attempt has its own token
    /// and a callback finds its task. Opaque to callers, as on AWS.
    pub(super) fn task_token(&self, sc: &StateCtx<'_>) -> Option<String> {
        use base64::Engine as _;
        let resource = sc.state.get("Resource").and_then(Value::as_str);
        if !resource.is_some_and(|r| r.ends_with(".waitForTaskToken")) {
            return None;
        }
        let id = self.execution["Id"].as_str().unwrap_or_default();
        let raw = format!("{id}#{}#{}#{}", sc.state.name, sc.entered, sc.retry);
        Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw))
    }

    pub(super) fn run_machine<'s>(
        &'s self,
        machine: &'s StateMachine,
        input: Payload,
        scope: &'s mut Scope,
    ) -> BoxFut<'s, Result<Payload, Failure>> {
        self.run_from(machine, &machine.start_at, input, scope)
    }

    /// Runs `machine` from the state `start` (its StartAt, or a redriven state).
    pub(super) fn run_from<'s>(
        &'s self,
        machine: &'s StateMachine,
        start: &'s str,
        input: Payload,
        scope: &'s mut Scope,
    ) -> BoxFut<'s, Result<Payload, Failure>> {
        Box::pin(async move {
            let mut name: &str = start;
            let mut input = input;
            loop {
                self.check_deadline()?;
                let state = machine
                    .state(name)
                    .ok_or_else(|| Failure::no_such_state(name))?;
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

    /// `States.Runtime` in the state `sc`.
    pub(super) fn fatal(&self, sc: &StateCtx<'_>, msg: &str) -> Failure {
        Failure::runtime(&sc.state.name, sc.entered, msg)
    }

    pub(super) fn next_of<'s>(&self, sc: &StateCtx<'s>) -> Option<&'s str> {
        if sc.state.is_end() {
            None
        } else {
            sc.state.next()
        }
    }
}
