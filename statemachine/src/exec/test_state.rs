//! TestState: one state of a definition, run once, reported as AWS's
//! `TestState` API reports it — a status (`SUCCEEDED`, `FAILED`,
//! `RETRIABLE`, `CAUGHT_ERROR`), the output, the next state, and the data
//! flow step by step (`inspectionData`).
//!
//! Unlike an execution, a failing Task is not retried: the retrier that would
//! retry it is named (`RETRIABLE`, with the backoff AWS would wait), else the
//! catcher that would catch it (`CAUGHT_ERROR`, with its output and `Next`).
//! A mock replaces the Task's call, or a Map's or Parallel's whole result, as
//! the `mock` field of the API does.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::failure::{error_matches, Failure, FailureKind};
use super::jsonata::StatesVar;
use super::runner::{Payload, Runner, Scope, StateCtx, Transition};
use super::RunOptions;
use crate::history::{state_event_types, HistoryEvent};
use crate::invoke::{TaskCall, TaskFailure, TaskInvoker};
use crate::model::{StateMachine, StateType};

/// What a TestState call is given besides the state and its input.
#[derive(Debug, Clone, Default)]
pub struct TestStateOptions {
    /// Variables in scope (`variables`, a JSON object).
    pub variables: Map<String, Value>,
    /// The context object's `Execution` and `StateMachine` (`context`).
    pub context: Option<Value>,
    /// Retries already made (`stateConfiguration.retrierRetryCount`).
    pub retry_count: u32,
    /// The state's result (`mock.result`) or error (`mock.errorOutput`)
    /// instead of calling its resource.
    pub mock: Option<Result<Value, TaskFailure>>,
}

/// The answer to one TestState call.
#[derive(Debug, Clone, PartialEq)]
pub struct StateTest {
    /// `SUCCEEDED`, `FAILED`, `RETRIABLE` or `CAUGHT_ERROR`.
    pub status: &'static str,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub next_state: Option<String>,
    /// `inspectionData`'s fields (`input`, `afterInputPath`,
    /// `afterParameters`, `result`, …) as JSON values.
    pub inspection: Map<String, Value>,
}

/// A Task's call answered by the mock.
struct Mocked(Result<Value, TaskFailure>);

#[async_trait]
impl TaskInvoker for Mocked {
    async fn invoke(&self, _function: &str, _input: Value) -> Result<Value, TaskFailure> {
        self.0.clone()
    }
    async fn invoke_task(&self, _call: &TaskCall) -> Result<Value, TaskFailure> {
        self.0.clone()
    }
}

/// Runs the state `state_name` of `machine` once on `input`.
pub async fn test_state(
    machine: &StateMachine,
    state_name: &str,
    input: Value,
    invoker: &dyn TaskInvoker,
    opts: TestStateOptions,
) -> StateTest {
    let Some(state) = machine.state(state_name) else {
        return StateTest::failed(
            "States.Runtime",
            format!("The state '{state_name}' is not in the definition."),
            Map::new(),
        );
    };
    let mocked = opts.mock.clone().map(Mocked);
    let invoker: &dyn TaskInvoker = match &mocked {
        Some(m) => m,
        None => invoker,
    };
    let options = RunOptions {
        wait_scale: 0.0,
        state_machine_name: machine_name(&opts),
        ..Default::default()
    };
    let mut runner = Runner::new(machine, &input, invoker, &options);
    if let Some(ctx) = &opts.context {
        for (key, field) in [
            ("Execution", &mut runner.execution),
            ("StateMachine", &mut runner.state_machine),
        ] {
            if let Some(Value::Object(given)) = ctx.get(key) {
                for (k, v) in given {
                    field[k] = v.clone();
                }
            }
        }
    }
    let mut scope = Scope {
        vars: opts.variables.clone(),
    };
    let raw: Payload = Arc::new(input);
    let mut inspection = Map::new();
    inspection.insert("input".into(), (*raw).clone());
    let handled = matches!(state.kind, StateType::Task)
        || (opts.mock.is_some() && matches!(state.kind, StateType::Map | StateType::Parallel));
    let mut test = if handled {
        runner
            .test_attempt(state, &raw, &mut scope, &opts, &mut inspection)
            .await
    } else {
        match runner.run_state(state, raw.clone(), &mut scope).await {
            Ok(Transition::Next(next, out)) => StateTest::succeeded(&out, Some(next), Map::new()),
            Ok(Transition::End(out)) => StateTest::succeeded(&out, None, Map::new()),
            Err(f) => StateTest::failed(&f.error, f.cause.unwrap_or_default(), Map::new()),
        }
    };
    if !state.jsonata && !matches!(state.kind, StateType::Fail) {
        runner.inspect_jsonpath(state, &raw, &opts.variables, &mut inspection);
    }
    inspection.insert("variables".into(), Value::Object(scope.vars));
    inspection.extend(test.inspection);
    test.inspection = inspection;
    test
}

