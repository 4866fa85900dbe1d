//! The three routes (create, status, download) and their answers, faults
//! included.

use super::*;
use crate::csvgen::DEFAULT_CHUNK;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use serde_json::{json, Map, Value};
use std::collections::VecDeque;
use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

pub(super) fn download_url(shared: &Shared, id: &str) -> String {
    let ext = if shared.config.gzip == Gzip::File {
        "csv.gz"
    } else {
        "csv"
    };
    format!("{}/files/{id}.{ext}", shared.base_url)
}

/// A response body with its length when known.
pub(super) struct Payload {
    stream: BoxStream<'static, io::Result<Bytes>>,
    len: Option<u64>,
}

impl Payload {
    fn bytes(b: impl Into<Bytes>) -> Payload {
        let b: Bytes = b.into();
        let len = Some(b.len() as u64);
        Payload {
            stream: futures::stream::once(async move { Ok(b) }).boxed(),
            len,
        }
    }
}

/// Cuts a stream after `limit` bytes.
pub(super) fn take_bytes(
    stream: BoxStream<'static, io::Result<Bytes>>,
    limit: u64,
) -> BoxStream<'static, io::Result<Bytes>> {
    futures::stream::unfold((stream, limit), |(mut s, left)| async move {
        if left == 0 {
            return None;
        }
        match s.next().await? {
            Ok(mut b) => {
                if b.len() as u64 > left {
                    b.truncate(left as usize);
                }
                let n = b.len() as u64;
                Some((Ok(b), (s, left - n)))
            }
            Err(e) => Some((Err(e), (s, 0))),
        }
    })
    .boxed()
}

/// Builds the response, applying a body-level fault (stall or truncate).
pub(super) fn respond(
    code: StatusCode,
    headers: Vec<(HeaderName, String)>,
    payload: Payload,
    fault: Option<Fault>,
) -> Response {
    let mut builder = Response::builder().status(code);
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    let (stream, len) = match fault {
        Some(Fault::Stall { after_bytes }) => (
            take_bytes(payload.stream, after_bytes)
                .chain(futures::stream::pending())
                .boxed(),
            payload.len,
        ),
        Some(Fault::Truncate { after_bytes }) => {
            // The announced length must exceed what is sent, even when unknown.
            let len = payload
                .len
                .filter(|&l| l > after_bytes)
                .unwrap_or(after_bytes + 65_536);
            // The pause lets hyper flush the headers and the bytes sent before
            // the error aborts the connection; without it the client may see
            // no response at all instead of a short body.
            let cut = take_bytes(payload.stream, after_bytes).chain(futures::stream::once(async {
                tokio::time::sleep(Duration::from_millis(100)).await;
                Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "body truncated by fault injection",
                ))
            }));
            (cut.boxed(), Some(len))
        }
        _ => (payload.stream, payload.len),
    };
    if let Some(len) = len {
        builder = builder.header(header::CONTENT_LENGTH, len);
    }
    builder
        .body(Body::from_stream(stream))
        .expect("valid response parts")
}

pub(super) fn json_response(code: StatusCode, value: &Value, fault: Option<Fault>) -> Response {
    respond(
        code,
        vec![(header::CONTENT_TYPE, "application/json".into())],
        Payload::bytes(serde_json::to_vec(value).expect("JSON values serialize")),
        fault,
    )
}

pub(super) fn error_response(code: StatusCode, message: &str) -> Response {
    json_response(
        code,
        &json!({"error": code.canonical_reason().unwrap_or("error"), "message": message}),
        None,
    )
}

/// The answer for a fault that replaces the normal one.
pub(super) fn fault_response(fault: &Fault) -> Response {
    match fault {
        Fault::Status { code, retry_after } => {
            let code = StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut resp = error_response(code, "injected fault");
            if let Some(ra) = retry_after {
                if let Ok(v) = HeaderValue::from_str(ra) {
                    resp.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            resp
        }
        Fault::Redirect { location } => respond(
            StatusCode::FOUND,
            vec![(header::LOCATION, location.clone())],
            Payload::bytes(&b""[..]),
            None,
        ),
        Fault::MalformedJson => respond(
            StatusCode::OK,
            vec![(header::CONTENT_TYPE, "application/json".into())],
            Payload::bytes(&b"{\"status\": \"IN_PROG"[..]),
            None,
        ),
        Fault::Body {
            code,
            content_type,
            body,
        } => respond(
            StatusCode::from_u16(*code).unwrap_or(StatusCode::OK),
            vec![(header::CONTENT_TYPE, content_type.clone())],
            Payload::bytes(body.clone()),
            None,
        ),
        // A body that fails before anything is flushed makes hyper abort the
        // connection without writing the response head.
        Fault::Disconnect => Response::new(Body::from_stream(futures::stream::once(async {
            Err::<Bytes, _>(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "disconnect by fault injection",
            ))
        }))),
        _ => unreachable!("only answer-replacing faults get here"),
    }
}

/// What every handler does first: count, check auth, take the next fault
/// and serve its delay. `Err` is the response to send instead.
pub(super) async fn prelude(
    shared: &Shared,
    route: Route,
    headers: &HeaderMap,
) -> Result<Option<Fault>, Response> {
    shared.counts[route.index()].fetch_add(1, Ordering::SeqCst);
    if let Some(token) = &shared.config.token {
        let ok = match &shared.config.token_header {
            None => headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .is_some_and(|t| t == token),
            Some(name) => headers
                .get(name.as_str())
                .is_some_and(|v| v.as_bytes() == token.as_bytes()),
        };
        if !ok {
            let mut resp = error_response(StatusCode::UNAUTHORIZED, "missing or wrong credentials");
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return Err(resp);
        }
    }
    let fault = shared
        .lock()
        .faults
        .get_mut(&route)
        .and_then(VecDeque::pop_front);
    match fault {
        Some(Fault::Delay { ms }) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(None)
        }
        Some(f) if f.replaces_answer() => Err(fault_response(&f)),
        other => Ok(other),
    }
}

