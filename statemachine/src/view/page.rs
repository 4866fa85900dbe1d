//! The page: summary, graph, each state's details, the entry table, the
//! events and the timeline, each a section with its own fragment URL.

use std::fmt::Write;

use serde_json::Value;

use super::graph::Graph;
use super::runs::{Entry, Outcome, Run};
use super::svg::{anchor, colours, draw};
use super::{esc, pretty, seconds, timeline, CSP};
use crate::history::HistoryEvent;

/// Entries listed in full under one state; the table lists them all.
const ENTRIES_SHOWN: usize = 100;
/// Characters of an event's details shown in the event table.
const EVENT_CHARS: usize = 240;
/// Standard Workflows' price per state transition (us-east-1).
const PRICE_PER_TRANSITION: f64 = 0.025 / 1000.0;

pub(crate) fn page(
    def: &Value,
    g: &Graph,
    run: &Run,
    events: &[HistoryEvent],
    title: &str,
) -> String {
    let s = &run.summary;
    let mut h = String::with_capacity(64 * 1024 + events.len() * 400);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\"><title>{t} — {st}</title><link rel=\"stylesheet\" href=\"asl-view.css\"><link rel=\"icon\" href=\"asl-view.svg\" type=\"image/svg+xml\"><script src=\"asl-view.js\" defer></script></head>\n<body>\n<header><h1>{t} <span class=\"status {cls}\">{st}</span></h1><nav aria-label=\"Views\"><a href=\"#summary\">Summary</a> <a href=\"#graph\">Graph</a> <a href=\"#states\">States</a> <a href=\"#table\">Table</a> <a href=\"#events\">Events</a> <a href=\"#timeline\">Timeline</a></nav></header>\n<main>\n",
        t = esc(title),
        st = esc(&s.status),
        cls = status_class(&s.status),
    );
    summary(&mut h, run);
    let _ = writeln!(
        h,
        "<section id=\"graph\" aria-labelledby=\"h-graph\"><h2 id=\"h-graph\">Graph</h2><p class=\"hint\">Select a state for its inputs, outputs and errors.</p><section class=\"scroll\" tabindex=\"0\" aria-label=\"Graph, scrolls\">{}</section>{}</section>",
        draw(g, run),
        legend()
    );
    states(&mut h, def, run);
    table(&mut h, run);
    event_table(&mut h, events);
    let _ = writeln!(
        h,
        "<section id=\"timeline\" aria-labelledby=\"h-timeline\"><h2 id=\"h-timeline\">Timeline</h2>{}</section>",
        timeline::draw(run)
    );
    h.push_str("</main>\n<footer>Drawn by <code>asl view</code> from the definition and the execution history.</footer>\n</body></html>\n");
    h
}

fn status_class(status: &str) -> &'static str {
    match status {
        "SUCCEEDED" => "succeeded",
        "FAILED" | "TIMED_OUT" | "ABORTED" => "failed",
        _ => "running",
    }
}

fn summary(h: &mut String, run: &Run) {
    let s = &run.summary;
    let _ = write!(
        h,
        "<section id=\"summary\" aria-labelledby=\"h-summary\"><h2 id=\"h-summary\">Summary</h2><dl class=\"facts\"><dt>Status</dt><dd>{st}</dd><dt>Start</dt><dd><time>{start}</time></dd><dt>End</dt><dd>{end}</dd><dt>Duration</dt><dd>{dur}</dd><dt>State transitions</dt><dd>{n} (${cost:.6} at $0.025 per 1,000)</dd></dl>",
        st = esc(&s.status),
        start = esc(&s.start),
        end = s.end.as_deref().map_or_else(|| "—".to_string(), |e| format!("<time>{}</time>", esc(e))),
        dur = seconds(s.duration),
        n = s.transitions,
        cost = s.transitions as f64 * PRICE_PER_TRANSITION,
    );
    if s.error.is_some() || s.cause.is_some() {
        error_box(h, s.error.as_deref(), s.cause.as_deref());
    }
    h.push_str("<div class=\"io\">");
    io(h, "Execution input", s.input.as_deref());
    io(h, "Execution output", s.output.as_deref());
    h.push_str("</div></section>\n");
}

fn io(h: &mut String, label: &str, v: Option<&Value>) {
    let body = v.map_or_else(
        || "<p class=\"none\">none</p>".to_string(),
        |v| format!("<pre>{}</pre>", pretty(v)),
    );
    let _ = write!(h, "<figure><figcaption>{label}</figcaption>{body}</figure>");
}

fn error_box(h: &mut String, error: Option<&str>, cause: Option<&str>) {
    let _ = write!(
        h,
        "<div class=\"error\"><p><strong>Error</strong> <code>{}</code></p><p><strong>Cause</strong> {}</p></div>",
        esc(error.unwrap_or("(none)")),
        esc(cause.unwrap_or("(none)"))
    );
}

