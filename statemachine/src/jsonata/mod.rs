//! JSONata as Step Functions runs it: JSONata 2.0 without `$eval`, plus
//! AWS's functions (`$partition`, `$range`, `$hash`, `$random`, `$uuid`,
//! `$parse`, in `functions.rs`).
//!
//! The engine is the `jsonata-core` crate, kept behind this module: nothing
//! else in the executor names it. It was chosen over `jsonata-rs` on the
//! official JSONata test suite (1,680 of 1,686 cases against 1,211; the six
//! it misses are two lone-surrogate strings no Rust string can hold, one
//! error code for an unterminated comment and three recursion-depth codes),
//! then on speed (3 µs per evaluation of a parsed Step Functions-like
//! expression, against 23 µs parse and evaluation for jsonata-rs, which
//! cannot keep a parsed expression apart from its arena). `asl
//! jsonata-suite` measures it again: `make test-jsonata`.
//!
//! An expression is parsed once ([`Expr`], shareable between threads) and
//! evaluated many times; values cross into the engine and back as
//! `serde_json::Value`, since the engine's own values are not `Send`.

mod functions;
pub mod suite;

use jsonata_core::ast::AstNode;
use jsonata_core::evaluator::{Context, Evaluator, EvaluatorOptions};
use jsonata_core::value::JValue;
use serde_json::Value;

/// A parsed JSONata expression.
#[derive(Debug, Clone)]
pub struct Expr {
    ast: AstNode,
}

/// Why an evaluation failed: JSONata's error code (`T2001`, `D3137`, …) when
/// it has one, and its message.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalError {
    pub code: Option<String>,
    pub message: String,
}

impl std::fmt::Display for EvalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Limits on one evaluation, so that a hostile expression ends with an error
/// instead of hanging or exhausting the stack.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub timeout_ms: u64,
    pub max_depth: Option<usize>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout_ms: 10_000,
            max_depth: None,
        }
    }
}

impl Expr {
    /// Parses `text` (without the `{% %}` around it).
    pub fn parse(text: &str) -> Result<Expr, String> {
        jsonata_core::parser::parse(text)
            .map(|ast| Expr { ast })
            .map_err(|e| e.to_string())
    }

    /// Evaluates against `input` (`$`; `None` is undefined) with `bindings`
    /// as `$name` variables. `Ok(None)` is JSONata's undefined.
    pub fn evaluate(
        &self,
        input: Option<&Value>,
        bindings: &[(&str, &Value)],
    ) -> Result<Option<Value>, EvalError> {
        self.evaluate_with(input, bindings, Limits::default())
    }

    /// [`Expr::evaluate`] with explicit limits.
    pub fn evaluate_with(
        &self,
        input: Option<&Value>,
        bindings: &[(&str, &Value)],
        limits: Limits,
    ) -> Result<Option<Value>, EvalError> {
        let mut ctx = Context::new();
        for (name, value) in bindings {
            ctx.bind((*name).to_string(), JValue::from((*value).clone()));
        }
        let options = EvaluatorOptions {
            timeout_ms: Some(limits.timeout_ms),
            max_stack_depth: limits.max_depth,
            ..Default::default()
        };
        let mut ev = Evaluator::with_options(ctx, options);
        functions::register(&mut ev);
        let data = input.map_or(JValue::Undefined, |v| JValue::from(v.clone()));
        let out = ev.evaluate(&self.ast, &data).map_err(|e| EvalError {
            code: e.code().map(str::to_string),
            message: e.to_string(),
        })?;
        Ok(to_json(&out))
    }
}

/// A JSONata value as JSON; undefined as `None`. JSONata's numbers are
/// doubles: a whole one is written as an integer, as AWS writes it.
fn to_json(v: &JValue) -> Option<Value> {
    if v.is_undefined() {
        return None;
    }
    let mut out = Value::from(v);
    whole_numbers(&mut out);
    Some(out)
}

/// 2.0 → 2, in place, all the way down.
pub(crate) fn whole_numbers(v: &mut Value) {
    match v {
        Value::Number(n) if !n.is_i64() && !n.is_u64() => {
            if let Some(f) = n.as_f64() {
                if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
                    *v = Value::from(f as i64);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(whole_numbers),
        Value::Object(o) => o.values_mut().for_each(whole_numbers),
        _ => {}
    }
}

/// The text inside `{% … %}`, when `s` is a JSONata expression string.
pub fn template_text(s: &str) -> Option<&str> {
    s.strip_prefix("{%")?.strip_suffix("%}").map(str::trim)
}

#[cfg(test)]
mod tests;
