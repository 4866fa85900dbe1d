//! Parallel: every branch on the same input, each in its own copy of the
//! variables; the result is the array of their outputs, in branch order.

use std::sync::Arc;

use serde_json::Value;

use crate::exec::failure::Failure;
use crate::exec::runner::{Runner, Scope, StateCtx};

impl Runner<'_> {
    pub(in crate::exec) async fn parallel_attempt(
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
}