fn legend() -> String {
    let mut s = String::from("<ul class=\"legend\">");
    for o in [
        Outcome::Succeeded,
        Outcome::Retried,
        Outcome::Caught,
        Outcome::Failed,
        Outcome::Running,
        Outcome::NotEntered,
    ] {
        let (fill, stroke) = colours(o);
        let _ = write!(
            s,
            "<li><svg width=\"14\" height=\"14\" aria-hidden=\"true\"><rect x=\"1\" y=\"1\" width=\"12\" height=\"12\" rx=\"3\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"2\"/></svg> {}</li>",
            o.as_str()
        );
    }
    s.push_str("</ul>");
    s
}

/// Every state of the definition, nested ones too, in definition order.
fn state_names(def: &Value, out: &mut Vec<(String, String)>) {
    for (name, s) in def
        .get("States")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let ty = s.get("Type").and_then(Value::as_str).unwrap_or("?");
        out.push((name.clone(), ty.to_string()));
        if let Some(p) = s.get("ItemProcessor").or_else(|| s.get("Iterator")) {
            state_names(p, out);
        }
        for b in s
            .get("Branches")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            state_names(b, out);
        }
    }
}

fn states(h: &mut String, def: &Value, run: &Run) {
    h.push_str(
        "<section id=\"states\" aria-labelledby=\"h-states\"><h2 id=\"h-states\">States</h2>\n",
    );
    let mut names = Vec::new();
    state_names(def, &mut names);
    for (name, ty) in names {
        let outcome = run.outcome(&name);
        let ix = run.by_state.get(name.as_str()).cloned().unwrap_or_default();
        let _ = write!(
            h,
            "<section id=\"{a}\" class=\"state-detail {cls}\"><h3>{n} <small>{ty}</small> <span class=\"status {cls}\">{o}</span></h3>",
            a = anchor(&name),
            n = esc(&name),
            ty = esc(&ty),
            cls = outcome.class(),
            o = outcome.as_str(),
        );
        match ix.len() {
            0 => h.push_str("<p>Not entered in this run.</p>"),
            1 => entry(h, &run.entries[ix[0]], 1, true),
            n => {
                let _ = write!(h, "<p>Entered {n} times; pick an entry:</p>");
                for (k, i) in ix.iter().take(ENTRIES_SHOWN).enumerate() {
                    entry(h, &run.entries[*i], k + 1, false);
                }
                if n > ENTRIES_SHOWN {
                    let _ = write!(
                        h,
                        "<p>… and {} more entries (see the <a href=\"#table\">table</a>).</p>",
                        n - ENTRIES_SHOWN
                    );
                }
            }
        }
        h.push_str("</section>\n");
    }
    h.push_str("</section>\n");
}

fn entry(h: &mut String, e: &Entry, k: usize, only: bool) {
    let _ = write!(
        h,
        "<details class=\"entry\"{open}><summary>Entry {k} at +{at}: {o}{took}</summary>",
        open = if only { " open" } else { "" },
        at = seconds(e.entered_at),
        o = e.outcome.as_str(),
        took = e.exited_at.map_or(String::new(), |x| format!(
            ", {}",
            seconds(x - e.entered_at)
        )),
    );
    h.push_str("<div class=\"io\">");
    io(h, "Input", e.input.as_deref());
    io(h, "Output", e.output.as_deref());
    h.push_str("</div>");
    if !e.attempts.is_empty() {
        h.push_str("<ol class=\"attempts\">");
        for (n, a) in e.attempts.iter().enumerate() {
            let _ = write!(h, "<li><p><strong>Attempt {}</strong>", n + 1);
            if let Some(r) = &a.resource {
                let _ = write!(h, " <code>{}</code>", esc(r));
            }
            if n > 0 {
                let prev_end = e.attempts[n - 1].ended_at.unwrap_or(a.scheduled_at);
                let _ = write!(
                    h,
                    ", retried after waiting {}",
                    seconds(a.scheduled_at - prev_end)
                );
            }
            h.push_str("</p><div class=\"io\">");
            io(
                h,
                "Parameters (the input after InputPath and Parameters or Arguments)",
                a.parameters.as_deref(),
            );
            if a.failed {
                h.push_str("<figure><figcaption>Failed</figcaption>");
                error_box(h, a.error.as_deref(), a.cause.as_deref());
                h.push_str("</figure>");
            } else {
                io(
                    h,
                    "Result (before ResultSelector and ResultPath)",
                    a.result.as_deref(),
                );
            }
            h.push_str("</div></li>");
        }
        h.push_str("</ol>");
    }
    if e.error.is_some() && e.attempts.last().is_none_or(|a| !a.failed) {
        error_box(h, e.error.as_deref(), e.cause.as_deref());
    }
    h.push_str("</details>");
}

