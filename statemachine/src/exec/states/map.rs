//! Map (inline and Distributed): what to run, per query language. Items
//! from `Items`/`ItemsPath` (JSONata: `Items`, else the input), each through
//! `ItemSelector` and an optional `ItemBatcher`; `MaxConcurrency` and
//! `ToleratedFailure*`. The iterations themselves run in `map_run.rs`.

use serde_json::{Map, Value};

use crate::exec::failure::{cause, Failure};
use crate::exec::jsonata::StatesVar;
use crate::exec::runner::{Runner, Scope, StateCtx};

/// A Map attempt, ready to run.
pub(in crate::exec) struct MapPlan {
    /// One input per iteration (batches already formed).
    pub(in crate::exec) inputs: Vec<Value>,
    /// Iterations running at once (0: no limit).
    pub(in crate::exec) max_concurrency: usize,
    pub(in crate::exec) tolerated_count: Option<f64>,
    pub(in crate::exec) tolerated_percentage: Option<f64>,
    /// `ProcessorConfig.Mode` is `DISTRIBUTED`: a map run of child executions.
    pub(in crate::exec) distributed: bool,
}

impl Runner<'_> {
    pub(in crate::exec) async fn map_attempt(
        &self,
        sc: &StateCtx<'_>,
        raw: &Value,
        scope: &mut Scope,
    ) -> Result<Value, Failure> {
        let plan = if sc.state.jsonata {
            self.map_plan_jsonata(sc, raw, scope)?
        } else {
            self.map_plan_jsonpath(sc, raw, scope)?
        };
        self.run_map(sc, plan, scope).await
    }

    fn distributed(sc: &StateCtx<'_>) -> bool {
        sc.state
            .get("ItemProcessor")
            .or_else(|| sc.state.get("Iterator"))
            .and_then(|p| p.get("ProcessorConfig"))
            .and_then(|c| c.get("Mode"))
            .and_then(Value::as_str)
            == Some("DISTRIBUTED")
    }

    fn map_plan_jsonpath(
        &self,
        sc: &StateCtx<'_>,
        raw: &Value,
        scope: &Scope,
    ) -> Result<MapPlan, Failure> {
        let st = sc.state;
        let eff = self.input_path(sc, raw, scope)?;
        let items_v = match st.get("Items") {
            Some(tmpl) => {
                let wrapped = Value::Object(Map::from_iter([("v".to_string(), tmpl.clone())]));
                self.template(sc, &wrapped, &eff, scope, None)?["v"].take()
            }
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
        let max_concurrency = self.int_field(sc, "MaxConcurrency", &eff, scope, false)?;
        // AWS records the start after MaxConcurrency, before the tolerances.
        self.map_started(sc, items.len());
        let tolerated_count = self.int_field(sc, "ToleratedFailureCount", &eff, scope, false)?;
        if tolerated_count.is_some_and(|c| c < 0.0) {
            return Err(self.fatal(sc, cause::TOLERATED_COUNT_NEGATIVE));
        }
        let tolerated_percentage =
            self.int_field(sc, "ToleratedFailurePercentage", &eff, scope, true)?;
        if tolerated_percentage.is_some_and(|p| !(0.0..=100.0).contains(&p)) {
            return Err(self.fatal(sc, cause::TOLERATED_PERCENTAGE_RANGE));
        }
        let selector = st.get("ItemSelector").or_else(|| st.get("Parameters"));
        let mut inputs = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            inputs.push(match selector {
                Some(sel) => self.template(sc, sel, &eff, scope, Some((i, item)))?,
                None => item.clone(),
            });
        }
        if let Some(batcher) = st.get("ItemBatcher") {
            let max = match batcher.get("MaxItemsPerBatch").and_then(Value::as_u64) {
                Some(m) => Some(m),
                None => match batcher.get("MaxItemsPerBatchPath").and_then(Value::as_str) {
                    Some(p) => self.read_field_path(sc, p, &eff, scope)?.as_u64(),
                    None => None,
                },
            };
            let batch_input = match batcher.get("BatchInput") {
                Some(b) => Some(self.template(sc, b, &eff, scope, None)?),
                None => None,
            };
            inputs = batches(inputs, max, batch_input);
        }
        Ok(MapPlan {
            inputs,
            max_concurrency: max_concurrency.unwrap_or(0.0).max(0.0) as usize,
            tolerated_count,
            tolerated_percentage,
            distributed: Self::distributed(sc),
        })
    }

    fn map_plan_jsonata(
        &self,
        sc: &StateCtx<'_>,
        raw: &Value,
        scope: &Scope,
    ) -> Result<MapPlan, Failure> {
        let st = sc.state;
        let vars = StatesVar::input(raw);
        let items = match st.get("Items") {
            Some(v) => self.jsonata_typed(sc, v, "Items", "array", vars, scope)?,
            None if raw.is_array() => raw.clone(),
            None => return Err(self.evaluation_failed(sc, &cause::map_input_not_array(raw))),
        };
        let Value::Array(items) = items else {
            unreachable!("jsonata_typed checked the array")
        };
        let number = |field: &str| -> Result<Option<f64>, Failure> {
            match st.get(field) {
                Some(v) => Ok(self
                    .jsonata_typed(sc, v, field, "number", vars, scope)?
                    .as_f64()),
                None => Ok(None),
            }
        };
        let max_concurrency = number("MaxConcurrency")?;
        let tolerated_count = number("ToleratedFailureCount")?;
        let tolerated_percentage = number("ToleratedFailurePercentage")?;
        if tolerated_count.is_some_and(|c| c < 0.0) {
            return Err(self.evaluation_failed(sc, cause::TOLERATED_COUNT_NEGATIVE));
        }
        if tolerated_percentage.is_some_and(|p| !(0.0..=100.0).contains(&p)) {
            return Err(self.evaluation_failed(sc, cause::TOLERATED_PERCENTAGE_RANGE));
        }
        self.map_started(sc, items.len());
        let mut inputs = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            inputs.push(match st.get("ItemSelector") {
                Some(sel) => {
                    let vars = vars.with_item(i, item);
                    self.jsonata_template(sc, sel, "ItemSelector", vars, scope)?
                }
                None => item.clone(),
            });
        }
        if let Some(batcher) = st.get("ItemBatcher") {
            let max = match batcher.get("MaxItemsPerBatch") {
                Some(m) => self
                    .jsonata_typed(sc, m, "ItemBatcher/MaxItemsPerBatch", "number", vars, scope)?
                    .as_u64(),
                None => None,
            };
            let batch_input = match batcher.get("BatchInput") {
                Some(b) => {
                    Some(self.jsonata_template(sc, b, "ItemBatcher/BatchInput", vars, scope)?)
                }
                None => None,
            };
            inputs = batches(inputs, max, batch_input);
        }
        Ok(MapPlan {
            inputs,
            max_concurrency: max_concurrency.unwrap_or(0.0).max(0.0) as usize,
            tolerated_count,
            tolerated_percentage,
            distributed: Self::distributed(sc),
        })
    }

    fn map_started(&self, sc: &StateCtx<'_>, items: usize) {
        let mut ev = self.state_event("MapStateStarted", &sc.state.name);
        ev.index = Some(items);
        self.record(ev);
    }
}

/// `ItemBatcher`: each iteration gets `{"BatchInput": …, "Items": [up to max]}`.
fn batches(inputs: Vec<Value>, max: Option<u64>, batch_input: Option<Value>) -> Vec<Value> {
    let size = max.unwrap_or(inputs.len() as u64).max(1) as usize;
    inputs
        .chunks(size)
        .map(|chunk| {
            let mut o = Map::new();
            if let Some(b) = &batch_input {
                o.insert("BatchInput".into(), b.clone());
            }
            o.insert("Items".into(), Value::Array(chunk.to_vec()));
            Value::Object(o)
        })
        .collect()
}
