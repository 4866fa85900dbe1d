//! The executor: runs a JSONPath-mode state machine the way Step Functions
//! does, recording AWS-style history events.
//!
//! # Layout
//!
//! - `mod.rs` (here): the public API ([`execute`], [`RunOptions`],
//!   [`Execution`]) and the dispatch of a state to its type;
//! - `runner.rs`: the run loop, the history recorder, waits and the context object;
//! - `dataflow.rs`: InputPath → Parameters → ResultSelector → ResultPath →
//!   OutputPath, and Assign;
//! - `retry.rs`: Retry and Catch;
//! - `failure.rs`: every AWS error name and cause text, each built once;
//! - `clock.rs`, `cache.rs`, `size.rs`: the virtual clock, the parse cache,
//!   payload sizes;
//! - `states/`: one file per state type.
//!
//! Errors are `Failure`s; `Retry` and `Catch` see only catchable ones
//! (`States.Runtime` and the execution timeout end the execution whatever
//! the handlers say). Time is virtual (see `clock.rs`). Map iterations and
//! Parallel branches run one after another, which keeps the history
//! deterministic and the Task result order equal to the item order.

mod cache;
mod clock;
mod dataflow;
mod failure;
mod jsonata;
mod retry;
mod runner;
mod size;
mod states;
mod test_state;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{json, Value};

use crate::history::{state_event_types, HistoryEvent, Observer};
use crate::invoke::TaskInvoker;
use crate::model::{State, StateMachine, StateType};
use cache::ParseCache;
use clock::Clock;
use failure::{cause, Failure, FailureKind};
use runner::{Payload, Recorder, Runner, Scope, StateCtx, Transition};
use size::check_size;

pub use failure::error_matches;
pub use size::MAX_PAYLOAD_BYTES;
pub use test_state::{test_state, StateTest, TestStateOptions};

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
    /// The history's quota ([`MAX_HISTORY_EVENTS`] as on AWS): the event that
    /// would pass it ends the execution with `ExecutionFailed` unless it is
    /// `ExecutionSucceeded`.
    pub max_history_events: usize,
    /// `$$.Execution.Id` and `$$.StateMachine.Id` (local ARNs when `None`):
    /// an endpoint passes the ARNs it answered `StartExecution` with.
    pub execution_arn: Option<String>,
    pub state_machine_arn: Option<String>,
    /// Start here instead of at `StartAt` (a redrive restarts at the state
    /// that failed).
    pub start_at: Option<String>,
    /// `$$.Execution.RedriveCount`.
    pub redrive_count: u32,
}

/// The region and account of the ARNs the local executor and endpoint make.
pub const LOCAL_REGION: &str = "us-east-1";
pub const LOCAL_ACCOUNT: &str = "111111111111";

/// `arn:aws:states:us-east-1:111111111111:{kind}:{rest}`.
pub fn local_arn(kind: &str, rest: &str) -> String {
    format!("arn:aws:states:{LOCAL_REGION}:{LOCAL_ACCOUNT}:{kind}:{rest}")
}

/// AWS's hard quota of events in a Standard execution's history.
pub const MAX_HISTORY_EVENTS: usize = 25_000;

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            wait_scale: 1.0,
            observer: None,
            execution_name: None,
            state_machine_name: "StateMachine".to_string(),
            enforce_task_timeouts: true,
            max_history_events: MAX_HISTORY_EVENTS,
            execution_arn: None,
            state_machine_arn: None,
            start_at: None,
            redrive_count: 0,
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
            .field("max_history_events", &self.max_history_events)
            .finish()
    }
}