fn table(h: &mut String, run: &Run) {
    let end = run.summary.duration;
    h.push_str("<section id=\"table\" aria-labelledby=\"h-table\"><h2 id=\"h-table\">Table</h2>");
    let head = "<thead><tr><th scope=\"col\">#</th><th scope=\"col\">State</th><th scope=\"col\">Type</th><th scope=\"col\">Status</th><th scope=\"col\">Resource</th><th scope=\"col\">Start</th><th scope=\"col\">Duration</th></tr></thead>";
    let rows = run.entries.iter().enumerate().map(|(i, e)| {
        format!(
            "<tr class=\"{cls}\"><td class=\"num\">{n}</td><td><a href=\"#{a}\">{name}</a></td><td>{ty}</td><td>{o}{tries}</td><td>{res}</td><td class=\"num\">+{at}</td><td class=\"num\">{d}</td></tr>",
            cls = e.outcome.class(),
            n = i + 1,
            a = anchor(&e.state),
            name = esc(&e.state),
            ty = esc(&e.kind),
            o = e.outcome.as_str(),
            tries = if e.attempts.len() > 1 { format!(" ({} attempts)", e.attempts.len()) } else { String::new() },
            res = e.resource().map(|r| format!("<code>{}</code>", esc(r))).unwrap_or_default(),
            at = seconds(e.entered_at),
            d = seconds(e.duration(end)),
        )
    });
    chunked(h, "State entries", head, run.entries.len(), rows);
    h.push_str("</section>\n");
}

/// Rows per table: a longer list is cut into groups, each its own table in
/// a `<details>` (only the first open), so that a 25,000-event history lays
/// out one group at a time.
const CHUNK: usize = 1_000;

fn chunked(
    h: &mut String,
    label: &str,
    head: &str,
    total: usize,
    rows: impl Iterator<Item = String>,
) {
    let mut rows = rows.peekable();
    let mut first = 1;
    if rows.peek().is_none() {
        let _ = write!(h, "<p>No {}.</p>", label.to_lowercase());
        return;
    }
    while rows.peek().is_some() {
        let last = (first + CHUNK - 1).min(total);
        let range = format!(
            "{label} {}–{} of {}",
            count(first),
            count(last),
            count(total)
        );
        if total > CHUNK {
            let _ = write!(
                h,
                "<details class=\"chunk\"{}><summary>{range}</summary>",
                if first == 1 { " open" } else { "" }
            );
        }
        let _ = write!(h, "<section class=\"scroll\" tabindex=\"0\" aria-label=\"{range}, scrolls\"><table class=\"filterable\"><caption>{range}</caption>{head}<tbody>");
        for row in rows.by_ref().take(CHUNK) {
            h.push_str(&row);
        }
        h.push_str("</tbody></table></section>");
        if total > CHUNK {
            h.push_str("</details>");
        }
        first = last + 1;
    }
}

/// `12345` → `12,345`.
fn count(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn event_table(h: &mut String, events: &[HistoryEvent]) {
    h.push_str(
        "<section id=\"events\" aria-labelledby=\"h-events\"><h2 id=\"h-events\">Events</h2>",
    );
    let head = "<thead><tr><th scope=\"col\">ID</th><th scope=\"col\">Type</th><th scope=\"col\">State</th><th scope=\"col\">Time</th><th scope=\"col\">Details</th></tr></thead>";
    let rows = events.iter().map(|e| {
        let mut details = String::new();
        for (k, v) in [("input", &e.input), ("output", &e.output)] {
            if let Some(v) = v {
                let _ = write!(details, "{k}: {} ", v);
            }
        }
        for (k, v) in [("resource", &e.resource), ("error", &e.error), ("cause", &e.cause)] {
            if let Some(v) = v {
                let _ = write!(details, "{k}: {v} ");
            }
        }
        if let Some(i) = e.index {
            let _ = write!(details, "index: {i}");
        }
        let shown: String = if details.chars().count() > EVENT_CHARS {
            details.chars().take(EVENT_CHARS).chain(['…']).collect()
        } else {
            details
        };
        format!(
            "<tr id=\"e{id}\"><td class=\"num\">{id}</td><td>{ty}</td><td>{st}</td><td class=\"num\">+{at}</td><td class=\"details\">{d}</td></tr>",
            id = e.id,
            ty = e.event_type,
            st = e.state_name.as_deref().map(|n| format!("<a href=\"#{}\">{}</a>", anchor(n), esc(n))).unwrap_or_default(),
            at = seconds(e.elapsed_seconds),
            d = esc(shown.trim_end()),
        )
    });
    chunked(h, "Events", head, events.len(), rows);
    h.push_str("</section>\n");
}
