//! What a simulator is told: its routes, scripted faults, outcome, gzip,
//! dialect and the CSV it serves.

use crate::csvgen::CsvSpec;
use bytes::Bytes;
use serde_json::{Map, Value};
use std::str::FromStr;

/// The three routes, for faults and request counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// `POST /reports`
    Create,
    /// `GET /reports/{id}`
    Status,
    /// `GET /files/{id}.csv[.gz]`
    Download,
}

impl Route {
    pub const ALL: [Route; 3] = [Route::Create, Route::Status, Route::Download];

    pub(super) fn index(self) -> usize {
        match self {
            Route::Create => 0,
            Route::Status => 1,
            Route::Download => 2,
        }
    }
}

impl FromStr for Route {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "create" => Ok(Route::Create),
            "status" => Ok(Route::Status),
            "download" => Ok(Route::Download),
            _ => Err(format!("unknown route {s:?} (create, status or download)")),
        }
    }
}

/// One scripted misbehaviour, consumed by the next request on its route.
///
/// Faults that replace the answer ([`Fault::Status`], [`Fault::MalformedJson`],
/// [`Fault::UnknownStatus`], [`Fault::Body`]) leave the report untouched: a
/// status poll answered with a fault does not count towards completion, and
/// a create answered with a fault creates nothing. The others ([`Fault::Delay`],
/// [`Fault::Stall`], [`Fault::Truncate`]) wrap the normal answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status code (a JSON error body), with `Retry-After`
    /// when given (seconds or an HTTP date, sent verbatim).
    Status {
        code: u16,
        retry_after: Option<String>,
    },
    /// Wait this long before sending the headers, then answer normally.
    Delay { ms: u64 },
    /// Answer normally but stop sending after `after_bytes` bytes of body,
    /// keeping the connection open: a read timeout's test.
    Stall { after_bytes: u64 },
    /// Answer normally, Content-Length announcing the full body, but close
    /// the connection after `after_bytes` bytes.
    Truncate { after_bytes: u64 },
    /// 200 with `application/json` and a body that is not JSON.
    MalformedJson,
    /// Status route: answer with this status word instead of the real one.
    UnknownStatus(String),
    /// `302 Found` to this URL (the SSRF tests: a redirect to another host).
    Redirect { location: String },
    /// Answer with exactly this code, content type and body.
    Body {
        code: u16,
        content_type: String,
        body: Bytes,
    },
    /// Close the connection without any answer (the client sees a reset /
    /// incomplete message, as from a crashing load balancer).
    Disconnect,
}

impl Fault {
    /// `Fault::Status` without `Retry-After`.
    pub fn status(code: u16) -> Fault {
        Fault::Status {
            code,
            retry_after: None,
        }
    }

    /// `Fault::Status` with `Retry-After: <seconds>`.
    pub fn retry_after(code: u16, seconds: u64) -> Fault {
        Fault::Status {
            code,
            retry_after: Some(seconds.to_string()),
        }
    }

    pub(super) fn replaces_answer(&self) -> bool {
        matches!(
            self,
            Fault::Status { .. }
                | Fault::MalformedJson
                | Fault::Body { .. }
                | Fault::Disconnect
                | Fault::Redirect { .. }
        )
    }
}

impl FromStr for Fault {
    type Err = String;
    /// `503`, `429:retry-after=2`, `delay=500`, `stall=1000`, `truncate=1000`,
    /// `malformed`, `unknown=QUEUED`, `disconnect` (the `report-sim --fault` syntax).
    fn from_str(s: &str) -> Result<Self, String> {
        let num = |v: &str| v.parse::<u64>().map_err(|e| format!("{v:?}: {e}"));
        if let Some((code, rest)) = s.split_once(':') {
            let code = code.parse::<u16>().map_err(|e| format!("{code:?}: {e}"))?;
            let secs = rest
                .strip_prefix("retry-after=")
                .ok_or_else(|| format!("expected retry-after=N in {s:?}"))?;
            return Ok(Fault::Status {
                code,
                retry_after: Some(secs.to_string()),
            });
        }
        if let Ok(code) = s.parse::<u16>() {
            return Ok(Fault::status(code));
        }
        match s.split_once('=') {
            Some(("delay", v)) => Ok(Fault::Delay { ms: num(v)? }),
            Some(("stall", v)) => Ok(Fault::Stall {
                after_bytes: num(v)?,
            }),
            Some(("truncate", v)) => Ok(Fault::Truncate {
                after_bytes: num(v)?,
            }),
            Some(("unknown", v)) => Ok(Fault::UnknownStatus(v.to_string())),
            None if s == "malformed" => Ok(Fault::MalformedJson),
            None if s == "disconnect" => Ok(Fault::Disconnect),
            _ => Err(format!("unknown fault {s:?}")),
        }
    }
}

