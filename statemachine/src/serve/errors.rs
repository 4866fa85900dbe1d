//! Every error the endpoint answers with, built in one place: AWS's error
//! type (the `__type` the SDKs and the CLI turn into a typed error) and its
//! message, worded as Step Functions words it.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answer: HTTP 400 (or 500 for ours) with `{"__type", "message"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: &'static str,
    pub message: String,
    status: StatusCode,
}

impl ApiError {
    fn bad(code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            status: StatusCode::BAD_REQUEST,
        }
    }

    pub fn unknown_operation(target: &str) -> Self {
        Self::bad(
            "UnknownOperationException",
            format!("The action or operation requested is invalid: '{target}'. Verify that the action is typed correctly."),
        )
    }
    pub fn serialization(why: &str) -> Self {
        Self::bad(
            "SerializationException",
            format!("The request body is not valid JSON: {why}"),
        )
    }
    pub fn validation(message: impl Into<String>) -> Self {
        Self::bad("ValidationException", message)
    }
    pub fn missing(field: &str) -> Self {
        Self::validation(format!(
            "1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null"
        ))
    }
    pub fn invalid_arn(arn: &str) -> Self {
        Self::bad(
            "InvalidArn",
            format!("Invalid Arn: 'Resource type not valid in this context: {arn}'"),
        )
    }
    pub fn invalid_name(name: &str) -> Self {
        Self::bad("InvalidName", format!("Invalid Name: '{name}'"))
    }
    pub fn invalid_definition(why: &str) -> Self {
        Self::bad(
            "InvalidDefinition",
            format!("Invalid State Machine Definition: '{why}'"),
        )
    }
    pub fn invalid_execution_input(why: &str) -> Self {
        Self::bad(
            "InvalidExecutionInput",
            format!("Invalid execution input: {why}"),
        )
    }
    pub fn invalid_output(why: &str) -> Self {
        Self::bad("InvalidOutput", format!("Invalid output: {why}"))
    }
    pub fn invalid_token(why: &str) -> Self {
        Self::bad("InvalidToken", format!("Invalid Token: '{why}'"))
    }
    pub fn state_machine_does_not_exist(arn: &str) -> Self {
        Self::bad(
            "StateMachineDoesNotExist",
            format!("State Machine Does Not Exist: '{arn}'"),
        )
    }
    pub fn state_machine_already_exists(arn: &str) -> Self {
        Self::bad(
            "StateMachineAlreadyExists",
            format!("State Machine Already Exists: '{arn}'"),
        )
    }
    pub fn state_machine_type_not_supported(message: &str) -> Self {
        Self::bad("StateMachineTypeNotSupported", message)
    }
    pub fn execution_does_not_exist(arn: &str) -> Self {
        Self::bad(
            "ExecutionDoesNotExist",
            format!("Execution Does Not Exist: '{arn}'"),
        )
    }
    pub fn execution_already_exists(arn: &str) -> Self {
        Self::bad(
            "ExecutionAlreadyExists",
            format!("Execution Already Exists: '{arn}'"),
        )
    }
    pub fn execution_not_redrivable(arn: &str, why: &str) -> Self {
        Self::bad(
            "ExecutionNotRedrivable",
            format!("Execution '{arn}' cannot be redriven: {why}"),
        )
    }
    pub fn task_does_not_exist() -> Self {
        Self::bad("TaskDoesNotExist", "Task Does Not Exist")
    }
    pub fn task_timed_out() -> Self {
        Self::bad("TaskTimedOut", "Task Timed Out")
    }
    pub fn invalid_next_token() -> Self {
        Self::bad(
            "InvalidToken",
            "Invalid Token: 'the nextToken is not one this endpoint gave'",
        )
    }
    /// Ours, not AWS's: the store could not be written.
    pub fn store(why: &str) -> Self {
        ApiError {
            code: "InternalFailure",
            message: format!("The local store could not be written: {why}"),
            status: StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "__type": self.code, "message": self.message });
        (
            self.status,
            [
                ("content-type", "application/x-amz-json-1.0"),
                ("x-amzn-errortype", self.code),
            ],
            body.to_string(),
        )
            .into_response()
    }
}
