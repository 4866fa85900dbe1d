//! Wait: `Seconds`, `SecondsPath`, `Timestamp` or `TimestampPath` (in
//! JSONata, `Seconds` or `Timestamp`, literal or expressions), on the
//! virtual clock.

use std::sync::Arc;

use chrono::Utc;
use serde_json::Value;

use crate::choice;
use crate::exec::failure::{cause, Failure};
use crate::exec::jsonata::StatesVar;
use crate::exec::runner::{Payload, Runner, Scope, StateCtx};

impl Runner<'_> {
    pub(in crate::exec) async fn run_wait<'s>(
        &self,
        sc: &StateCtx<'s>,
        raw: &Payload,
        scope: &mut Scope,
    ) -> Result<(Option<&'s str>, Payload), Failure> {
        if sc.state.jsonata {
            return self.run_wait_jsonata(sc, raw, scope).await;
        }
        let eff = self.input_path_cow(sc, raw, scope)?;
        let st = sc.state;
        let secs: f64 = if let Some(s) = st.get("Seconds") {
            s.as_f64().unwrap_or(0.0)
        } else if let Some(Value::String(p)) = st.get("SecondsPath") {
            let v = self.read_field_path(sc, p, &eff, scope)?;
            let n = match &v {
                Value::Number(n) if n.is_i64() || n.is_u64() => n.as_f64().unwrap_or(0.0),
                _ => return Err(self.fatal(sc, &cause::seconds_path_not_long(p, &v))),
            };
            if n < 0.0 {
                return Err(self.fatal(sc, &cause::seconds_path_negative(p, &v)));
            }
            n
        } else {
            let (field, text) = if let Some(t) = st.get("Timestamp") {
                ("Timestamp", t.clone())
            } else if let Some(Value::String(p)) = st.get("TimestampPath") {
                ("TimestampPath", self.read_field_path(sc, p, &eff, scope)?)
            } else {
                ("Timestamp", Value::Null)
            };
            let parsed = text.as_str().and_then(choice::parse_timestamp);
            match parsed {
                Some(ts) => {
                    let target = ts.with_timezone(&Utc);
                    (target - self.clock.now()).num_milliseconds().max(0) as f64 / 1000.0
                }
                None => {
                    let p = st.str("TimestampPath").unwrap_or("");
                    return Err(self.fatal(sc, &cause::invalid_timestamp(field, p, &text)));
                }
            }
        };
        self.wait(secs).await?;
        let assigned = self.assign(sc, st.get("Assign"), &eff, scope)?;
        let out = self.hand_on(sc, raw, eff, scope)?;
        scope.store(assigned);
        Ok((self.next_of(sc), out))
    }

    async fn run_wait_jsonata<'s>(
        &self,
        sc: &StateCtx<'s>,
        raw: &Payload,
        scope: &mut Scope,
    ) -> Result<(Option<&'s str>, Payload), Failure> {
        let vars = StatesVar::input(raw);
        let secs = if let Some(s) = sc.state.get("Seconds") {
            let v = self.jsonata_typed(sc, s, "Seconds", "number", vars, scope)?;
            match v.as_f64() {
                Some(n) if n >= 0.0 && n.fract() == 0.0 => n,
                _ => {
                    return Err(self.evaluation_failed(
                        sc,
                        &cause::field_wrong_type("Seconds", "non-negative integer", &v),
                    ))
                }
            }
        } else {
            let t = sc.state.get("Timestamp").unwrap_or(&Value::Null);
            let v = self.jsonata_typed(sc, t, "Timestamp", "string", vars, scope)?;
            match v.as_str().and_then(choice::parse_timestamp) {
                Some(ts) => {
                    let target = ts.with_timezone(&Utc);
                    (target - self.clock.now()).num_milliseconds().max(0) as f64 / 1000.0
                }
                None => return Err(self.evaluation_failed(sc, &cause::jsonata_timestamp(&v))),
            }
        };
        self.wait(secs).await?;
        if sc.state.get("Output").is_none() && sc.state.get("Assign").is_none() {
            return Ok((self.next_of(sc), raw.clone()));
        }
        let out = self.jsonata_finish(sc, vars, (**raw).clone(), scope)?;
        Ok((self.next_of(sc), Arc::new(out)))
    }
}
