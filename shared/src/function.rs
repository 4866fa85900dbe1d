//! What a pipeline function is: built once from its configuration (settings
//! read, secrets resolved, clients made), then invoked once per event.
//!
//! Each function crate implements [`Function`] once. Its `main.rs`
//! ([`serve`]), the offline runner, the integration tests and the benchmarks
//! all build it through [`Function::build`], so the wiring a Lambda gets at
//! cold start is the wiring everything else tests.

use async_trait::async_trait;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::Serialize;
use serde_json::Value;

use crate::config::{Lookup, ProcessEnv};

/// Why a function could not start (bad configuration, an unreadable secret, a client that could not be built).
pub type InitError = Box<dyn std::error::Error + Send + Sync>;

/// One Lambda of the pipeline.
#[async_trait]
pub trait Function: Sized + Send + Sync + 'static {
    /// Its state's name in the definition, and its binary's name.
    const NAME: &'static str;
    type Output: Serialize + Send;
    type Error: Into<Diagnostic> + std::fmt::Debug + Send;

    /// What a cold start does: read the settings from `env` and build the clients.
    async fn build(env: &(dyn Lookup + Sync)) -> Result<Self, InitError>;

    /// One invocation.
    async fn handle(&self, event: Value) -> Result<Self::Output, Self::Error>;
}

/// A Lambda's `main`: builds `F` from the process environment and serves
/// invocations until the sandbox is shut down.
pub async fn serve<F: Function>() -> Result<(), lambda_runtime::Error> {
    crate::telemetry::init();
    let function = F::build(&ProcessEnv).await?;
    crate::runtime::run(|event: LambdaEvent<Value>| function.handle(event.payload)).await
}
