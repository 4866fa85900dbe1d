//! How Task states reach code: the [`TaskInvoker`] trait and three
//! implementations — canned results ([`MockInvoker`]), a Lambda Invoke API
//! endpoint such as `cargo lambda watch` ([`LambdaEndpointInvoker`]) and Rust
//! closures in the same process ([`FnInvoker`]).

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::{json, Value};

use crate::model::ResourceKind;

/// A failed task: the error name and cause that Retry/Catch match on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFailure {
    pub error: String,
    pub cause: String,
}

impl TaskFailure {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        TaskFailure {
            error: error.into(),
            cause: cause.into(),
        }
    }
}

impl std::fmt::Display for TaskFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.cause)
    }
}

impl std::error::Error for TaskFailure {}

/// Everything the executor knows about one Task invocation.
#[derive(Debug, Clone)]
pub struct TaskCall {
    /// The Task state's name.
    pub state_name: String,
    /// The local function name.
    pub function: String,
    /// The Resource as written (or a synthetic ARN for `Fn::GetAtt`).
    pub resource: String,
    pub kind: ResourceKind,
    /// The payload the function receives.
    pub payload: Value,
    /// For `lambda:invoke`: the resolved Parameters (FunctionName, Payload, …).
    pub parameters: Value,
    /// 0 for the first attempt, then 1, 2, … for retries.
    pub attempt: u32,
    /// `$$.Task.Token` of a `.waitForTaskToken` Task: its result is what a
    /// `SendTaskSuccess`/`SendTaskFailure` with this token says.
    pub task_token: Option<String>,
    /// The Task's `HeartbeatSeconds`: a callback Task without a heartbeat
    /// for this long fails with `States.HeartbeatTimeout`.
    pub heartbeat_seconds: Option<f64>,
}

/// Runs the function behind a Task state.
#[async_trait]
pub trait TaskInvoker: Send + Sync {
    /// Call `function` with `input`; `Ok` is its return value.
    async fn invoke(&self, function: &str, input: Value) -> Result<Value, TaskFailure>;

    /// Produce the Task's result. The default calls [`TaskInvoker::invoke`] and,
    /// for `arn:aws:states:::lambda:invoke`, wraps the return value in the Invoke
    /// API response (`Payload`, `StatusCode`, …) as Step Functions does.
    async fn invoke_task(&self, call: &TaskCall) -> Result<Value, TaskFailure> {
        let out = self.invoke(&call.function, call.payload.clone()).await?;
        Ok(match call.kind {
            ResourceKind::LambdaInvoke => json!({
                "ExecutedVersion": "$LATEST",
                "Payload": out,
                "SdkHttpMetadata": {"HttpStatusCode": 200},
                "SdkResponseMetadata": {},
                "StatusCode": 200
            }),
            _ => out,
        })
    }
}

/// One canned result.
#[derive(Debug, Clone, PartialEq)]
pub enum MockResult {
    Output(Value),
    Failure(TaskFailure),
}

/// Canned results per Task state name or function name, consumed in order; the
/// last one repeats once a queue is down to it (as Step Functions Local does).
///
/// File format: `{"PollReport": [{"output": {...}}, {"error": "E", "cause": "C"}], ...}`.
/// Step Functions Local's `{"Return": ...}` / `{"Throw": {"Error", "Cause"}}` entries are accepted too.
#[derive(Debug, Default)]
pub struct MockInvoker {
    queues: Mutex<HashMap<String, VecDeque<MockResult>>>,
}

impl MockInvoker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Load mocks from a JSON file.
    pub fn from_path(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let v: Value =
            serde_json::from_str(&text).map_err(|e| format!("invalid mocks JSON: {e}"))?;
        Self::from_value(&v)
    }

    /// Build from the JSON shape described on the type.
    pub fn from_value(v: &Value) -> Result<Self, String> {
        let obj = v.as_object().ok_or("mocks must be a JSON object")?;
        let m = MockInvoker::new();
        for (name, entries) in obj {
            let list = match entries {
                Value::Array(a) => a.clone(),
                other => vec![other.clone()],
            };
            for e in list {
                m.push(
                    name,
                    parse_entry(&e).ok_or_else(|| {
                        format!("mock entry for '{name}' needs \"output\" or \"error\": {e}")
                    })?,
                );
            }
        }
        Ok(m)
    }

    /// Queue a result for a state or function name.
    pub fn push(&self, name: &str, result: MockResult) {
        self.queues
            .lock()
            .expect("mock lock")
            .entry(name.to_string())
            .or_default()
            .push_back(result);
    }

    fn take(&self, names: &[&str]) -> Option<MockResult> {
        let mut q = self.queues.lock().expect("mock lock");
        for n in names {
            if let Some(queue) = q.get_mut(*n) {
                if queue.len() > 1 {
                    return queue.pop_front();
                }
                if let Some(last) = queue.front() {
                    return Some(last.clone());
                }
            }
        }
        None
    }
}

