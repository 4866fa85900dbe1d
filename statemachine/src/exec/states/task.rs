//! Task: one attempt at calling its resource through the [`TaskInvoker`]
//! (Retry/Catch are around it, in `retry.rs`), recording `TaskScheduled`,
//! `TaskStarted` and `TaskSucceeded`/`TaskFailed`.
//!
//! [`TaskInvoker`]: crate::invoke::TaskInvoker

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::exec::failure::Failure;
use crate::exec::jsonata::StatesVar;
use crate::exec::runner::{Runner, Scope, StateCtx};
use crate::exec::size::check_size;
use crate::history::task_event_types;
use crate::invoke::TaskCall;
use crate::model::{function_from_arn_or_name, ResourceKind};

impl Runner<'_> {
    pub(in crate::exec) async fn task_attempt(
        &self,
        sc: &StateCtx<'_>,
        raw: &Value,
        scope: &mut Scope,
        attempt: u32,
    ) -> Result<Value, Failure> {
        let st = sc.state;
        let (params, timeout) = if st.jsonata {
            self.task_arguments_jsonata(sc, raw, scope)?
        } else {
            let eff = self.input_path(sc, raw, scope)?;
            let params = match st.get("Parameters") {
                Some(p) => self.template(sc, p, &eff, scope, None)?,
                None => eff.clone(),
            };
            (params, self.timeout_of(sc, &eff, scope)?)
        };
        let kind = st.resource_kind();
        let resource = st.resource_text();
        let (function, payload) = match kind {
            ResourceKind::LambdaInvoke => (
                params
                    .get("FunctionName")
                    .and_then(function_from_arn_or_name)
                    .unwrap_or_default(),
                params.get("Payload").cloned().unwrap_or(json!({})),
            ),
            _ => (
                st.static_function().unwrap_or_else(|| resource.clone()),
                params.clone(),
            ),
        };
        let events = task_event_types(&kind);
        let mut ev = self.state_event(events.scheduled, &st.name);
        ev.resource = Some(resource.clone());
        ev.input = Some(Arc::new(params.clone()));
        self.record(ev);
        self.record(self.state_event(events.started, &st.name));
        let call = TaskCall {
            state_name: st.name.to_string(),
            function,
            resource: resource.clone(),
            kind: kind.clone(),
            payload,
            parameters: params,
            attempt,
            task_token: self.task_token(sc),
            heartbeat_seconds: sc.state.get("HeartbeatSeconds").and_then(Value::as_f64),
        };
        let fut = self.invoker.invoke_task(&call);
        let result = match timeout {
            Some(t) if self.opts.enforce_task_timeouts => {
                match tokio::time::timeout(Duration::from_secs_f64(t), fut).await {
                    Ok(r) => r.map_err(Failure::from_task),
                    Err(_) => Err(Failure::task_timeout()),
                }
            }
            _ => fut.await.map_err(Failure::from_task),
        };
        match result {
            Ok(v) => {
                // The service names the Lambda resource ("lambda" for the integration) in the cause.
                let who = if kind == ResourceKind::LambdaInvoke {
                    "lambda".to_string()
                } else {
                    resource
                };
                if let Err(f) = check_size(&who, &v, false) {
                    let mut ev = self.state_event(events.failed, &st.name);
                    ev.error = Some(f.error.clone());
                    ev.cause = f.cause.clone();
                    self.record(ev);
                    return Err(f);
                }
                let v = Arc::new(v);
                let mut ev = self.state_event(events.succeeded, &st.name);
                ev.output = Some(v.clone());
                self.record(ev);
                Ok(Arc::unwrap_or_clone(v))
            }
            Err(f) => {
                let ty = if f.error == "States.Timeout" {
                    events.timed_out
                } else {
                    events.failed
                };
                let mut ev = self.state_event(ty, &st.name);
                ev.error = Some(f.error.clone());
                ev.cause = f.cause.clone();
                self.record(ev);
                Err(f)
            }
        }
    }

    /// A JSONata Task's `Arguments` (else its input) and `TimeoutSeconds`;
    /// `Credentials` are evaluated for their errors, then not used locally.
    fn task_arguments_jsonata(
        &self,
        sc: &StateCtx<'_>,
        raw: &Value,
        scope: &Scope,
    ) -> Result<(Value, Option<f64>), Failure> {
        let vars = StatesVar::input(raw);
        let args = match sc.state.get("Arguments") {
            Some(a) => self.jsonata_template(sc, a, "Arguments", vars, scope)?,
            None => raw.clone(),
        };
        if let Some(c) = sc.state.get("Credentials") {
            self.jsonata_template(sc, c, "Credentials", vars, scope)?;
        }
        let timeout = match sc.state.get("TimeoutSeconds") {
            Some(t) => self
                .jsonata_typed(sc, t, "TimeoutSeconds", "number", vars, scope)?
                .as_f64(),
            None => None,
        };
        Ok((args, timeout))
    }
}
