//! Task: one attempt at calling its resource through the [`TaskInvoker`]
//! (Retry/Catch are around it, in `retry.rs`), recording `TaskScheduled`,
//! `TaskStarted` and `TaskSucceeded`/`TaskFailed`.
//!
//! [`TaskInvoker`]: crate::invoke::TaskInvoker

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::exec::failure::Failure;
use crate::exec::runner::{Runner, Scope, StateCtx};
use crate::exec::size::check_size;
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
        let eff = self.input_path(sc, raw, scope)?;
        let params = match st.get("Parameters") {
            Some(p) => self.template(sc, p, &eff, scope, None)?,
            None => eff.clone(),
        };
        let timeout = self.timeout_of(sc, &eff, scope)?;
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
        let mut ev = self.state_event("TaskScheduled", &st.name);
        ev.resource = Some(resource.clone());
        ev.input = Some(Arc::new(params.clone()));
        self.record(ev);
        self.record(self.state_event("TaskStarted", &st.name));
        let call = TaskCall {
            state_name: st.name.to_string(),
            function,
            resource: resource.clone(),
            kind: kind.clone(),
            payload,
            parameters: params,
            attempt,
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
                    let mut ev = self.state_event("TaskFailed", &st.name);
                    ev.error = Some(f.error.clone());
                    ev.cause = f.cause.clone();
                    self.record(ev);
                    return Err(f);
                }
                let v = Arc::new(v);
                let mut ev = self.state_event("TaskSucceeded", &st.name);
                ev.output = Some(v.clone());
                self.record(ev);
                Ok(Arc::unwrap_or_clone(v))
            }
            Err(f) => {
                let mut ev = self.state_event("TaskFailed", &st.name);
                ev.error = Some(f.error.clone());
                ev.cause = f.cause.clone();
                self.record(ev);
                Err(f)
            }
        }
    }
}