fn parse_entry(e: &Value) -> Option<MockResult> {
    let o = e.as_object()?;
    if let Some(err) = o.get("error").and_then(Value::as_str) {
        let cause = o.get("cause").and_then(Value::as_str).unwrap_or_default();
        return Some(MockResult::Failure(TaskFailure::new(err, cause)));
    }
    if let Some(out) = o.get("output") {
        return Some(MockResult::Output(out.clone()));
    }
    if let Some(t) = o.get("Throw") {
        let err = t.get("Error").and_then(Value::as_str).unwrap_or("Error");
        let cause = t.get("Cause").and_then(Value::as_str).unwrap_or_default();
        return Some(MockResult::Failure(TaskFailure::new(err, cause)));
    }
    o.get("Return").map(|r| MockResult::Output(r.clone()))
}

#[async_trait]
impl TaskInvoker for MockInvoker {
    async fn invoke(&self, function: &str, _input: Value) -> Result<Value, TaskFailure> {
        match self.take(&[function]) {
            Some(MockResult::Output(v)) => Ok(v),
            Some(MockResult::Failure(f)) => Err(f),
            None => Err(no_mock(function)),
        }
    }

    /// Mocks hold the Task's *result* (for `lambda:invoke`, the whole Invoke
    /// response), so nothing is wrapped; a state-name queue wins over a function-name one.
    async fn invoke_task(&self, call: &TaskCall) -> Result<Value, TaskFailure> {
        match self.take(&[&call.state_name, &call.function]) {
            Some(MockResult::Output(v)) => Ok(v),
            Some(MockResult::Failure(f)) => Err(f),
            None => Err(no_mock(&call.state_name)),
        }
    }
}

fn no_mock(name: &str) -> TaskFailure {
    TaskFailure::new(
        "States.TaskFailed",
        format!("No mocked result for state or function '{name}'."),
    )
}

/// Calls functions through the Lambda Invoke API:
/// `POST {base}/2015-03-31/functions/{name}/invocations` (what `cargo lambda watch` serves on :9000).
#[derive(Debug, Clone)]
pub struct LambdaEndpointInvoker {
    base_url: String,
    client: reqwest::Client,
}

impl LambdaEndpointInvoker {
    pub fn new(base_url: impl Into<String>) -> Self {
        LambdaEndpointInvoker {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            client: reqwest::Client::new(),
        }
    }
}

#[async_trait]
impl TaskInvoker for LambdaEndpointInvoker {
    async fn invoke(&self, function: &str, input: Value) -> Result<Value, TaskFailure> {
        let url = format!(
            "{}/2015-03-31/functions/{}/invocations",
            self.base_url, function
        );
        let resp = self
            .client
            .post(&url)
            .json(&input)
            .send()
            .await
            .map_err(|e| {
                TaskFailure::new(
                    "Lambda.SdkClientException",
                    format!("Unable to reach {url}: {e}"),
                )
            })?;
        let status = resp.status();
        let function_error = resp.headers().contains_key("x-amz-function-error");
        let body = resp.text().await.map_err(|e| {
            TaskFailure::new(
                "Lambda.SdkClientException",
                format!("reading the response: {e}"),
            )
        })?;
        let parsed: Option<Value> = serde_json::from_str(&body).ok();
        if function_error {
            let v = parsed.unwrap_or(Value::Null);
            let error = v
                .get("errorType")
                .and_then(Value::as_str)
                .unwrap_or("Lambda.Unknown")
                .to_string();
            let cause = v
                .get("errorMessage")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or(body);
            return Err(TaskFailure::new(error, cause));
        }
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(TaskFailure::new(
                "Lambda.ResourceNotFoundException",
                format!("Function not found: {function}"),
            ));
        }
        if !status.is_success() {
            return Err(TaskFailure::new(
                "Lambda.ServiceException",
                format!("HTTP {status} from {url}: {body}"),
            ));
        }
        Ok(parsed.unwrap_or(Value::String(body)))
    }
}

