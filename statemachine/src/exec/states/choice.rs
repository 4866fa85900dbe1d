//! Choice: the first rule that matches names the next state, else `Default`.
//! In JSONata a rule is a `Condition`; the matching rule's `Assign` and
//! `Output` apply, or the state's own when `Default` is taken.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::choice;
use crate::exec::failure::Failure;
use crate::exec::jsonata::StatesVar;
use crate::exec::runner::{Payload, Runner, Scope, StateCtx};
use crate::model::small_get;

impl Runner<'_> {
    pub(in crate::exec) fn run_choice<'s>(
        &self,
        sc: &StateCtx<'s>,
        raw: &Payload,
        scope: &mut Scope,
    ) -> Result<(Option<&'s str>, Payload), Failure> {
        if sc.state.jsonata {
            return self.run_choice_jsonata(sc, raw, scope);
        }
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
                None => return Err(Failure::no_choice_matched(&sc.state.name, sc.entered)),
            },
        };
        let a1 = self.assign(sc, sc.state.get("Assign"), &eff, scope)?;
        let a2 = self.assign(sc, rule_assign, &eff, scope)?;
        let out = self.hand_on(sc, raw, eff, scope)?;
        scope.store(a1);
        scope.store(a2);
        Ok((Some(next), out))
    }

    fn run_choice_jsonata<'s>(
        &self,
        sc: &StateCtx<'s>,
        raw: &Payload,
        scope: &mut Scope,
    ) -> Result<(Option<&'s str>, Payload), Failure> {
        let st = StatesVar::input(raw);
        let rules: &'s [Value] = sc
            .state
            .get("Choices")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice);
        let mut chosen: Option<(&'s str, &'s Map<String, Value>)> = None;
        for (i, rule) in rules.iter().enumerate() {
            let Some(r) = rule.as_object() else { continue };
            let condition = small_get(r, "Condition").unwrap_or(&Value::Bool(false));
            let field = format!("Choices[{i}].Condition");
            let hit = self.jsonata_typed(sc, condition, &field, "boolean", st, scope)?;
            if hit == Value::Bool(true) {
                let next = small_get(r, "Next")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                chosen = Some((next, r));
                break;
            }
        }
        let (next, assign, output) = match chosen {
            Some((next, r)) => (next, small_get(r, "Assign"), small_get(r, "Output")),
            None => match sc.state.str("Default") {
                Some(d) => (d, sc.state.get("Assign"), sc.state.get("Output")),
                None => return Err(Failure::no_choice_matched(&sc.state.name, sc.entered)),
            },
        };
        if assign.is_none() && output.is_none() {
            return Ok((Some(next), raw.clone()));
        }
        let out = self.jsonata_finish_with(sc, assign, output, st, (**raw).clone(), scope)?;
        Ok((Some(next), Arc::new(out)))
    }
}