fn machine_name(opts: &TestStateOptions) -> String {
    opts.context
        .as_ref()
        .and_then(|c| c.pointer("/StateMachine/Name"))
        .and_then(Value::as_str)
        .unwrap_or("TestState")
        .to_string()
}

impl StateTest {
    fn succeeded(out: &Value, next: Option<&str>, inspection: Map<String, Value>) -> Self {
        StateTest {
            status: "SUCCEEDED",
            output: Some(out.clone()),
            error: None,
            cause: None,
            next_state: next.map(str::to_string),
            inspection,
        }
    }

    fn failed(error: &str, cause: String, inspection: Map<String, Value>) -> Self {
        StateTest {
            status: "FAILED",
            output: None,
            error: Some(error.to_string()),
            cause: Some(cause),
            next_state: None,
            inspection,
        }
    }
}

impl Runner<'_> {
    /// Records the state's entered event, as a run does, and returns its context.
    fn enter<'s>(
        &self,
        state: &'s crate::model::State,
        raw: &Payload,
        ty: &'static str,
    ) -> StateCtx<'s> {
        let mut ev = self.state_event(ty, &state.name);
        ev.input = Some(raw.clone());
        let (entered, at) = self.record_timed(ev);
        StateCtx {
            state,
            entered,
            entered_time: self.clock.at(at),
            retry: 0,
        }
    }

    /// One attempt of a Task (or a mocked Map/Parallel), then its data flow
    /// or what its Retry and Catch would do with its error.
    async fn test_attempt(
        &self,
        state: &crate::model::State,
        raw: &Payload,
        scope: &mut Scope,
        opts: &TestStateOptions,
        insp: &mut Map<String, Value>,
    ) -> StateTest {
        let (entered_type, _) = state_event_types(&state.kind);
        let sc = self
            .enter(state, raw, entered_type)
            .on_retry(opts.retry_count);
        let attempt = match (&state.kind, &opts.mock) {
            (StateType::Task, _) => self.task_attempt(&sc, raw, scope, opts.retry_count).await,
            (_, Some(Ok(v))) => Ok(v.clone()),
            (_, Some(Err(e))) => Err(Failure::from_task(e.clone())),
            (_, None) => unreachable!("only Tasks and mocked Map/Parallel states come here"),
        };
        // What the Task was called with: the scheduled event's parameters.
        let scheduled = self.events_where(|e| e.event_type.ends_with("Scheduled"));
        if let Some(params) = scheduled.last().and_then(|e| e.input.clone()) {
            let key = if state.jsonata {
                "afterArguments"
            } else {
                "afterParameters"
            };
            insp.insert(key.into(), (*params).clone());
        }
        let failure = match attempt {
            Ok(result) => {
                insp.insert("result".into(), result.clone());
                if !state.jsonata {
                    self.inspect_result(&sc, raw, &result, scope, insp);
                }
                let finished = if state.jsonata {
                    let vars = StatesVar::input(raw).with_result(&result);
                    self.jsonata_finish(&sc, vars, result.clone(), scope)
                } else {
                    self.finish(&sc, raw, result, scope)
                };
                match finished {
                    Ok(out) => return StateTest::succeeded(&out, self.next_of(&sc), Map::new()),
                    Err(f) => f,
                }
            }
            Err(f) => f,
        };
        self.test_handlers(&sc, raw, failure, scope, opts.retry_count, insp)
    }

    /// A JSONPath state's `afterInputPath` and, for a Pass state,
    /// `afterParameters` (or its `Result`) and `afterResultPath`, evaluated
    /// on the variables the state started with.
    fn inspect_jsonpath(
        &self,
        state: &crate::model::State,
        raw: &Value,
        vars: &Map<String, Value>,
        insp: &mut Map<String, Value>,
    ) {
        let sc = StateCtx {
            state,
            entered: 0,
            entered_time: self.clock.now(),
            retry: 0,
        };
        let scope = Scope { vars: vars.clone() };
        let Ok(eff) = self.input_path(&sc, raw, &scope) else {
            return;
        };
        insp.entry("afterInputPath").or_insert_with(|| eff.clone());
        if state.kind != StateType::Pass {
            return;
        }
        let result = match (state.get("Parameters"), state.get("Result")) {
            (Some(p), _) => match self.template(&sc, p, &eff, &scope, None) {
                Ok(v) => {
                    insp.insert("afterParameters".into(), v.clone());
                    v
                }
                Err(_) => return,
            },
            (None, Some(r)) => {
                insp.insert("result".into(), r.clone());
                r.clone()
            }
            (None, None) => eff,
        };
        if let Ok(v) = self.result_path_of(&sc, state.get("ResultPath"), raw, result) {
            insp.insert("afterResultPath".into(), v);
        }
    }

    /// `afterResultSelector` and `afterResultPath` of a JSONPath state.
    fn inspect_result(
        &self,
        sc: &StateCtx<'_>,
        raw: &Value,
        result: &Value,
        scope: &Scope,
        insp: &mut Map<String, Value>,
    ) {
        let selected = match sc.state.get("ResultSelector") {
            Some(sel) => match self.template(sc, sel, result, scope, None) {
                Ok(v) => v,
                Err(_) => return,
            },
            None => result.clone(),
        };
        if sc.state.get("ResultSelector").is_some() {
            insp.insert("afterResultSelector".into(), selected.clone());
        }
        if let Ok(v) = self.result_path_of(sc, sc.state.get("ResultPath"), raw, selected) {
            insp.insert("afterResultPath".into(), v);
        }
    }

    /// The retrier that would retry `failure` (`RETRIABLE`), else the catcher
    /// that would catch it (`CAUGHT_ERROR`), else `FAILED`.
    fn test_handlers(
        &self,
        sc: &StateCtx<'_>,
        raw: &Value,
        failure: Failure,
        scope: &mut Scope,
        retry_count: u32,
        insp: &mut Map<String, Value>,
    ) -> StateTest {
        let cause = failure.cause.clone().unwrap_or_default();
        if failure.kind != FailureKind::Catchable {
            return StateTest::failed(&failure.error, cause, Map::new());
        }
        let handlers = |field: &str| {
            sc.state
                .get(field)
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice)
                .iter()
                .position(|r| {
                    r.get("ErrorEquals")
                        .and_then(Value::as_array)
                        .is_some_and(|l| error_matches(l, &failure.error))
                })
        };
        if let Some(i) = handlers("Retry") {
            let r = &sc
                .state
                .get("Retry")
                .and_then(Value::as_array)
                .expect("Retry")[i];
            let max = r.get("MaxAttempts").and_then(Value::as_u64).unwrap_or(3) as u32;
            if retry_count < max {
                let interval = r
                    .get("IntervalSeconds")
                    .and_then(Value::as_f64)
                    .unwrap_or(1.0);
                let rate = r.get("BackoffRate").and_then(Value::as_f64).unwrap_or(2.0);
                let mut delay = interval * rate.powi(retry_count as i32);
                if let Some(m) = r.get("MaxDelaySeconds").and_then(Value::as_f64) {
                    delay = delay.min(m);
                }
                insp.insert(
                    "errorDetails".into(),
                    json!({"retryIndex": i, "retryBackoffIntervalSeconds": delay.round() as u64}),
                );
                let mut t = StateTest::failed(&failure.error, cause, Map::new());
                t.status = "RETRIABLE";
                return t;
            }
        }
        let Some(i) = handlers("Catch") else {
            return StateTest::failed(&failure.error, cause, Map::new());
        };
        let c = &sc
            .state
            .get("Catch")
            .and_then(Value::as_array)
            .expect("Catch")[i];
        insp.insert("errorDetails".into(), json!({"catchIndex": i}));
        let err_obj = failure.error_object();
        let out = if sc.state.jsonata {
            let vars = StatesVar::input(raw).with_error(&err_obj);
            self.jsonata_finish_with(
                sc,
                c.get("Assign"),
                c.get("Output"),
                vars,
                err_obj.clone(),
                scope,
            )
        } else {
            self.assign(sc, c.get("Assign"), &err_obj, scope)
                .and_then(|assigned| {
                    let out = self.result_path_of(sc, c.get("ResultPath"), raw, err_obj)?;
                    scope.store(assigned);
                    Ok(out)
                })
        };
        match out {
            Ok(out) => StateTest {
                status: "CAUGHT_ERROR",
                output: Some(out),
                error: Some(failure.error),
                cause: Some(cause),
                next_state: c.get("Next").and_then(Value::as_str).map(str::to_string),
                inspection: Map::new(),
            },
            Err(f) => StateTest::failed(&f.error, f.cause.unwrap_or_default(), Map::new()),
        }
    }

    /// The events recorded so far that `keep` selects.
    fn events_where(&self, keep: impl Fn(&HistoryEvent) -> bool) -> Vec<HistoryEvent> {
        let r = self.recorder.lock().expect("history");
        r.events.iter().filter(|e| keep(e)).cloned().collect()
    }
}