/// Run `machine` on `input` to completion.
pub async fn execute(
    machine: &StateMachine,
    input: Value,
    invoker: &dyn TaskInvoker,
    options: RunOptions,
) -> Execution {
    let runner = Runner::new(machine, &input, invoker, &options);
    let input: Payload = Arc::new(input);
    let mut ev = HistoryEvent::new("ExecutionStarted");
    ev.input = Some(input.clone());
    runner.record(ev);

    let result = {
        let mut scope = Scope::default();
        let start = options.start_at.as_deref().unwrap_or(&machine.start_at);
        let run = runner.run_from(machine, start, input, &mut scope);
        match machine.timeout_seconds {
            // The virtual clock is never behind the real one, so a real deadline of
            // TimeoutSeconds only fires for work that blocks (a Task that never answers).
            Some(t) if t > 0.0 => match tokio::time::timeout(Duration::from_secs_f64(t), run).await
            {
                Ok(r) => r,
                Err(_) => Err(Failure::execution_timeout()),
            },
            _ => run.await,
        }
    };

    // An event was left out at the quota: the execution failed, whatever its states did.
    let result = match result {
        Ok(_) if runner.history_full() => Err(Failure::history_limit(options.max_history_events)),
        r => r,
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

impl<'a> Runner<'a> {
    /// The runner of one execution (or one TestState call) of `machine`.
    fn new(
        machine: &StateMachine,
        input: &Value,
        invoker: &'a dyn TaskInvoker,
        options: &'a RunOptions,
    ) -> Self {
        let start_wall = Utc::now();
        let exec_name = options
            .execution_name
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let sm_name = options.state_machine_name.clone();
        Runner {
            invoker,
            opts: options,
            recorder: Mutex::new(Recorder::default()),
            full: Default::default(),
            fail_states: Default::default(),
            paths: Mutex::new(ParseCache::default()),
            calls: Mutex::new(ParseCache::default()),
            exprs: Mutex::new(ParseCache::default()),
            clock: Clock::starting_at(start_wall),
            deadline: machine.timeout_seconds,
            execution: json!({
                "Id": options.execution_arn.clone().unwrap_or_else(|| local_arn("execution", &format!("{sm_name}:{exec_name}"))),
                "Input": input,
                "Name": exec_name,
                "RoleArn": "arn:aws:iam::111111111111:role/StepFunctionsLocal",
                "StartTime": start_wall.to_rfc3339_opts(SecondsFormat::Millis, true),
                "RedriveCount": options.redrive_count
            }),
            state_machine: json!({
                "Id": options.state_machine_arn.clone().unwrap_or_else(|| local_arn("stateMachine", &sm_name)),
                "Name": sm_name
            }),
        }
    }
}

impl Runner<'_> {
    /// Runs one state: its entered event, its type's work, its exited event.
    pub(super) async fn run_state<'m>(
        &self,
        state: &'m State,
        raw: Payload,
        scope: &mut Scope,
    ) -> Result<Transition<'m>, Failure> {
        self.check_history()?;
        let (entered_type, exited_type) = state_event_types(&state.kind);
        let mut ev = self.state_event(entered_type, &state.name);
        ev.input = Some(raw.clone());
        let (entered, entered_at) = self.record_timed(ev);
        let sc = StateCtx {
            state,
            entered,
            entered_time: self.clock.at(entered_at),
            retry: 0,
        };
        let (next, output) = match &state.kind {
            StateType::Pass => self.run_pass(&sc, &raw, scope)?,
            StateType::Task | StateType::Parallel | StateType::Map => {
                let (next, out) = self.run_with_handlers(&sc, &raw, scope).await?;
                (next, Arc::new(out))
            }
            StateType::Choice => self.run_choice(&sc, &raw, scope)?,
            StateType::Wait => self.run_wait(&sc, &raw, scope).await?,
            StateType::Succeed if state.jsonata => match state.get("Output") {
                None => (None, raw.clone()),
                Some(_) => {
                    let vars = jsonata::StatesVar::input(&raw);
                    let out = self.jsonata_finish(&sc, vars, (*raw).clone(), scope)?;
                    (None, Arc::new(out))
                }
            },
            StateType::Succeed => {
                let eff = self.input_path_cow(&sc, &raw, scope)?;
                (None, self.hand_on(&sc, &raw, eff, scope)?)
            }
            StateType::Fail => return Err(self.run_fail(&sc, &raw, scope)),
            StateType::Other(other) => {
                return Err(self.fatal(&sc, &cause::unsupported_state_type(other)))
            }
        };
        check_size(&state.name, &output, true)?;
        let mut ev = self.state_event(exited_type, &state.name);
        ev.output = Some(output.clone());
        self.record(ev);
        match next {
            Some(n) => Ok(Transition::Next(n, output)),
            None => Ok(Transition::End(output)),
        }
    }
}
