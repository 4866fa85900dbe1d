//! # shared
//!
//! What the four report-pipeline Lambdas have in common:
//!
//! - [`payload`]: the JSON each state passes to the next, as serde types. The
//!   state machine definition's JSONPaths read these fields; a test checks it.
//! - [`errors`]: the stable error names (`errorType`) the definition's
//!   `Retry`/`Catch` match, and the glue to `lambda_runtime::Diagnostic`.
//! - [`config`], [`secrets`], [`polling`]: configuration read once at cold start.
//! - [`report_api`]: the reporting API as small traits plus the reqwest client.
//! - [`url_policy`]: which URLs may be fetched (SSRF protection, redirects, DNS).
//! - [`store`]: S3 as small traits plus the aws-sdk-s3 implementation (streamed,
//!   multipart, aborted on failure) and an in-memory fake for unit tests.
//! - [`pipe`]: streams bytes from synchronous rendering into an async upload.
//! - [`function`]: the [`function::Function`] each Lambda implements once, built
//!   by its `main.rs`, the offline runner, the tests and the benchmarks alike.
//! - [`runtime`]: starts the Lambda runtime; a payload that is not JSON gets a named error.
//! - [`telemetry`]: logging set-up.

pub mod body;
pub mod config;
pub mod errors;
pub mod function;
pub mod payload;
pub mod pipe;
pub mod polling;
pub mod report_api;
pub mod runtime;
pub mod secrets;
pub mod store;
pub(crate) mod telemetry;
pub mod url_policy;

pub use errors::{ErrorName, NamedError};
