//! The state machine as a laid-out graph: a start, the states, an end, the
//! transitions (Next, Choice rules with their text, Default, Catch), and Map
//! and Parallel drawn as boxes holding their own graphs.
//!
//! The layered layout (cycle removal, layering, crossing reduction, Brandes–
//! Köpf coordinates) is rust-sugiyama's; this file only sizes the boxes. A
//! Map or Parallel is laid out inside-out: its branches first, side by side,
//! so the state holding them is one large vertex of the graph around it.

use serde_json::Value;

/// A state's box, or the start or end mark.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// The state's name; empty for the start and end marks.
    pub(crate) name: String,
    pub(crate) kind: NodeKind,
    /// Top-left corner and size, relative to the graph holding it.
    pub(crate) x: f64,
    pub(crate) y: f64,
    pub(crate) w: f64,
    pub(crate) h: f64,
    /// A Map's item processor or a Parallel's branches, placed inside the box.
    pub(crate) inner: Vec<Graph>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NodeKind {
    Start,
    End,
    State(String),
}

#[derive(Debug, Clone)]
pub(crate) struct Edge {
    pub(crate) from: usize,
    pub(crate) to: usize,
    pub(crate) label: Option<String>,
    pub(crate) kind: EdgeKind,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum EdgeKind {
    Next,
    Choice,
    Default,
    Catch,
}

/// One machine (the top level, a branch, a Map's processor), laid out.
#[derive(Debug, Clone, Default)]
pub(crate) struct Graph {
    pub(crate) nodes: Vec<Node>,
    pub(crate) edges: Vec<Edge>,
    /// Where it sits inside its parent's box (0, 0 at the top level).
    pub(crate) x: f64,
    pub(crate) y: f64,
    pub(crate) w: f64,
    pub(crate) h: f64,
}

pub(crate) const STATE_H: f64 = 46.0;
const MARK: f64 = 26.0;
const GAP: f64 = 46.0;
/// Room above a container's branches for its name.
pub(crate) const HEADER: f64 = 30.0;
const PAD: f64 = 14.0;
/// Characters of an edge label before it is cut (the whole text is its tooltip).
pub(crate) const LABEL_CHARS: usize = 34;

/// An estimate of a text's width in the page's sans-serif at 13 px.
pub(crate) fn text_width(s: &str) -> f64 {
    s.chars().count() as f64 * 7.4
}

/// Lays out the machine `def` (an object with `StartAt` and `States`).
pub(crate) fn layout(def: &Value) -> Graph {
    let states = def.get("States").and_then(Value::as_object);
    let mut g = Graph::default();
    g.nodes.push(mark(NodeKind::Start));
    let mut index = std::collections::HashMap::new();
    for (name, s) in states.into_iter().flatten() {
        index.insert(name.as_str(), g.nodes.len());
        g.nodes.push(state_node(name, s));
    }
    let end = g.nodes.len();
    g.nodes.push(mark(NodeKind::End));

    let mut edge = |from: usize, to: Option<usize>, label: Option<String>, kind: EdgeKind| {
        if let Some(to) = to {
            g.edges.push(Edge {
                from,
                to,
                label,
                kind,
            });
        }
    };
    let start = def
        .get("StartAt")
        .and_then(Value::as_str)
        .and_then(|s| index.get(s).copied());
    edge(0, start.or(Some(end)), None, EdgeKind::Next);
    for (name, s) in states.into_iter().flatten() {
        let from = index[name.as_str()];
        let target = |k: &str| {
            s.get(k)
                .and_then(Value::as_str)
                .and_then(|n| index.get(n).copied())
        };
        let ty = s.get("Type").and_then(Value::as_str).unwrap_or("");
        if ty == "Choice" {
            for rule in s
                .get("Choices")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let to = rule
                    .get("Next")
                    .and_then(Value::as_str)
                    .and_then(|n| index.get(n).copied());
                edge(from, to, Some(rule_text(rule)), EdgeKind::Choice);
            }
            edge(
                from,
                target("Default"),
                Some("Default".into()),
                EdgeKind::Default,
            );
        } else if matches!(ty, "Succeed" | "Fail")
            || s.get("End").and_then(Value::as_bool) == Some(true)
        {
            edge(from, Some(end), None, EdgeKind::Next);
        } else {
            edge(from, target("Next"), None, EdgeKind::Next);
        }
        for c in s
            .get("Catch")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let to = c
                .get("Next")
                .and_then(Value::as_str)
                .and_then(|n| index.get(n).copied());
            let errors: Vec<&str> = c
                .get("ErrorEquals")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            edge(
                from,
                to,
                Some(format!("Catch {}", errors.join(", "))),
                EdgeKind::Catch,
            );
        }
    }
    place(&mut g);
    g
}

