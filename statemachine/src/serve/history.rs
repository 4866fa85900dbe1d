//! `GetExecutionHistory`, and the pages a browser opens on the endpoint:
//! the list of executions (`/`) and one execution's view
//! (`/executions/<machine>/<name>/`, the `asl view` page).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde_json::{json, Value};

use super::errors::ApiError;
use super::{page, Req, Shared};
use crate::exec::{local_arn, LOCAL_REGION};
use crate::history::aws;
use crate::view;

pub(crate) fn get(shared: &Shared, req: Req<'_>) -> Result<Value, ApiError> {
    let arn = req.str("executionArn")?;
    if !arn.starts_with("arn:aws:states:") || !arn.contains(":execution:") {
        return Err(ApiError::invalid_arn(arn));
    }
    let stored = shared.execution(arn)?;
    let reverse = req.opt_bool("reverseOrder")?.unwrap_or(false);
    let include_data = req.opt_bool("includeExecutionData")?.unwrap_or(true);
    let redrives = stored.record.redrive_count;
    let doc = aws::to_aws(&stored.history.lock().expect("history"), LOCAL_REGION);
    let mut events = match doc {
        Value::Object(mut o) => match o.remove("events") {
            Some(Value::Array(a)) => a,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    if reverse {
        events.reverse();
    }
    let (start, end, next) = page(events.len(), req, 100)?;
    let mut seen_redrives = 0;
    let events: Vec<Value> = events
        .drain(start..end)
        .map(|mut e| {
            api_shape(&mut e, include_data);
            if e["type"] == "ExecutionRedriven" {
                seen_redrives += 1;
                let n = if reverse {
                    redrives + 1 - seen_redrives
                } else {
                    seen_redrives
                };
                e["executionRedrivenEventDetails"] = json!({ "redriveCount": n });
            }
            e
        })
        .collect();
    let mut out = json!({ "events": events });
    if let Some(t) = next {
        out["nextToken"] = json!(t);
    }
    Ok(out)
}

/// The API's form of an event: the timestamp in seconds since the epoch;
/// without `includeExecutionData`, no inputs or outputs.
fn api_shape(e: &mut Value, include_data: bool) {
    if let Some(t) = e.get("timestamp").and_then(Value::as_str) {
        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(t) {
            e["timestamp"] = json!(t.timestamp_millis() as f64 / 1000.0);
        }
    }
    if include_data {
        return;
    }
    if let Some(o) = e.as_object_mut() {
        for (k, details) in o.iter_mut() {
            if !k.ends_with("EventDetails") {
                continue;
            }
            if let Some(d) = details.as_object_mut() {
                for field in ["input", "output", "parameters"] {
                    if d.remove(field).is_some() {
                        d.insert(format!("{field}Details"), json!({ "included": false }));
                    }
                }
            }
        }
    }
}

/// `GET /`: the state machines and their executions, newest first.
pub(crate) async fn index_page(State(shared): State<Arc<Shared>>) -> Html<String> {
    let mut rows = String::new();
    let executions: Vec<_> = shared
        .executions
        .lock()
        .expect("executions")
        .values()
        .cloned()
        .collect();
    let mut executions: Vec<_> = executions.into_iter().map(|e| e.record).collect();
    executions.sort_by(|a, b| b.start_date.total_cmp(&a.start_date));
    for r in &executions {
        let machine = r.state_machine_arn.rsplit(':').next().unwrap_or_default();
        let when = chrono::DateTime::from_timestamp_millis((r.start_date * 1000.0) as i64)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or_default();
        rows.push_str(&format!(
            "<tr><td><a href=\"/executions/{m}/{n}/\">{n}</a></td><td>{m}</td><td>{s}</td><td>{w}</td></tr>\n",
            m = view::esc(machine),
            n = view::esc(&r.name),
            s = view::esc(&r.status),
            w = when
        ));
    }
    let machines = shared.machines.lock().expect("machines").len();
    Html(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Step Functions endpoint</title></head>\n<body><main><h1>Local Step Functions endpoint</h1>\n<p>{machines} state machines, {} executions. Point the AWS SDKs or CLI here with <code>--endpoint-url</code>.</p>\n<table><caption>Executions, newest first</caption><thead><tr><th scope=\"col\">Execution</th><th scope=\"col\">State machine</th><th scope=\"col\">Status</th><th scope=\"col\">Started</th></tr></thead><tbody>\n{rows}</tbody></table></main></body></html>\n",
        executions.len()
    ))
}

/// `GET /executions/<machine>/<name>/`: the execution's view (`asl view`).
pub(crate) async fn view_page(
    State(shared): State<Arc<Shared>>,
    Path((machine, name)): Path<(String, String)>,
) -> Response {
    let arn = local_arn("execution", &format!("{machine}:{name}"));
    let Ok(stored) = shared.execution(&arn) else {
        return (StatusCode::NOT_FOUND, format!("no execution {arn}\n")).into_response();
    };
    let definition: Value = serde_json::from_str(&stored.record.definition).unwrap_or(Value::Null);
    let html = view::render(
        &definition,
        &stored.history.lock().expect("history"),
        &stored.record.name,
    );
    (
        [
            ("content-type", "text/html; charset=utf-8"),
            ("content-security-policy", view::CSP),
        ],
        html,
    )
        .into_response()
}

/// The view's stylesheet, script and icon.
pub(crate) async fn view_asset(Path((_, _, asset)): Path<(String, String, String)>) -> Response {
    let Some((_, body)) = view::ASSETS.iter().find(|(n, _)| *n == asset) else {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    };
    let ty = match asset.rsplit('.').next() {
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        _ => "image/svg+xml",
    };
    ([("content-type", ty)], *body).into_response()
}
