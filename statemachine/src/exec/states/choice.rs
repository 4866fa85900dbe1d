//! Choice: the first rule that matches names the next state, else `Default`.

use serde_json::Value;

use crate::choice;
use crate::exec::failure::Failure;
use crate::exec::runner::{Payload, Runner, Scope, StateCtx};
use crate::model::small_get;

impl Runner<'_> {
    pub(in crate::exec) fn run_choice<'s>(
        &self,
        sc: &StateCtx<'s>,
        raw: &Payload,
        scope: &mut Scope,
    ) -> Result<(Option<&'s str>, Payload), Failure> {
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
}
