//! Runs the official JSONata test suite (`groups/<group>/case*.json`, format
//! in its `TESTSUITE.md`) against [`Expr`], as `asl jsonata-suite` and
//! `make test-jsonata` do. Cases that call `$eval` are counted apart: Step
//! Functions has no `$eval`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Expr, Limits};

/// What a case expects.
enum Expect {
    Result(Value),
    Undefined,
    /// An error with this JSONata code.
    Code(String),
}

struct Case {
    id: String,
    expr: Option<String>,
    data: Option<Value>,
    bindings: Vec<(String, Value)>,
    limits: Limits,
    expect: Expect,
}

/// The suite's totals.
#[derive(Debug, Default)]
pub struct SuiteReport {
    pub passed: usize,
    pub failed: Vec<String>,
    /// Cases that call `$eval`, which Step Functions does not have.
    pub not_applicable: usize,
    /// Evaluation time of every applicable case (parsing included).
    pub elapsed: Duration,
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn sorted_dir(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    out.sort();
    Ok(out)
}

fn load(root: &Path) -> Result<Vec<Case>, String> {
    let mut cases = Vec::new();
    for group in sorted_dir(&root.join("groups"))? {
        for file in sorted_dir(&group)? {
            if file.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let id = file
                .strip_prefix(root.join("groups"))
                .unwrap_or(&file)
                .display()
                .to_string();
            // Two files hold lone surrogates, which no Rust string can: such a
            // case cannot be run here and counts as failed.
            let listed = match read_json(&file) {
                Ok(Value::Array(a)) => a,
                Ok(one) => vec![one],
                Err(_) => {
                    cases.push(Case {
                        id,
                        expr: None,
                        data: None,
                        bindings: vec![],
                        limits: Limits::default(),
                        expect: Expect::Undefined,
                    });
                    continue;
                }
            };
            for (i, c) in listed.into_iter().enumerate() {
                let expr = match c.get("expr-file").and_then(Value::as_str) {
                    Some(f) => std::fs::read_to_string(group.join(f)).ok(),
                    None => c.get("expr").and_then(Value::as_str).map(str::to_string),
                };
                let data = match (c.get("data"), c.get("dataset")) {
                    (Some(d), _) => Some(d.clone()),
                    (None, Some(Value::String(name))) => Some(read_json(
                        &root.join("datasets").join(format!("{name}.json")),
                    )?),
                    _ => None,
                };
                let code = c
                    .get("code")
                    .or_else(|| c.get("error").and_then(|e| e.get("code")));
                let expect = match (code, c.get("result")) {
                    (Some(code), _) => Expect::Code(code.as_str().unwrap_or_default().into()),
                    (None, Some(r)) if c.get("undefinedResult").is_none() => {
                        Expect::Result(r.clone())
                    }
                    _ => Expect::Undefined,
                };
                let bindings = c
                    .get("bindings")
                    .and_then(Value::as_object)
                    .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default();
                let limits = Limits {
                    timeout_ms: c.get("timelimit").and_then(Value::as_u64).unwrap_or(5_000),
                    max_depth: c.get("depth").and_then(Value::as_u64).map(|d| d as usize),
                };
                cases.push(Case {
                    id: format!("{id}#{i}"),
                    expr,
                    data,
                    bindings,
                    limits,
                    expect,
                });
            }
        }
    }
    Ok(cases)
}

/// Numbers compare as the reference implementation's do (IEEE doubles).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            x == y || (x - y).abs() <= 1e-12 * x.abs().max(y.abs())
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn passes(case: &Case) -> bool {
    let Some(text) = &case.expr else { return false };
    let expr = match Expr::parse(text) {
        Ok(e) => e,
        Err(msg) => return matches!(&case.expect, Expect::Code(c) if msg.contains(c.as_str())),
    };
    let bindings: Vec<(&str, &Value)> =
        case.bindings.iter().map(|(k, v)| (k.as_str(), v)).collect();
    match (
        expr.evaluate_with(case.data.as_ref(), &bindings, case.limits),
        &case.expect,
    ) {
        (Ok(Some(v)), Expect::Result(want)) => same(&v, want),
        (Ok(None), Expect::Undefined) => true,
        (Err(e), Expect::Code(c)) => {
            e.code.as_deref() == Some(c.as_str()) || e.message.contains(c.as_str())
        }
        _ => false,
    }
}

/// Runs every case of the suite at `root`.
pub fn run(root: &Path) -> Result<SuiteReport, String> {
    let cases = load(root)?;
    let mut report = SuiteReport::default();
    let started = Instant::now();
    for case in &cases {
        if case.expr.as_deref().is_some_and(|e| e.contains("$eval")) {
            report.not_applicable += 1;
            continue;
        }
        // A panic in the engine is a failed case, not a failed run.
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| passes(case)))
            .unwrap_or(false);
        if ok {
            report.passed += 1;
        } else {
            report.failed.push(case.id.clone());
        }
    }
    report.elapsed = started.elapsed();
    Ok(report)
}
