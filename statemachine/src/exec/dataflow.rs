//! The data flow of a state, as the ASL spec orders it: raw input →
//! `InputPath` → `Parameters`/`ItemSelector` (a payload [template]) → the
//! state's work → `ResultSelector` → `ResultPath` (merged into the raw
//! input) → `OutputPath`, with `Assign` evaluated alongside; and the fields
//! read through a `…Path` (`TimeoutSecondsPath`, `MaxConcurrencyPath`, …).
//!
//! [template]: Runner::template

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::failure::{cause, Failure};
use super::runner::{Payload, Runner, Scope, StateCtx};
use crate::intrinsics;
use crate::path::{JsonPath, Root};

impl Runner<'_> {
    /// Read a path for `state`: `$…` from `input`, `$$…` from the context, `$var…` from variables.
    pub(super) fn read_path(
        &self,
        sc: &StateCtx<'_>,
        path: &JsonPath,
        input: &Value,
        scope: &Scope,
        item: Option<(usize, &Value)>,
    ) -> Result<Value, String> {
        match &path.root {
            Root::Input => path.read(input).map_err(|e| e.message),
            Root::Context => {
                let ctx = self.context(sc, item);
                path.read(&ctx).map_err(|e| e.message)
            }
            Root::Variable(v) => match scope.vars.get(v) {
                Some(doc) => path.read(doc).map_err(|e| e.message),
                None => Err(cause::undefined_variable(v)),
            },
        }
    }

    /// Evaluate a `.$` value: a path or an intrinsic call.
    pub(super) fn eval_expr(
        &self,
        sc: &StateCtx<'_>,
        expr: &str,
        input: &Value,
        scope: &Scope,
        item: Option<(usize, &Value)>,
    ) -> Result<Value, String> {
        if intrinsics::is_intrinsic(expr) {
            let resolve = |p: &JsonPath| self.read_path(sc, p, input, scope, item);
            return match &*self.parse_call(expr) {
                Ok(call) => call.eval(&resolve),
                Err(e) => Err(e.clone()),
            };
        }
        match &*self.parse_path(expr) {
            Ok(path) => self.read_path(sc, path, input, scope, item),
            Err(e) => Err(e.clone()),
        }
    }

    /// Resolve a payload template (`Parameters`, `ItemSelector`, `ResultSelector`, `Assign`).
    pub(super) fn template(
        &self,
        sc: &StateCtx<'_>,
        tmpl: &Value,
        input: &Value,
        scope: &Scope,
        item: Option<(usize, &Value)>,
    ) -> Result<Value, Failure> {
        match tmpl {
            Value::Object(o) => {
                let mut out = Map::new();
                for (k, v) in o {
                    match (k.strip_suffix(".$"), v) {
                        (Some(key), Value::String(expr)) => {
                            let val =
                                self.eval_expr(sc, expr, input, scope, item).map_err(|e| {
                                    if intrinsics::is_intrinsic(expr) {
                                        self.fatal(sc, &e)
                                    } else {
                                        self.fatal(sc, &cause::path_not_found(expr, k, input))
                                    }
                                })?;
                            out.insert(key.to_string(), val);
                        }
                        _ => {
                            out.insert(k.clone(), self.template(sc, v, input, scope, item)?);
                        }
                    }
                }
                Ok(Value::Object(out))
            }
            Value::Array(a) => a
                .iter()
                .map(|v| self.template(sc, v, input, scope, item))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            v => Ok(v.clone()),
        }
    }

    /// The output of a state that hands on its effective input (Choice, Wait,
    /// Succeed): OutputPath applied to it, or, with neither InputPath nor
    /// OutputPath, the raw input itself, shared rather than copied.
    pub(super) fn hand_on(
        &self,
        sc: &StateCtx<'_>,
        raw: &Payload,
        eff: Cow<'_, Value>,
        scope: &Scope,
    ) -> Result<Payload, Failure> {
        match (eff, sc.state.get("OutputPath")) {
            (Cow::Borrowed(_), None) => Ok(raw.clone()),
            (eff, _) => Ok(Arc::new(self.output_path(sc, eff.into_owned(), scope)?)),
        }
    }

    pub(super) fn input_path(
        &self,
        sc: &StateCtx<'_>,
        raw: &Value,
        scope: &Scope,
    ) -> Result<Value, Failure> {
        self.input_path_cow(sc, raw, scope).map(Cow::into_owned)
    }

    /// [`Self::input_path`], borrowing the raw input when there is no `InputPath`.
    pub(super) fn input_path_cow<'v>(
        &self,
        sc: &StateCtx<'_>,
        raw: &'v Value,
        scope: &Scope,
    ) -> Result<Cow<'v, Value>, Failure> {
        Ok(Cow::Owned(match sc.state.get("InputPath") {
            None => return Ok(Cow::Borrowed(raw)),
            Some(Value::Null) => json!({}),
            Some(Value::String(p)) => self.read_field_path(sc, p, raw, scope)?,
            Some(other) => return Err(self.fatal(sc, &cause::invalid_field("InputPath", other))),
        }))
    }

    pub(super) fn read_field_path(
        &self,
        sc: &StateCtx<'_>,
        p: &str,
        doc: &Value,
        scope: &Scope,
    ) -> Result<Value, Failure> {
        let parsed = self.parse_path(p);
        let path = match &*parsed {
            Ok(path) => path,
            Err(e) => return Err(self.fatal(sc, &cause::invalid_path(p, e))),
        };
        self.read_path(sc, path, doc, scope, None)
            .map_err(|e| self.fatal(sc, &cause::invalid_path(p, &e)))
    }

    pub(super) fn output_path(
        &self,
        sc: &StateCtx<'_>,
        v: Value,
        scope: &Scope,
    ) -> Result<Value, Failure> {
        match sc.state.get("OutputPath") {
            None => Ok(v),
            Some(Value::Null) => Ok(json!({})),
            Some(Value::String(p)) => self.read_field_path(sc, p, &v, scope),
            Some(other) => Err(self.fatal(sc, &cause::invalid_field("OutputPath", other))),
        }
    }

    pub(super) fn result_path_of(
        &self,
        sc: &StateCtx<'_>,
        field: Option<&Value>,
        raw: &Value,
        result: Value,
    ) -> Result<Value, Failure> {
        match field {
            None => Ok(result),
            Some(Value::Null) => Ok(raw.clone()),
            Some(Value::String(p)) => {
                let parsed = self.parse_path(p);
                let path = match &*parsed {
                    Ok(path) => path,
                    Err(e) => return Err(self.fatal(sc, &cause::invalid_path(p, e))),
                };
                let mut doc = raw.clone();
                path.write(&mut doc, result)
                    .map_err(|e| self.fatal(sc, &cause::invalid_path(p, &e.message)))?;
                Ok(doc)
            }
            Some(other) => Err(self.fatal(sc, &cause::invalid_field("ResultPath", other))),
        }
    }

    /// `Assign` (JSONPath mode): evaluated against `value`, all at once.
    /// The caller stores the result with [`Scope::store`] only after OutputPath,
    /// because paths in the same state still see the old values.
    pub(super) fn assign(
        &self,
        sc: &StateCtx<'_>,
        assign: Option<&Value>,
        value: &Value,
        scope: &Scope,
    ) -> Result<Option<Value>, Failure> {
        let Some(a) = assign else { return Ok(None) };
        Ok(Some(self.template(sc, a, value, scope, None)?))
    }

    /// ResultSelector → ResultPath → OutputPath (+ Assign), shared by Task/Map/Parallel/Pass.
    pub(super) fn finish(
        &self,
        sc: &StateCtx<'_>,
        raw: &Value,
        result: Value,
        scope: &mut Scope,
    ) -> Result<Value, Failure> {
        let result = match sc.state.get("ResultSelector") {
            Some(sel) => self.template(sc, sel, &result, scope, None)?,
            None => result,
        };
        let assigned = self.assign(sc, sc.state.get("Assign"), &result, scope)?;
        let merged = self.result_path_of(sc, sc.state.get("ResultPath"), raw, result)?;
        let out = self.output_path(sc, merged, scope)?;
        scope.store(assigned);
        Ok(out)
    }

    pub(super) fn timeout_of(
        &self,
        sc: &StateCtx<'_>,
        eff: &Value,
        scope: &Scope,
    ) -> Result<Option<f64>, Failure> {
        if let Some(t) = sc.state.get("TimeoutSeconds").and_then(Value::as_f64) {
            return Ok(Some(t));
        }
        if let Some(p) = sc.state.str("TimeoutSecondsPath") {
            let v = self.read_field_path(sc, p, eff, scope)?;
            return match v.as_f64() {
                Some(t) if t > 0.0 => Ok(Some(t)),
                _ => Err(self.fatal(sc, &cause::timeout_path_not_positive(p, &v))),
            };
        }
        Ok(None)
    }

    pub(super) fn int_field(
        &self,
        sc: &StateCtx<'_>,
        field: &str,
        eff: &Value,
        scope: &Scope,
        float: bool,
    ) -> Result<Option<f64>, Failure> {
        if let Some(v) = sc.state.get(field) {
            return Ok(v.as_f64());
        }
        let pf = format!("{field}Path");
        let Some(p) = sc.state.str(&pf) else {
            return Ok(None);
        };
        let v = self.read_field_path(sc, p, eff, scope)?;
        // AWS accepts numeric strings too ("1").
        let ok = match &v {
            Value::Number(n) if float => n.as_f64(),
            Value::Number(n) => n.as_i64().map(|i| i as f64),
            Value::String(s) if float => s.trim().parse::<f64>().ok(),
            Value::String(s) => s.trim().parse::<i64>().ok().map(|i| i as f64),
            _ => None,
        };
        match ok {
            Some(x) => Ok(Some(x)),
            None => Err(self.fatal(sc, &cause::not_a_number(&pf, p, &v, float))),
        }
    }
}
