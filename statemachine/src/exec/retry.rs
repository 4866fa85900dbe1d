//! Retry and Catch around a Task, Parallel or Map attempt: the first
//! retrier whose `ErrorEquals` matches decides (with `MaxAttempts`,
//! backoff, `MaxDelaySeconds` and full jitter), then the first matching
//! catcher; only catchable failures reach them.

use std::sync::atomic::Ordering;

use serde_json::Value;

use super::failure::{error_matches, Failure, FailureKind};
use super::jsonata::StatesVar;
use super::runner::{Runner, Scope, StateCtx};
use crate::intrinsics;
use crate::model::StateType;

impl Runner<'_> {
    /// Task, Parallel and Map: run with Retry/Catch.
    pub(super) async fn run_with_handlers<'s>(
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
        let fails_before = self.fail_states.load(Ordering::Relaxed);
        let mut attempts = vec![0u32; retriers.len()];
        let mut retry_count = 0u32;
        loop {
            let sc2 = sc.on_retry(retry_count);
            let attempt = match st.kind {
                StateType::Task => self.task_attempt(&sc2, raw, scope, retry_count).await,
                StateType::Parallel => self.parallel_attempt(&sc2, raw, scope).await,
                _ => self.map_attempt(&sc2, raw, scope).await,
            };
            let failure = match attempt {
                Ok(result) => match self.finish_result(sc, raw, result, scope) {
                    Ok(out) => return Ok((self.next_of(sc), out)),
                    // A JSONata state's Output or Assign failing is a
                    // QueryEvaluationError its own Retry and Catch see.
                    Err(f) if st.jsonata && f.kind == FailureKind::Catchable => f,
                    Err(f) => return Err(f),
                },
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
            // Map and Parallel record their failure once, when no retry
            // follows; a Parallel only when a branch ended in a Fail state,
            // as AWS's recorded histories have it (PARALLEL_BRANCH, runner.rs).
            let failed_event = match st.kind {
                StateType::Map => Some("MapStateFailed"),
                StateType::Parallel if self.fail_states.load(Ordering::Relaxed) > fails_before => {
                    Some("ParallelStateFailed")
                }
                _ => None,
            };
            if let Some(ty) = failed_event {
                let mut ev = self.state_event(ty, &st.name);
                ev.error = Some(failure.error.clone());
                ev.cause = failure.cause.clone();
                self.record(ev);
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
                let out = if st.jsonata {
                    let vars = StatesVar::input(raw).with_error(&err_obj);
                    let (assign, output) = (c.get("Assign"), c.get("Output"));
                    self.jsonata_finish_with(sc, assign, output, vars, err_obj.clone(), scope)?
                } else {
                    let assigned = self.assign(sc, c.get("Assign"), &err_obj, scope)?;
                    let out = self.result_path_of(sc, c.get("ResultPath"), raw, err_obj)?;
                    scope.store(assigned);
                    out
                };
                let next = c.get("Next").and_then(Value::as_str).unwrap_or_default();
                return Ok((Some(next), out));
            }
            return Err(failure);
        }
    }

    /// A Task, Parallel or Map result through the state's data flow.
    fn finish_result(
        &self,
        sc: &StateCtx<'_>,
        raw: &Value,
        result: Value,
        scope: &mut Scope,
    ) -> Result<Value, Failure> {
        if sc.state.jsonata {
            let vars = StatesVar::input(raw).with_result(&result);
            return self.jsonata_finish(sc, vars, result.clone(), scope);
        }
        self.finish(sc, raw, result, scope)
    }
}
