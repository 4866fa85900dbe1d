//! Local stand-ins for the systems the pipeline talks to, for tests and for
//! running the Lambdas on a laptop. Never linked into a Lambda binary.
//!
//! - [`csvgen`]: a deterministic CSV generator ([`csvgen::CsvSpec`]) whose
//!   cells are awkward on purpose (quotes, commas and newlines in fields,
//!   non-ASCII, HTML metacharacters). It streams, so a 1 GB report costs no
//!   memory, and any cell can be recomputed to check what was published.
//! - [`simulator`]: an HTTP server speaking the reporting API's dialect
//!   (create a report, poll its status, download the CSV), with knobs for
//!   dialect, auth, gzip and scripted faults (status codes, delays, stalled
//!   or truncated bodies, malformed JSON) to test the Lambdas' error paths.
//! - [`s3`]: an embedded S3-protocol server (s3s + s3s-fs) rooted at a
//!   directory, with SigV4 auth, plus an `aws-sdk-s3` client builder that
//!   takes the same code path as on AWS (endpoint override, path style).
//!
//! Binaries: `report-sim`, `local-s3` and `dev-servers` (both, on fixed ports,
//! printing the environment a Lambda needs).

#[doc(hidden)]
pub mod cli;
pub mod csvgen;
pub mod s3;
mod s3_get;
mod s3_put;
mod server;
pub mod simulator;
