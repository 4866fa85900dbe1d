//! The laid-out graph as SVG, each state coloured by its outcome and marked
//! with how often it was entered; each state a link to its details, so the
//! graph works with no script. Colours are SVG attributes (which a strict
//! CSP allows) and classes the stylesheet may refine.

use std::fmt::Write;

use super::esc;
use super::graph::{text_width, EdgeKind, Graph, NodeKind, HEADER, LABEL_CHARS};
use super::runs::{Outcome, Run};

/// Fill and stroke of each outcome (light scheme; the stylesheet has the dark one).
pub(crate) fn colours(o: Outcome) -> (&'static str, &'static str) {
    match o {
        Outcome::NotEntered => ("#f3f4f6", "#9ca3af"),
        Outcome::Succeeded => ("#dcf5e3", "#1e7b34"),
        Outcome::Running => ("#dbeafe", "#1d4ed8"),
        Outcome::Retried => ("#fff3c4", "#8a6d00"),
        Outcome::Caught => ("#ffe4c7", "#b35300"),
        Outcome::Failed => ("#fde2e1", "#b3261e"),
    }
}

/// `id` attribute value for a state's details (`s-` and the name, escaped for a URL fragment).
pub(crate) fn anchor(name: &str) -> String {
    let mut s = String::from("s-");
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            s.push(c);
        } else {
            let _ = write!(s, ".{:x}", c as u32);
        }
    }
    s
}

pub(crate) fn draw(g: &Graph, run: &Run) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"graph\" viewBox=\"-10 -10 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"group\" aria-label=\"State machine graph\" font-family=\"system-ui, sans-serif\" font-size=\"13\">",
        w = g.w + 20.0,
        h = g.h + 20.0
    );
    s.push_str("<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0 0L10 5L0 10z\" fill=\"#6b7280\"/></marker></defs>");
    graph(&mut s, g, run, 0.0, 0.0);
    s.push_str("</svg>");
    s
}

