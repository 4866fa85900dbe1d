//! Parallel: every branch on the same input (JSONata: its `Arguments`, else
//! the input), all at once, each in its own copy of the variables; the
//! result is the array of their outputs, in branch order. The history keeps
//! what AWS's recorded ones keep of the branches (see `PARALLEL_BRANCH` in
//! `runner.rs`).

use std::sync::Arc;

use futures::future::join_all;
use serde_json::Value;

use crate::exec::failure::Failure;
use crate::exec::jsonata::StatesVar;
use crate::exec::runner::{Runner, Scope, StateCtx, PARALLEL_BRANCH};

impl Runner<'_> {
    pub(in crate::exec) async fn parallel_attempt(
        &self,
        sc: &StateCtx<'_>,
        raw: &Value,
        scope: &mut Scope,
    ) -> Result<Value, Failure> {
        let st = sc.state;
        let input = if st.jsonata {
            match st.get("Arguments") {
                Some(a) => {
                    self.jsonata_template(sc, a, "Arguments", StatesVar::input(raw), scope)?
                }
                None => raw.clone(),
            }
        } else {
            let eff = self.input_path(sc, raw, scope)?;
            match st.get("Parameters") {
                Some(p) => self.template(sc, p, &eff, scope, None)?,
                None => eff,
            }
        };
        self.record(self.state_event("ParallelStateStarted", &st.name));
        let input = Arc::new(input);
        let branches = st.branches.iter().map(|b| {
            let mut inner = scope.clone();
            let input = input.clone();
            async move {
                PARALLEL_BRANCH
                    .scope((), self.run_machine(b, input, &mut inner))
                    .await
            }
        });
        let mut results = Vec::with_capacity(st.branches.len());
        // The first branch (in branch order) that failed decides the error.
        for out in join_all(branches).await {
            results.push(Arc::unwrap_or_clone(out?));
        }
        // No recorded history has ParallelStateSucceeded (PARALLEL_BRANCH).
        Ok(Value::Array(results))
    }
}
