//! Our execution history against the shape AWS recorded (`expected.history`:
//! each event's type, the state on `…StateEntered`/`…StateExited`, the
//! index on Map iteration events).
//!
//! Where Map iterations or Parallel branches run concurrently their events
//! interleave in no fixed order, so between a `MapStateStarted` or
//! `ParallelStateStarted` and the end of that state's run the events are
//! compared as a multiset; everywhere else, in order.

use serde_json::Value;

use crate::history::HistoryEvent;

/// One event as the corpus records it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Shape {
    ty: String,
    state: Option<String>,
    index: Option<u64>,
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.ty)?;
        if let Some(s) = &self.state {
            write!(f, "({s})")?;
        }
        if let Some(i) = self.index {
            write!(f, "[{i}]")?;
        }
        Ok(())
    }
}

fn carries_state(ty: &str) -> bool {
    ty.ends_with("StateEntered") || ty.ends_with("StateExited")
}

fn carries_index(ty: &str) -> bool {
    ty.starts_with("MapIteration")
}

/// AWS's recorded shape.
pub(crate) fn expected(history: &Value) -> Vec<Shape> {
    history
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| Shape {
            ty: e.get("type").and_then(Value::as_str).unwrap_or("").into(),
            state: e.get("state").and_then(Value::as_str).map(str::to_string),
            index: e.get("index").and_then(Value::as_u64),
        })
        .collect()
}

/// The same shape, of our history.
pub(crate) fn ours(history: &[HistoryEvent]) -> Vec<Shape> {
    history
        .iter()
        .map(|e| Shape {
            ty: e.event_type.to_string(),
            state: carries_state(e.event_type)
                .then(|| e.state_name.as_deref().map(str::to_string))
                .flatten(),
            index: carries_index(e.event_type)
                .then_some(e.index.map(|i| i as u64))
                .flatten(),
        })
        .collect()
}

fn opens(ty: &str) -> bool {
    matches!(ty, "MapStateStarted" | "ParallelStateStarted")
}

/// The events with every concurrent region sorted. A region runs from a Map
/// or Parallel state's first `…StateStarted` to its `…StateExited` (or the
/// end of the execution): retries and nested states inside stay inside.
fn canonical(events: &[Shape]) -> Vec<Shape> {
    let mut out = Vec::with_capacity(events.len());
    let mut region: Vec<Shape> = Vec::new();
    // The Map or Parallel state last entered at the top level, and whether
    // its region is open.
    let mut owner: Option<&str> = None;
    let mut open = false;
    for e in events {
        if open {
            let ends = e.ty.starts_with("Execution")
                || (e.ty.ends_with("StateExited") && e.state.as_deref() == owner);
            if !ends {
                region.push(e.clone());
                continue;
            }
            region.sort();
            out.append(&mut region);
            open = false;
        }
        if matches!(e.ty.as_str(), "MapStateEntered" | "ParallelStateEntered") {
            owner = e.state.as_deref();
        }
        if opens(&e.ty) {
            open = true;
            region.push(e.clone());
        } else {
            out.push(e.clone());
        }
    }
    region.sort();
    out.append(&mut region);
    out
}

/// `None` when the shapes match; else what differs first.
pub(crate) fn compare(expected: &[Shape], ours: &[Shape]) -> Option<String> {
    let (e, o) = (canonical(expected), canonical(ours));
    if e == o {
        return None;
    }
    let at = e
        .iter()
        .zip(&o)
        .position(|(a, b)| a != b)
        .unwrap_or(e.len().min(o.len()));
    let show = |v: &[Shape]| {
        v.iter()
            .skip(at.saturating_sub(2))
            .take(6)
            .map(Shape::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    Some(format!(
        "history differs at event {} of {} (AWS) / {} (ours):\n  expected … {}\n  got      … {}",
        at + 1,
        e.len(),
        o.len(),
        show(&e),
        show(&o)
    ))
}
