//! The run on the execution's clock: one row per state entry, a bar from
//! entered to exited, task attempts drawn inside it (failed ones red, the
//! retry waits between them as gaps), waits in grey.

use std::fmt::Write;

use super::runs::Run;
use super::svg::{anchor, colours};
use super::{esc, seconds};

/// Rows drawn; a longer run says how many more the table lists.
const ROWS: usize = 400;
const ROW_H: f64 = 20.0;
const LABEL_W: f64 = 190.0;
const PLOT_W: f64 = 760.0;

pub(crate) fn draw(run: &Run) -> String {
    let total = run.summary.duration.max(1e-3);
    let shown = run.entries.len().min(ROWS);
    let height = shown as f64 * ROW_H + 30.0;
    let mut s = String::new();
    let _ = write!(
        s,
        "<section class=\"scroll\" tabindex=\"0\" aria-label=\"Timeline, scrolls\"><svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\" width=\"{w}\" height=\"{height}\" viewBox=\"0 0 {w} {height}\" role=\"group\" aria-label=\"Timeline of {n} state entries over {d}\" font-family=\"system-ui, sans-serif\" font-size=\"11\">",
        w = LABEL_W + PLOT_W + 20.0,
        n = run.entries.len(),
        d = seconds(total),
    );
    // The axis: five ticks.
    for k in 0..=4 {
        let x = LABEL_W + PLOT_W * k as f64 / 4.0;
        let _ = write!(
            s,
            "<line x1=\"{x}\" y1=\"14\" x2=\"{x}\" y2=\"{height}\" stroke=\"#e5e7eb\"/><text x=\"{x}\" y=\"10\" text-anchor=\"middle\" fill=\"#4b5563\">+{}</text>",
            seconds(total * k as f64 / 4.0)
        );
    }
    let px = |t: f64| LABEL_W + PLOT_W * (t / total).clamp(0.0, 1.0);
    for (row, e) in run.entries.iter().take(ROWS).enumerate() {
        let y = 20.0 + row as f64 * ROW_H;
        let (fill, stroke) = colours(e.outcome);
        let (x1, x2) = (px(e.entered_at), px(e.exited_at.unwrap_or(total)));
        let _ = write!(
            s,
            "<a href=\"#{a}\"><title>{n}: {o}, +{at} for {d}</title><text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\" fill=\"#111827\">{n}</text><rect x=\"{x1}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" fill=\"{fill}\" stroke=\"{stroke}\"/>",
            a = anchor(&e.state),
            n = esc(&e.state),
            o = e.outcome.as_str(),
            at = seconds(e.entered_at),
            d = seconds(e.duration(total)),
            lx = LABEL_W - 6.0,
            ty = y + 12.0,
            w = (x2 - x1).max(2.0),
            h = ROW_H - 6.0,
        );
        if e.kind == "Wait" {
            let _ = write!(s, "<rect x=\"{x1}\" y=\"{y}\" width=\"{}\" height=\"{}\" fill=\"#9ca3af\" fill-opacity=\"0.5\"/>", (x2 - x1).max(2.0), ROW_H - 6.0);
        }
        for a in &e.attempts {
            let (ax1, ax2) = (px(a.scheduled_at), px(a.ended_at.unwrap_or(total)));
            let colour = if a.failed { "#b3261e" } else { "#1d4ed8" };
            let _ = write!(
                s,
                "<rect x=\"{ax1}\" y=\"{}\" width=\"{}\" height=\"6\" fill=\"{colour}\"/>",
                y + 4.0,
                (ax2 - ax1).max(2.0)
            );
        }
        s.push_str("</a>");
    }
    s.push_str("</svg></section>");
    if run.entries.len() > ROWS {
        let _ = write!(s, "<p>The first {ROWS} of {} entries; the <a href=\"#table\">table</a> lists them all.</p>", run.entries.len());
    }
    s.push_str("<p class=\"hint\">Bars run from a state's entry to its exit; inside a Task, each attempt (blue, red when it failed) with the retry waits between them; Wait states shaded grey.</p>");
    s
}
