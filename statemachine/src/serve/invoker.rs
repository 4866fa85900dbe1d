//! How an endpoint execution's Tasks are answered: the test case's mock
//! when the execution has one and it mocks the state, else the endpoint's
//! functions; a `.waitForTaskToken` Task then waits for its callback.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::callbacks::Callbacks;
use super::mocks::{MockConfig, TestCase};
use crate::invoke::{TaskCall, TaskFailure, TaskInvoker};
use crate::model::ResourceKind;

pub(crate) struct ExecutionInvoker<'c> {
    pub(crate) functions: Arc<dyn TaskInvoker>,
    pub(crate) mocks: Option<(&'c MockConfig, Arc<TestCase>)>,
    pub(crate) callbacks: Arc<Callbacks>,
}

#[async_trait]
impl TaskInvoker for ExecutionInvoker<'_> {
    async fn invoke(&self, function: &str, input: Value) -> Result<Value, TaskFailure> {
        self.functions.invoke(function, input).await
    }

    async fn invoke_task(&self, call: &TaskCall) -> Result<Value, TaskFailure> {
        // A mocked callback Task returns its mock as the callback's result,
        // as Step Functions Local does.
        if let Some(answer) = self
            .mocks
            .as_ref()
            .and_then(|(c, m)| m.next(c, &call.state_name))
        {
            return answer;
        }
        let Some(token) = &call.task_token else {
            return self.functions.invoke_task(call).await;
        };
        // The call hands the token on (a Lambda that stores it somewhere);
        // its own result is not the Task's. Other services (SQS, SNS, …)
        // are not called locally: the token is in the execution's history
        // (TaskScheduled's parameters) for the test to answer.
        if call.kind != ResourceKind::Other {
            self.functions.invoke_task(call).await?;
        }
        self.callbacks.wait(token, call.heartbeat_seconds).await
    }
}

/// Functions for an endpoint with none: every Task without a mock fails,
/// saying how to give it one.
pub struct NoFunctions;

#[async_trait]
impl TaskInvoker for NoFunctions {
    async fn invoke(&self, function: &str, _input: Value) -> Result<Value, TaskFailure> {
        Err(TaskFailure::new(
            "States.TaskFailed",
            format!("no function '{function}' on this endpoint: start it with --lambda-endpoint URL, or mock the state with --mock-config FILE and a state machine ARN ending in #TestCase"),
        ))
    }
}
