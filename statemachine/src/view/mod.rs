//! # The run viewer (`asl view`)
//!
//! One execution as the Step Functions console shows it, offline: a summary,
//! the state machine drawn as SVG with each state coloured by what happened,
//! every state's entries with their inputs, outputs, task attempts and
//! errors, a table of entries, every event, and a timeline. The page is
//! complete HTML that works without its script (each view is a fragment
//! URL; a state in the graph links to its details); the script beside it
//! only adds filter boxes. The same strict CSP as the site: no inline script
//! or style.
//!
//! - `graph.rs`: the definition as a graph, laid out (rust-sugiyama);
//! - `svg.rs`: the graph drawn, coloured by outcome;
//! - `runs.rs`: the history read into state entries and a summary;
//! - `page.rs`: the page; `timeline.rs`: the timeline's SVG.

mod graph;
mod page;
mod runs;
mod svg;
mod timeline;

use std::path::Path;

use serde_json::Value;

use crate::history::HistoryEvent;

/// The page's Content-Security-Policy (the site's, less what a local file needs).
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'";

/// The stylesheet and script the page links, written beside it.
pub const ASSETS: [(&str, &str); 3] = [
    ("asl-view.css", include_str!("assets/asl-view.css")),
    ("asl-view.js", include_str!("assets/asl-view.js")),
    ("asl-view.svg", include_str!("assets/asl-view.svg")),
];

/// The view of one execution of `definition` (the ASL object) from its history.
pub fn render(definition: &Value, events: &[HistoryEvent], title: &str) -> String {
    let g = graph::layout(definition);
    let run = runs::read(events);
    page::page(definition, &g, &run, events, title)
}

/// Writes the view to `html` and its two assets beside it.
pub fn write(
    html: &Path,
    definition: &Value,
    events: &[HistoryEvent],
    title: &str,
) -> std::io::Result<()> {
    std::fs::write(html, render(definition, events, title))?;
    let dir = html
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    for (name, body) in ASSETS {
        std::fs::write(dir.join(name), body)?;
    }
    Ok(())
}

/// Text for HTML and SVG text and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Payloads shown in full up to this many characters of pretty JSON.
const SHOWN_CHARS: usize = 20_000;

/// A payload as pretty JSON, cut (and saying so) past [`SHOWN_CHARS`].
pub(crate) fn pretty(v: &Value) -> String {
    let text = serde_json::to_string_pretty(v).unwrap_or_default();
    if text.len() <= SHOWN_CHARS {
        return esc(&text);
    }
    let mut cut = SHOWN_CHARS;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(
        "{}\n… ({} characters in all; cut here)",
        esc(&text[..cut]),
        text.len()
    )
}

/// `0.35 s`, `12.0 s`, `3 min 20 s`, `2 h 5 min`.
pub(crate) fn seconds(s: f64) -> String {
    if s < 10.0 {
        format!("{s:.2} s")
    } else if s < 60.0 {
        format!("{s:.1} s")
    } else if s < 3600.0 {
        format!("{} min {} s", (s / 60.0).floor(), (s % 60.0).floor())
    } else {
        format!(
            "{} h {} min",
            (s / 3600.0).floor(),
            ((s % 3600.0) / 60.0).floor()
        )
    }
}

#[cfg(test)]
mod tests;