fn mark(kind: NodeKind) -> Node {
    Node {
        name: String::new(),
        kind,
        x: 0.0,
        y: 0.0,
        w: MARK,
        h: MARK,
        inner: Vec::new(),
    }
}

fn state_node(name: &str, s: &Value) -> Node {
    let ty = s
        .get("Type")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string();
    let inner: Vec<Graph> = match ty.as_str() {
        "Map" => s
            .get("ItemProcessor")
            .or_else(|| s.get("Iterator"))
            .map(|p| vec![layout(p)])
            .unwrap_or_default(),
        "Parallel" => s
            .get("Branches")
            .and_then(Value::as_array)
            .map(|b| b.iter().map(layout).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    // Room for the name and the "×N" badge beside it.
    let label_w = text_width(name).max(text_width(&ty)) + 2.0 * PAD + 48.0;
    let (w, h) = if inner.is_empty() {
        (label_w.max(150.0), STATE_H)
    } else {
        let inner_w: f64 =
            inner.iter().map(|g| g.w).sum::<f64>() + PAD * (inner.len() as f64 + 1.0);
        let inner_h = inner.iter().map(|g| g.h).fold(0.0, f64::max);
        (inner_w.max(label_w), HEADER + inner_h + PAD)
    };
    let mut node = Node {
        name: name.to_string(),
        kind: NodeKind::State(ty),
        x: 0.0,
        y: 0.0,
        w,
        h,
        inner,
    };
    // Branches side by side under the header.
    let mut x = PAD;
    for g in &mut node.inner {
        g.x = x;
        g.y = HEADER;
        x += g.w + PAD;
    }
    node
}

/// Gives every node of `g` its place; sizes `g`.
fn place(g: &mut Graph) {
    let vertices: Vec<(u32, (f64, f64))> = g
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (i as u32, (n.w, n.h)))
        .collect();
    let mut pairs: Vec<(u32, u32)> = g
        .edges
        .iter()
        .filter(|e| e.from != e.to)
        .map(|e| (e.from as u32, e.to as u32))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    let config = rust_sugiyama::configure::Config {
        vertex_spacing: GAP,
        ..Default::default()
    };
    let components = rust_sugiyama::from_vertices_and_edges(&vertices, &pairs, &config);
    // Components (unreachable states) side by side, left to right.
    let mut left = 0.0;
    let mut height: f64 = 0.0;
    for (positions, _, _) in components {
        let min_x = positions
            .iter()
            .map(|(i, (x, _))| x - g.nodes[*i].w / 2.0)
            .fold(f64::MAX, f64::min);
        let min_y = positions
            .iter()
            .map(|(i, (_, y))| y - g.nodes[*i].h / 2.0)
            .fold(f64::MAX, f64::min);
        let mut right: f64 = left;
        for (i, (x, y)) in positions {
            let n = &mut g.nodes[i];
            n.x = left + x - n.w / 2.0 - min_x;
            n.y = y - n.h / 2.0 - min_y;
            right = right.max(n.x + n.w);
            height = height.max(n.y + n.h);
        }
        left = right + GAP;
    }
    // Room on the right for loops drawn back up the side.
    let loops = g
        .edges
        .iter()
        .filter(|e| g.nodes[e.to].y <= g.nodes[e.from].y)
        .count();
    g.w = (left - GAP).max(0.0) + if loops > 0 { GAP * 2.0 } else { 0.0 };
    g.h = height;
}

/// A Choice rule in words: `$.status == "COMPLETED"`, JSONata's condition
/// without its braces, `not (…)`, `(…) and (…)`.
pub(crate) fn rule_text(rule: &Value) -> String {
    if let Some(c) = rule.get("Condition").and_then(Value::as_str) {
        return c
            .trim()
            .trim_start_matches("{%")
            .trim_end_matches("%}")
            .trim()
            .to_string();
    }
    let join = |key: &str, word: &str| {
        rule.get(key).and_then(Value::as_array).map(|rs| {
            rs.iter()
                .map(|r| format!("({})", rule_text(r)))
                .collect::<Vec<_>>()
                .join(word)
        })
    };
    if let Some(s) = join("And", " and ") {
        return s;
    }
    if let Some(s) = join("Or", " or ") {
        return s;
    }
    if let Some(n) = rule.get("Not") {
        return format!("not ({})", rule_text(n));
    }
    let var = rule.get("Variable").and_then(Value::as_str).unwrap_or("?");
    let Some((op, value)) = rule.as_object().into_iter().flatten().find(|(k, _)| {
        !matches!(
            k.as_str(),
            "Variable" | "Next" | "Comment" | "Assign" | "Output"
        )
    }) else {
        return var.to_string();
    };
    let path = op.ends_with("Path");
    let base = op.trim_end_matches("Path");
    // Longest suffix first: `GreaterThanEquals` is not `Equals`.
    let sym = [
        ("LessThanEquals", "<="),
        ("GreaterThanEquals", ">="),
        ("LessThan", "<"),
        ("GreaterThan", ">"),
        ("Equals", "=="),
        ("Matches", "matches"),
    ]
    .iter()
    .find(|(suffix, _)| base.ends_with(suffix) && !base.starts_with("Is"))
    .map(|(_, s)| *s);
    let shown = match value {
        Value::String(s) if !path => format!("\"{s}\""),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match sym {
        Some(sym) => format!("{var} {sym} {shown}"),
        None => format!("{var} {op} {shown}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn given_choice_rules_when_described_then_they_read_as_comparisons() {
        assert_eq!(
            rule_text(&json!({"Variable": "$.status", "StringEquals": "COMPLETED", "Next": "D"})),
            "$.status == \"COMPLETED\""
        );
        assert_eq!(
            rule_text(&json!({"Variable": "$.n", "NumericGreaterThanPath": "$.m"})),
            "$.n > $.m"
        );
        assert_eq!(
            rule_text(&json!({"Variable": "$.n", "NumericGreaterThanEqualsPath": "$.m"})),
            "$.n >= $.m"
        );
        assert_eq!(
            rule_text(
                &json!({"Variable": "$.t", "TimestampLessThanEquals": "2026-01-01T00:00:00Z"})
            ),
            "$.t <= \"2026-01-01T00:00:00Z\""
        );
        assert_eq!(
            rule_text(&json!({"Not": {"Variable": "$.a", "IsPresent": true}})),
            "not ($.a IsPresent true)"
        );
        assert_eq!(
            rule_text(&json!({"Condition": "{% $states.input.ok %}"})),
            "$states.input.ok"
        );
        assert_eq!(
            rule_text(
                &json!({"And": [{"Variable": "$.a", "BooleanEquals": true}, {"Variable": "$.b", "NumericLessThan": 3}]})
            ),
            "($.a == true) and ($.b < 3)"
        );
    }

    #[test]
    fn given_a_loop_and_a_parallel_when_laid_out_then_boxes_do_not_overlap_and_branches_sit_inside()
    {
        let g = layout(&json!({"StartAt": "A", "States": {
            "A": {"Type": "Wait", "Seconds": 1, "Next": "B"},
            "B": {"Type": "Choice", "Choices": [{"Variable": "$.x", "BooleanEquals": true, "Next": "A"}], "Default": "P"},
            "P": {"Type": "Parallel", "Branches": [
                {"StartAt": "L", "States": {"L": {"Type": "Pass", "End": true}}},
                {"StartAt": "R", "States": {"R": {"Type": "Pass", "End": true}}}], "End": true}}}));
        assert_eq!(g.nodes.len(), 5);
        assert_eq!(g.edges.len(), 5, "{:?}", g.edges);
        for (i, a) in g.nodes.iter().enumerate() {
            assert!(
                a.x >= 0.0 && a.y >= 0.0 && a.x + a.w <= g.w + 0.01 && a.y + a.h <= g.h + 0.01,
                "{a:?} in {}x{}",
                g.w,
                g.h
            );
            for b in &g.nodes[i + 1..] {
                let apart =
                    a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y;
                assert!(apart, "{a:?} overlaps {b:?}");
            }
        }
        let p = g.nodes.iter().find(|n| n.name == "P").unwrap();
        assert_eq!(p.inner.len(), 2);
        let right = p.inner[1].x + p.inner[1].w;
        assert!(right <= p.w && p.inner[0].y + p.inner[0].h <= p.h);
    }
}
