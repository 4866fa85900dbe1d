//! Map (inline and Distributed): items from `Items`/`ItemsPath`, each
//! through `ItemSelector` and an optional `ItemBatcher`, run by the item
//! processor; failures counted against `ToleratedFailure*`.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::exec::failure::{cause, Failure, FailureKind};
use crate::exec::runner::{Runner, Scope, StateCtx};

impl Runner<'_> {
    pub(in crate::exec) async fn map_attempt(
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
                &cause::map_items_not_array(st.str("ItemsPath").unwrap_or("$"), &items_v),
            ));
        };
        let _max_concurrency = self.int_field(sc, "MaxConcurrency", &eff, scope, false)?;
        let tol_count = self.int_field(sc, "ToleratedFailureCount", &eff, scope, false)?;
        if tol_count.is_some_and(|c| c < 0.0) {
            return Err(self.fatal(sc, cause::TOLERATED_COUNT_NEGATIVE));
        }
        let tol_pct = self.int_field(sc, "ToleratedFailurePercentage", &eff, scope, true)?;
        if tol_pct.is_some_and(|p| !(0.0..=100.0).contains(&p)) {
            return Err(self.fatal(sc, cause::TOLERATED_PERCENTAGE_RANGE));
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
            .ok_or_else(|| self.fatal(sc, cause::MAP_WITHOUT_PROCESSOR))?;
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
            let max = match batcher.get("MaxItemsPerBatch").and_then(Value::as_u64) {
                Some(m) => Some(m),
                None => match batcher.get("MaxItemsPerBatchPath").and_then(Value::as_str) {
                    Some(p) => self.read_field_path(sc, p, &eff, scope)?.as_u64(),
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
                            Failure::tolerated_failure_exceeded()
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
