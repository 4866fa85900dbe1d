//! A Map's iterations, up to `MaxConcurrency` at once (all at once for 0),
//! each in its own copy of the variables; results in item order; failures
//! counted against `ToleratedFailure*`. An inline Map records
//! `MapIteration…` events; a Distributed Map records its map run
//! (`MapRunStarted`, `MapRunSucceeded`/`MapRunFailed`), whose child
//! executions have histories of their own.

use std::sync::Arc;

use futures::stream::{self, StreamExt};
use serde_json::Value;

use super::map::MapPlan;
use crate::exec::failure::{Failure, FailureKind};
use crate::exec::runner::{Runner, Scope, StateCtx, CHILD_EXECUTION};

impl Runner<'_> {
    pub(in crate::exec) async fn run_map(
        &self,
        sc: &StateCtx<'_>,
        plan: MapPlan,
        scope: &Scope,
    ) -> Result<Value, Failure> {
        let st = sc.state;
        let processor = st
            .processor
            .as_deref()
            .ok_or_else(|| self.fatal(sc, crate::exec::failure::cause::MAP_WITHOUT_PROCESSOR))?;
        let total = plan.inputs.len();
        // A Distributed Map fails its map run with ExceedToleratedFailureThreshold
        // (threshold 0 by default) instead of passing the item's error through.
        let tolerant = plan.tolerated_count.is_some()
            || plan.tolerated_percentage.is_some()
            || plan.distributed;
        let lanes = match plan.max_concurrency {
            0 => total.max(1),
            n => n,
        };
        if plan.distributed {
            self.record(self.state_event("MapRunStarted", &st.name));
        }
        let iterations = plan.inputs.into_iter().enumerate().map(|(i, input)| {
            let mut inner = scope.clone();
            async move {
                if !plan.distributed {
                    let mut ev = self.state_event("MapIterationStarted", &st.name);
                    ev.index = Some(i);
                    self.record(ev);
                }
                let run = self.run_machine(processor, Arc::new(input), &mut inner);
                let out = if plan.distributed {
                    CHILD_EXECUTION.scope((), run).await
                } else {
                    run.await
                };
                if !plan.distributed {
                    let ty = if out.is_ok() {
                        "MapIterationSucceeded"
                    } else {
                        "MapIterationFailed"
                    };
                    let mut ev = self.state_event(ty, &st.name);
                    ev.index = Some(i);
                    if let Err(f) = &out {
                        ev.error = Some(f.error.clone());
                        ev.cause = f.cause.clone();
                    }
                    self.record(ev);
                }
                out
            }
        });
        let mut running = stream::iter(iterations).buffered(lanes);
        let mut results = Vec::with_capacity(total);
        let mut failures = 0usize;
        while let Some(out) = running.next().await {
            match out {
                Ok(v) => results.push(Arc::unwrap_or_clone(v)),
                Err(f) if f.kind != FailureKind::Catchable => return Err(f),
                Err(f) => {
                    failures += 1;
                    let within_count = plan.tolerated_count.is_some_and(|c| failures as f64 <= c);
                    let within_pct = plan
                        .tolerated_percentage
                        .is_some_and(|p| (failures as f64) * 100.0 / (total as f64) <= p);
                    if !(within_count || within_pct) {
                        if plan.distributed {
                            self.record(self.state_event("MapRunFailed", &st.name));
                        }
                        return Err(if tolerant {
                            Failure::tolerated_failure_exceeded()
                        } else {
                            f
                        });
                    }
                    results.push(f.error_object());
                }
            }
        }
        if plan.distributed {
            self.record(self.state_event("MapRunSucceeded", &st.name));
        }
        self.record(self.state_event("MapStateSucceeded", &st.name));
        Ok(Value::Array(results))
    }
}
