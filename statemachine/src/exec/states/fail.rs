//! Fail: ends the execution (or the branch) with its `Error` and `Cause`,
//! literal, read through `ErrorPath`/`CausePath`, or (JSONata) expressions.

use serde_json::Value;

use crate::exec::failure::{cause, Failure};
use crate::exec::jsonata::StatesVar;
use crate::exec::runner::{Runner, Scope, StateCtx};

impl Runner<'_> {
    pub(in crate::exec) fn run_fail(
        &self,
        sc: &StateCtx<'_>,
        raw: &Value,
        scope: &Scope,
    ) -> Failure {
        let st = sc.state;
        let pick = |lit: &str, path: &str| -> Result<Option<String>, Failure> {
            if st.jsonata {
                return match st.get(lit) {
                    None => Ok(None),
                    Some(v) => {
                        let v =
                            self.jsonata_typed(sc, v, lit, "string", StatesVar::input(raw), scope)?;
                        Ok(v.as_str().map(str::to_string))
                    }
                };
            }
            if let Some(v) = st.str(lit) {
                return Ok(Some(v.to_string()));
            }
            if let Some(p) = st.str(path) {
                let v = self
                    .eval_expr(sc, p, raw, scope, None)
                    .map_err(|e| self.fatal(sc, &cause::invalid_path(p, &e)))?;
                return Ok(Some(match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                }));
            }
            Ok(None)
        };
        let error = match pick("Error", "ErrorPath") {
            Ok(e) => e,
            Err(f) => return f,
        };
        let cause = match pick("Cause", "CausePath") {
            Ok(c) => c,
            Err(f) => return f,
        };
        Failure::catchable(error.unwrap_or_default(), cause)
    }
}