pub(super) async fn create(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fault = match prelude(&shared, Route::Create, &headers).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    // An empty body means "no parameters"; anything else must be a JSON object.
    let params = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => {
                return error_response(
                    StatusCode::BAD_REQUEST,
                    "report parameters must be a JSON object",
                )
            }
            Err(e) => {
                return error_response(StatusCode::BAD_REQUEST, &format!("invalid JSON: {e}"))
            }
        }
    };
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let id = {
        let mut inner = shared.lock();
        match key.as_ref().and_then(|k| inner.by_key.get(k)).copied() {
            Some(i) => inner.reports[i].id.clone(),
            None => {
                let id = format!("rpt-{:06}", inner.next_id);
                inner.next_id += 1;
                inner.reports.push(ReportRecord {
                    id: id.clone(),
                    params,
                    idempotency_key: key.clone(),
                    polls: 0,
                });
                let index = inner.reports.len() - 1;
                if let Some(k) = key {
                    inner.by_key.insert(k, index);
                }
                id
            }
        }
    };
    let status_url = format!("{}/reports/{id}", shared.base_url);
    let d = &shared.config.dialect;
    let mut body = Map::new();
    set_path(&mut body, &d.report_id_field, Value::String(id));
    set_path(&mut body, &d.status_url_field, Value::String(status_url));
    json_response(StatusCode::CREATED, &Value::Object(body), fault)
}

pub(super) async fn status(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let fault = match prelude(&shared, Route::Status, &headers).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    let d = &shared.config.dialect;
    let (word, url) = {
        let mut inner = shared.lock();
        let (polls_to_complete, outcome) = (inner.polls_to_complete, inner.outcome);
        let Some(report) = inner.reports.iter_mut().find(|r| r.id == id) else {
            drop(inner);
            return error_response(StatusCode::NOT_FOUND, &format!("no report {id:?}"));
        };
        if let Some(Fault::UnknownStatus(word)) = &fault {
            (word.clone(), None)
        } else {
            report.polls += 1;
            if report.polls <= polls_to_complete || outcome == Outcome::Never {
                (d.in_progress.clone(), None)
            } else if outcome == Outcome::Fail {
                (d.failed.clone(), None)
            } else {
                (d.completed.clone(), Some(download_url(&shared, &id)))
            }
        }
    };
    let mut body = Map::new();
    set_path(&mut body, &d.report_id_field, Value::String(id));
    set_path(&mut body, &d.status_field, Value::String(word));
    set_path(
        &mut body,
        &d.download_url_field,
        url.map_or(Value::Null, Value::String),
    );
    json_response(
        StatusCode::OK,
        &Value::Object(body),
        fault.filter(|f| !matches!(f, Fault::UnknownStatus(_))),
    )
}

pub(super) async fn download(
    State(shared): State<Arc<Shared>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    let fault = match prelude(&shared, Route::Download, &headers).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    let (id, gz_file) = if let Some(id) = file.strip_suffix(".csv.gz") {
        (id, true)
    } else if let Some(id) = file.strip_suffix(".csv") {
        (id, false)
    } else {
        return error_response(StatusCode::NOT_FOUND, &format!("no file {file:?}"));
    };
    if !shared.lock().reports.iter().any(|r| r.id == id) {
        return error_response(StatusCode::NOT_FOUND, &format!("no report {id:?}"));
    }
    let plain = match &shared.config.download_body {
        Some(b) => Payload::bytes(b.clone()),
        None => {
            let spec = shared.config.csv;
            // Generated chunk by chunk as the client reads: flat memory at any size.
            let stream = futures::stream::iter(spec.chunks(DEFAULT_CHUNK).map(Ok)).boxed();
            Payload {
                stream,
                len: Some(shared.csv_len),
            }
        }
    };
    let encode = !gz_file && shared.config.gzip == Gzip::ContentEncoding;
    let payload = if gz_file || encode {
        Payload {
            stream: gzip(plain.stream),
            len: None,
        }
    } else {
        plain
    };
    let default_type = if gz_file {
        "application/gzip"
    } else {
        "text/csv"
    };
    let content_type = shared
        .config
        .download_content_type
        .clone()
        .unwrap_or_else(|| default_type.into());
    let mut headers = vec![(header::CONTENT_TYPE, content_type)];
    if encode {
        headers.push((header::CONTENT_ENCODING, "gzip".into()));
    }
    respond(StatusCode::OK, headers, payload, fault)
}

/// Streaming gzip (fastest level: the simulator should not be the bottleneck).
pub(super) fn gzip(
    stream: BoxStream<'static, io::Result<Bytes>>,
) -> BoxStream<'static, io::Result<Bytes>> {
    let reader = tokio_util::io::StreamReader::new(stream);
    let encoder = async_compression::tokio::bufread::GzipEncoder::with_quality(
        reader,
        async_compression::Level::Fastest,
    );
    tokio_util::io::ReaderStream::with_capacity(encoder, DEFAULT_CHUNK).boxed()
}
