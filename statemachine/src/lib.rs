//! `statemachine`: a local executor for AWS Step Functions state machines
//! written in the Amazon States Language (ASL), JSONPath mode.
//!
//! It lets the report pipeline's state machine run on a laptop or in CI
//! against mocked results, `cargo lambda watch`, or in-process Rust handlers,
//! with AWS's semantics (data flow, Retry/Catch, intrinsics, error names and
//! causes) checked against a conformance corpus recorded on real AWS.
//!
//! How the modules fit:
//! - [`model`] parses JSON/YAML into a [`StateMachine`] and resolves Task resources to function names;
//! - [`validate`] checks a definition like serverless-step-functions' `validate: true`;
//! - [`exec`] runs it ([`execute`]), using [`path`] (JSONPath), [`intrinsics`]
//!   (`States.*` functions) and [`choice`] (Choice rules), and records [`history`];
//! - [`invoke`] is how Tasks reach code ([`TaskInvoker`] and its implementations);
//! - [`mermaid`] draws the machine; [`conformance`] replays the recorded AWS cases;
//! - [`view`] draws one execution as a page; [`serve`] is a local Step Functions
//!   endpoint (AWS JSON 1.0) for the AWS SDKs and CLI.

pub(crate) mod choice;
pub mod conformance;
pub mod exec;
pub mod history;
pub(crate) mod intrinsics;
pub mod invoke;
pub mod jsonata;
pub mod mermaid;
pub mod model;
pub mod path;
pub mod serve;
pub mod validate;
pub mod view;

pub use exec::{execute, Execution, ExecutionStatus, RunOptions, MAX_PAYLOAD_BYTES};
pub use history::{history_to_text, HistoryEvent, Observer};
pub use invoke::{
    FnInvoker, LambdaEndpointInvoker, MockInvoker, MockResult, TaskCall, TaskFailure, TaskInvoker,
};
pub use mermaid::to_mermaid;
pub use model::{ParseError, ResourceKind, State, StateMachine, StateType};
pub use validate::{validate, ValidationError};