/// A boxed future returned by an [`FnInvoker`] handler.
pub(crate) type HandlerFuture = Pin<Box<dyn Future<Output = Result<Value, TaskFailure>> + Send>>;
type Handler = Arc<dyn Fn(Value) -> HandlerFuture + Send + Sync>;

/// Runs Rust handlers in-process, by function name.
#[derive(Default, Clone)]
pub struct FnInvoker {
    handlers: HashMap<String, Handler>,
}

impl FnInvoker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Register `handler` for `function` (builder style).
    pub fn with<F, Fut>(mut self, function: &str, handler: F) -> Self
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, TaskFailure>> + Send + 'static,
    {
        self.insert(function, handler);
        self
    }

    /// Register `handler` for `function`.
    pub fn insert<F, Fut>(&mut self, function: &str, handler: F)
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, TaskFailure>> + Send + 'static,
    {
        self.handlers.insert(
            function.to_string(),
            Arc::new(move |v| Box::pin(handler(v)) as HandlerFuture),
        );
    }
}

#[async_trait]
impl TaskInvoker for FnInvoker {
    async fn invoke(&self, function: &str, input: Value) -> Result<Value, TaskFailure> {
        match self.handlers.get(function) {
            Some(h) => h(input).await,
            None => Err(TaskFailure::new(
                "Lambda.ResourceNotFoundException",
                format!("Function not found: {function}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn given_a_mock_queue_when_invoked_repeatedly_then_entries_are_consumed_and_last_repeats()
    {
        let m = MockInvoker::from_value(&json!({
            "Poll": [{"output": 1}, {"error": "E", "cause": "C"}, {"output": 3}]
        }))
        .unwrap();
        assert_eq!(m.invoke("Poll", Value::Null).await, Ok(json!(1)));
        assert_eq!(
            m.invoke("Poll", Value::Null).await,
            Err(TaskFailure::new("E", "C"))
        );
        assert_eq!(m.invoke("Poll", Value::Null).await, Ok(json!(3)));
        assert_eq!(m.invoke("Poll", Value::Null).await, Ok(json!(3)));
    }

    /// A one-shot HTTP server answering with `status`, extra `headers` and `body`;
    /// returns its base URL and a handle yielding the request it received.
    async fn fake_lambda(
        status: &str,
        headers: &str,
        body: &str,
    ) -> (String, tokio::task::JoinHandle<String>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let response = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let handle = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Read headers, then the body by content-length.
            loop {
                let n = sock.read(&mut chunk).await.unwrap();
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let len = text
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + len || n == 0 {
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            sock.write_all(response.as_bytes()).await.unwrap();
            String::from_utf8_lossy(&buf).to_string()
        });
        (url, handle)
    }

    #[tokio::test]
    async fn given_a_lambda_endpoint_when_invoked_then_it_posts_to_the_invoke_api_path() {
        let (url, req) = fake_lambda("200 OK", "", r#"{"ok":true}"#).await;
        let out = LambdaEndpointInvoker::new(url)
            .invoke("PollReport", json!({"a": 1}))
            .await;
        assert_eq!(out, Ok(json!({"ok": true})));
        let req = req.await.unwrap();
        assert!(req.starts_with("POST /2015-03-31/functions/PollReport/invocations "));
        assert!(req.ends_with(r#"{"a":1}"#));
    }

    #[tokio::test]
    async fn given_a_function_error_header_when_invoked_then_error_type_and_message_become_the_failure(
    ) {
        let (url, _req) = fake_lambda(
            "200 OK",
            "x-amz-function-error: Unhandled\r\n",
            r#"{"errorType":"Csv.Malformed","errorMessage":"row 3"}"#,
        )
        .await;
        let out = LambdaEndpointInvoker::new(url).invoke("F", json!({})).await;
        assert_eq!(out, Err(TaskFailure::new("Csv.Malformed", "row 3")));
    }

    #[tokio::test]
    async fn given_fn_invoker_when_function_is_registered_then_closure_runs() {
        let inv = FnInvoker::new().with("Double", |v: Value| async move {
            Ok(json!(v.as_i64().unwrap_or(0) * 2))
        });
        assert_eq!(inv.invoke("Double", json!(21)).await, Ok(json!(42)));
        assert_eq!(
            inv.invoke("Nope", json!(1)).await.unwrap_err().error,
            "Lambda.ResourceNotFoundException"
        );
    }
}