/// How a report ends once its in-progress polls are used up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Outcome {
    #[default]
    Complete,
    Fail,
    /// Stays in progress forever (the poll budget's test).
    Never,
}

/// How the CSV is compressed, if at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Gzip {
    #[default]
    None,
    /// `/files/{id}.csv` is sent gzipped with `Content-Encoding: gzip`.
    ContentEncoding,
    /// The download URL is `/files/{id}.csv.gz`, sent as `application/gzip`
    /// with no Content-Encoding (a gzip file, not a transfer encoding).
    File,
}

/// The API's words: field names and status values. A field name with dots
/// (`data.state`) is a path into nested objects, as the Lambdas read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialect {
    /// Report id field of the create answer (and of status answers).
    pub report_id_field: String,
    /// Status URL field of the create answer.
    pub status_url_field: String,
    pub status_field: String,
    pub in_progress: String,
    pub completed: String,
    pub failed: String,
    pub download_url_field: String,
}

impl Default for Dialect {
    fn default() -> Self {
        Dialect {
            report_id_field: "report_id".into(),
            status_url_field: "status_url".into(),
            status_field: "status".into(),
            in_progress: "IN_PROGRESS".into(),
            completed: "COMPLETED".into(),
            failed: "FAILED".into(),
            download_url_field: "download_url".into(),
        }
    }
}

impl Dialect {
    /// The Lambdas' environment variables for this dialect, only those that
    /// differ from the default (the Lambdas' defaults are the same).
    pub fn env_vars(&self) -> Vec<(&'static str, String)> {
        let d = Dialect::default();
        [
            ("REPORT_ID_FIELD", &self.report_id_field, &d.report_id_field),
            (
                "REPORT_STATUS_URL_FIELD",
                &self.status_url_field,
                &d.status_url_field,
            ),
            ("REPORT_STATUS_FIELD", &self.status_field, &d.status_field),
            (
                "REPORT_STATUS_IN_PROGRESS",
                &self.in_progress,
                &d.in_progress,
            ),
            ("REPORT_STATUS_COMPLETED", &self.completed, &d.completed),
            ("REPORT_STATUS_FAILED", &self.failed, &d.failed),
            (
                "REPORT_DOWNLOAD_URL_FIELD",
                &self.download_url_field,
                &d.download_url_field,
            ),
        ]
        .into_iter()
        .filter(|(_, v, default)| v != default)
        .map(|(name, v, _)| (name, v.clone()))
        .collect()
    }
}

/// Sets `path` (dot-separated) in `obj`, creating nested objects.
pub(super) fn set_path(obj: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            obj.insert(path.to_string(), value);
        }
        Some((head, rest)) => {
            let child = obj
                .entry(head.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !child.is_object() {
                *child = Value::Object(Map::new());
            }
            if let Value::Object(m) = child {
                set_path(m, rest, value);
            }
        }
    }
}

/// Everything the simulator can be told at start.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Status polls answered "in progress" before the outcome: with 2, polls
    /// 1 and 2 say IN_PROGRESS and poll 3 says COMPLETED; 0 completes at once.
    pub polls_to_complete: u32,
    pub outcome: Outcome,
    /// The CSV every report serves.
    pub csv: CsvSpec,
    pub gzip: Gzip,
    /// Serve these bytes instead of the generated CSV (invalid UTF-8, a
    /// ragged CSV, an HTML error page...). Gzip still applies.
    pub download_body: Option<Bytes>,
    /// Content-Type of downloads instead of `text/csv` / `application/gzip`.
    pub download_content_type: Option<String>,
    /// When set, every request must carry it (else 401).
    pub token: Option<String>,
    /// Header carrying the raw token (e.g. `x-api-key`); `None` means
    /// `Authorization: Bearer <token>`.
    pub token_header: Option<String>,
    pub dialect: Dialect,
    /// Faults queued before the first request.
    pub faults: Vec<(Route, Fault)>,
    /// The number of the first report created (`rpt-000001` for 1). The
    /// offline runner continues from its last run so that reports of
    /// successive runs in one work folder keep distinct ids, as a real API's do.
    pub first_id: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            port: 0,
            polls_to_complete: 1,
            outcome: Outcome::Complete,
            csv: CsvSpec::default(),
            gzip: Gzip::None,
            download_body: None,
            download_content_type: None,
            token: None,
            token_header: None,
            dialect: Dialect::default(),
            faults: Vec::new(),
            first_id: 1,
        }
    }
}
