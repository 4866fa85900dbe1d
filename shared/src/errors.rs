//! The stable error names every function reports as its `errorType`.
//!
//! The state machine's `Retry` and `Catch` match these strings, so they are a
//! public contract: renaming one is a breaking change to the definition. They
//! are listed once here; each function's own `thiserror` enum maps its
//! variants onto them (see [`NamedError`] and [`impl_diagnostic!`]).

use std::fmt;

/// Every error name a function of the pipeline may report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorName {
    /// The step's input is not the JSON it expects (missing field, wrong type).
    InputInvalid,
    /// The reporting API could not be reached or answered 5xx/429/timeout. Transient.
    ReportApiUnavailable,
    /// The reporting API refused the request (4xx other than 429). Permanent.
    ReportApiRejected,
    /// The reporting API answered something we cannot read (bad JSON, unknown status word). Permanent.
    ReportApiBadResponse,
    /// The reporting API says the report failed. Permanent.
    ReportFailed,
    /// The report was not ready within the poll budget. Permanent.
    ReportTimedOut,
    /// The download URL answered 403/404/410 (missing or expired). Permanent.
    DownloadGone,
    /// The body is not a well-formed CSV (ragged rows, invalid UTF-8, empty, not text). Permanent.
    CsvMalformed,
    /// The report exceeds a configured limit (bytes, rows, columns, field size). Permanent.
    CsvLimitExceeded,
    /// S3 could not be reached or answered 5xx/SlowDown. Transient.
    StorageUnavailable,
    /// S3 refused the request (access denied, no such bucket or key). Permanent.
    StorageFailed,
    /// A conditional write to S3 lost to another writer of the same key. Permanent.
    StorageConflict,
    /// A newer page was published while this run rendered; this run's page is not published. Permanent.
    SiteSuperseded,
    /// A bug: the function's code panicked (the cause has the panic's message). Permanent.
    FunctionPanicked,
}

impl ErrorName {
    /// All names, for documentation and for tests that check the definition.
    pub const ALL: [ErrorName; 14] = [
        ErrorName::InputInvalid,
        ErrorName::ReportApiUnavailable,
        ErrorName::ReportApiRejected,
        ErrorName::ReportApiBadResponse,
        ErrorName::ReportFailed,
        ErrorName::ReportTimedOut,
        ErrorName::DownloadGone,
        ErrorName::CsvMalformed,
        ErrorName::CsvLimitExceeded,
        ErrorName::StorageUnavailable,
        ErrorName::StorageFailed,
        ErrorName::StorageConflict,
        ErrorName::SiteSuperseded,
        ErrorName::FunctionPanicked,
    ];

    /// The `errorType` string.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorName::InputInvalid => "Input.Invalid",
            ErrorName::ReportApiUnavailable => "ReportApi.Unavailable",
            ErrorName::ReportApiRejected => "ReportApi.Rejected",
            ErrorName::ReportApiBadResponse => "ReportApi.BadResponse",
            ErrorName::ReportFailed => "Report.Failed",
            ErrorName::ReportTimedOut => "Report.TimedOut",
            ErrorName::DownloadGone => "Download.Gone",
            ErrorName::CsvMalformed => "Csv.Malformed",
            ErrorName::CsvLimitExceeded => "Csv.LimitExceeded",
            ErrorName::StorageUnavailable => "Storage.Unavailable",
            ErrorName::StorageFailed => "Storage.Failed",
            ErrorName::StorageConflict => "Storage.Conflict",
            ErrorName::SiteSuperseded => "Site.Superseded",
            ErrorName::FunctionPanicked => "Function.Panicked",
        }
    }

    /// Transient errors are worth retrying (the definition's `Retry` lists
    /// exactly these); the rest fail the execution.
    pub const fn is_transient(self) -> bool {
        matches!(
            self,
            ErrorName::ReportApiUnavailable | ErrorName::StorageUnavailable
        )
    }

    pub fn from_name(name: &str) -> Option<ErrorName> {
        Self::ALL.into_iter().find(|n| n.as_str() == name)
    }
}

impl fmt::Display for ErrorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error that knows its stable name.
pub trait NamedError: std::error::Error {
    fn name(&self) -> ErrorName;
}

/// The message a function reports: the error and its sources, joined, so the
/// execution's `Cause` says why without reading logs.
pub fn message_chain(err: &dyn std::error::Error) -> String {
    let mut msg = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        source = s.source();
    }
    msg
}

/// Implements `From<$ty> for lambda_runtime::Diagnostic` for a [`NamedError`],
/// so the runtime reports the stable name, never the Rust type name.
#[macro_export]
macro_rules! impl_diagnostic {
    ($ty:ty) => {
        impl From<$ty> for ::lambda_runtime::Diagnostic {
            fn from(err: $ty) -> Self {
                ::lambda_runtime::Diagnostic {
                    error_type: $crate::errors::NamedError::name(&err).as_str().to_string(),
                    error_message: $crate::errors::message_chain(&err),
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for name in ErrorName::ALL {
            assert!(seen.insert(name.as_str()), "duplicate {name}");
            assert_eq!(ErrorName::from_name(name.as_str()), Some(name));
            assert!(
                !name.as_str().contains("::"),
                "looks like a Rust path: {name}"
            );
        }
    }
}
