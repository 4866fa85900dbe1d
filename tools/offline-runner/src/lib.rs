//! # offline-runner
//!
//! The whole pipeline offline, the job behind `make run` (the `pipeline`
//! binary):
//!
//! - [`local_run`]: starts what is missing (the reporting-API simulator, the
//!   embedded S3 server, from `local-services`), runs the deployed definition
//!   file unchanged on the local executor, and resolves its Tasks to the four
//!   functions in process or to a Lambda Invoke endpoint;
//! - [`site`]: serves the published site (`pipeline --serve`);
//! - [`endpoint`]: the same services and functions behind a local Step
//!   Functions endpoint (`make serve`, the `pipeline-endpoint` binary).

pub mod endpoint;
pub mod local_run;
pub mod site;