fn graph(s: &mut String, g: &Graph, run: &Run, ox: f64, oy: f64) {
    for e in &g.edges {
        edge(s, g, e.from, e.to, e.label.as_deref(), e.kind, ox, oy);
    }
    for n in &g.nodes {
        let (x, y) = (ox + n.x, oy + n.y);
        match &n.kind {
            NodeKind::Start | NodeKind::End => {
                let start = n.kind == NodeKind::Start;
                let _ = write!(
                    s,
                    "<g class=\"mark\"><title>{t}</title><circle cx=\"{cx}\" cy=\"{cy}\" r=\"{r}\" fill=\"{f}\" stroke=\"#374151\" stroke-width=\"2\"/></g>",
                    t = if start { "Start" } else { "End" },
                    cx = x + n.w / 2.0,
                    cy = y + n.h / 2.0,
                    r = n.w / 2.0,
                    f = if start { "#374151" } else { "#ffffff" },
                );
            }
            NodeKind::State(ty) => {
                let outcome = run.outcome(&n.name);
                let count = run.count(&n.name);
                let (fill, stroke) = colours(outcome);
                let times = match count {
                    0 => String::new(),
                    1 => "entered once".into(),
                    c => format!("entered {c} times"),
                };
                let label = format!(
                    "{}: {ty}, {}{}{}",
                    n.name,
                    outcome.as_str(),
                    if times.is_empty() { "" } else { ", " },
                    times
                );
                let container = !n.inner.is_empty();
                let _ = write!(
                    s,
                    "<a href=\"#{a}\" class=\"state {cls}\" aria-label=\"{l}\"><title>{l}</title><rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" rx=\"8\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"2\"{dash}/>",
                    a = anchor(&n.name),
                    cls = outcome.class(),
                    l = esc(&label),
                    w = n.w,
                    h = n.h,
                    dash = if container { " stroke-dasharray=\"6 3\"" } else { "" },
                );
                let (tx, ty_y) = if container {
                    (x + 12.0, y + 20.0)
                } else {
                    (x + 12.0, y + 19.0)
                };
                let _ = write!(
                    s,
                    "<text x=\"{tx}\" y=\"{ty_y}\" font-weight=\"600\" fill=\"#111827\">{}</text>",
                    esc(&n.name)
                );
                if container {
                    let _ = write!(
                        s,
                        "<text x=\"{}\" y=\"{ty_y}\" fill=\"#4b5563\">{}</text>",
                        tx + text_width(&n.name) + 10.0,
                        esc(ty)
                    );
                } else {
                    let _ = write!(
                        s,
                        "<text x=\"{tx}\" y=\"{}\" fill=\"#4b5563\" font-size=\"11\">{}</text>",
                        y + 36.0,
                        esc(ty)
                    );
                }
                if count > 0 {
                    let badge = format!("×{count}");
                    let bw = text_width(&badge) + 10.0;
                    let _ = write!(
                        s,
                        "<rect x=\"{bx}\" y=\"{by}\" width=\"{bw}\" height=\"18\" rx=\"9\" fill=\"{stroke}\"/><text x=\"{tx}\" y=\"{ty}\" fill=\"#ffffff\" font-size=\"11\" font-weight=\"600\">{badge}</text>",
                        bx = x + n.w - bw - 6.0,
                        by = y + 6.0,
                        tx = x + n.w - bw,
                        ty = y + 19.0,
                    );
                }
                s.push_str("</a>");
                for inner in &n.inner {
                    graph(s, inner, run, x + inner.x, y + inner.y.max(HEADER));
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn edge(
    s: &mut String,
    g: &Graph,
    from: usize,
    to: usize,
    label: Option<&str>,
    kind: EdgeKind,
    ox: f64,
    oy: f64,
) {
    let (a, b) = (&g.nodes[from], &g.nodes[to]);
    let (stroke, dash) = match kind {
        EdgeKind::Catch => ("#b35300", " stroke-dasharray=\"5 4\""),
        _ => ("#6b7280", ""),
    };
    let (path, lx, ly) = if b.y > a.y + a.h / 2.0 {
        // Down to the next layer.
        let (x1, y1) = (ox + a.x + a.w / 2.0, oy + a.y + a.h);
        let (x2, y2) = (ox + b.x + b.w / 2.0, oy + b.y);
        let my = (y1 + y2) / 2.0;
        // Labels at t = 0.7 of the curve: edges fanning out of a Choice
        // share their first half, not their last.
        let t: f64 = 0.7;
        let (u, b3) = (1.0 - t, t * t * t);
        let lx = u * u * u * x1 + 3.0 * u * u * t * x1 + 3.0 * u * t * t * x2 + b3 * x2;
        let ly = u * u * u * y1 + 3.0 * u * u * t * my + 3.0 * u * t * t * my + b3 * y2;
        (format!("M{x1} {y1}C{x1} {my} {x2} {my} {x2} {y2}"), lx, ly)
    } else {
        // Back up (a loop) or to itself: out of the right side, round, into the right side.
        let (x1, y1) = (ox + a.x + a.w, oy + a.y + a.h / 2.0);
        let (x2, y2) = (ox + b.x + b.w, oy + b.y + b.h / 2.0);
        let bulge = x1.max(x2) + 50.0;
        let y2 = if from == to { y2 - 10.0 } else { y2 };
        (
            format!("M{x1} {y1}C{bulge} {y1} {bulge} {y2} {x2} {y2}"),
            bulge - 10.0,
            (y1 + y2) / 2.0,
        )
    };
    let _ = write!(s, "<path class=\"edge\" d=\"{path}\" fill=\"none\" stroke=\"{stroke}\" stroke-width=\"1.5\"{dash} marker-end=\"url(#arrow)\"/>");
    if let Some(l) = label {
        let shown: String = if l.chars().count() > LABEL_CHARS {
            l.chars().take(LABEL_CHARS - 1).chain(['…']).collect()
        } else {
            l.to_string()
        };
        let w = text_width(&shown) * 0.85 + 8.0;
        let _ = write!(
            s,
            "<g class=\"edge-label\"><title>{full}</title><rect x=\"{rx}\" y=\"{ry}\" width=\"{w}\" height=\"16\" rx=\"3\" fill=\"#ffffff\" fill-opacity=\"0.9\"/><text x=\"{lx}\" y=\"{ty}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#374151\">{text}</text></g>",
            full = esc(l),
            rx = lx - w / 2.0,
            ry = ly - 11.0,
            ty = ly + 1.0,
            text = esc(&shown),
        );
    }
}
