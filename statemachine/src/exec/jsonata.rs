//! The data flow of a JSONata state: `{% … %}` strings, wherever a field
//! holds them, are evaluated with `$states` (`input`, `result`,
//! `errorOutput`, `context`) and the scope's variables; every other value is
//! taken literally. `Assign` and `Output` both see the variables as they
//! were when the state began, and the assignment happens after both.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::failure::{cause, Failure};
use super::runner::{Runner, Scope, StateCtx};
use crate::history::HistoryEvent;
use crate::jsonata::{template_text, Expr};

/// What `$states` holds for one evaluation.
#[derive(Clone, Copy)]
pub(super) struct StatesVar<'v> {
    pub(super) input: &'v Value,
    pub(super) result: Option<&'v Value>,
    pub(super) error_output: Option<&'v Value>,
    /// A Map iteration's item (`$states.context.Map.Item`), in `ItemSelector`.
    pub(super) item: Option<(usize, &'v Value)>,
}

impl<'v> StatesVar<'v> {
    pub(super) fn input(input: &'v Value) -> Self {
        StatesVar {
            input,
            result: None,
            error_output: None,
            item: None,
        }
    }

    pub(super) fn with_result(self, result: &'v Value) -> Self {
        StatesVar {
            result: Some(result),
            ..self
        }
    }

    pub(super) fn with_error(self, error_output: &'v Value) -> Self {
        StatesVar {
            error_output: Some(error_output),
            ..self
        }
    }

    pub(super) fn with_item(self, index: usize, item: &'v Value) -> Self {
        StatesVar {
            item: Some((index, item)),
            ..self
        }
    }
}

impl Runner<'_> {
    /// `Expr::parse(text)`, parsed once per execution.
    fn parse_expr(&self, text: &str) -> Arc<Result<Expr, String>> {
        self.exprs
            .lock()
            .expect("exprs")
            .get_or_parse(text, Expr::parse)
    }

    fn states_value(&self, sc: &StateCtx<'_>, st: StatesVar<'_>) -> Value {
        let mut o = Map::new();
        o.insert("input".into(), st.input.clone());
        if let Some(r) = st.result {
            o.insert("result".into(), r.clone());
        }
        if let Some(e) = st.error_output {
            o.insert("errorOutput".into(), e.clone());
        }
        o.insert("context".into(), self.context(sc, st.item));
        Value::Object(o)
    }

    /// `States.QueryEvaluationError`, recorded as an `EvaluationFailed` event.
    pub(super) fn evaluation_failed(&self, sc: &StateCtx<'_>, msg: &str) -> Failure {
        let f = Failure::query_evaluation(&sc.state.name, sc.entered, msg);
        let mut ev = HistoryEvent::new("EvaluationFailed");
        ev.state_name = Some(sc.state.name.clone());
        ev.error = Some(f.error.clone());
        ev.cause = f.cause.clone();
        self.record(ev);
        f
    }

    /// The value of the expression `text` written in `field`; undefined is an error.
    pub(super) fn jsonata_expr(
        &self,
        sc: &StateCtx<'_>,
        text: &str,
        field: &str,
        st: StatesVar<'_>,
        scope: &Scope,
    ) -> Result<Value, Failure> {
        let parsed = self.parse_expr(text);
        let expr = match parsed.as_ref() {
            Ok(e) => e,
            Err(why) => {
                return Err(self.evaluation_failed(sc, &cause::jsonata_unparsable(text, field, why)))
            }
        };
        let states = self.states_value(sc, st);
        let mut bindings: Vec<(&str, &Value)> =
            scope.vars.iter().map(|(k, v)| (k.as_str(), v)).collect();
        bindings.push(("states", &states));
        match expr.evaluate(Some(st.input), &bindings) {
            Ok(Some(v)) => Ok(v),
            Ok(None) => Err(self.evaluation_failed(sc, &cause::jsonata_undefined(text, field))),
            Err(e) => {
                Err(self.evaluation_failed(sc, &cause::jsonata_failed(text, field, &e.message)))
            }
        }
    }

    /// A field's value with every expression in it evaluated; `field` names
    /// where (`Arguments/FunctionName`) in the causes.
    pub(super) fn jsonata_template(
        &self,
        sc: &StateCtx<'_>,
        value: &Value,
        field: &str,
        st: StatesVar<'_>,
        scope: &Scope,
    ) -> Result<Value, Failure> {
        match value {
            Value::String(s) => match template_text(s) {
                Some(text) => self.jsonata_expr(sc, text, field, st, scope),
                None => Ok(value.clone()),
            },
            Value::Object(o) => {
                let mut out = Map::with_capacity(o.len());
                for (k, v) in o {
                    let at = format!("{field}/{k}");
                    out.insert(k.clone(), self.jsonata_template(sc, v, &at, st, scope)?);
                }
                Ok(Value::Object(out))
            }
            Value::Array(a) => a
                .iter()
                .enumerate()
                .map(|(i, v)| self.jsonata_template(sc, v, &format!("{field}[{i}]"), st, scope))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            other => Ok(other.clone()),
        }
    }

    /// A field that must be of JSON type `want` (`array`, `boolean`,
    /// `number`, `string`), literal or an expression.
    pub(super) fn jsonata_typed(
        &self,
        sc: &StateCtx<'_>,
        value: &Value,
        field: &str,
        want: &str,
        st: StatesVar<'_>,
        scope: &Scope,
    ) -> Result<Value, Failure> {
        let got = self.jsonata_template(sc, value, field, st, scope)?;
        let ok = match want {
            "array" => got.is_array(),
            "boolean" => got.is_boolean(),
            "number" => got.is_number(),
            "string" => got.is_string(),
            _ => true,
        };
        if ok {
            return Ok(got);
        }
        let msg = match value.as_str().and_then(template_text) {
            Some(text) => cause::jsonata_wrong_type(text, field, want, &got),
            None => cause::field_wrong_type(field, want, &got),
        };
        Err(self.evaluation_failed(sc, &msg))
    }

    /// The end of a JSONata state: `Assign` and `Output` (else
    /// `default_output`), then the assignment.
    pub(super) fn jsonata_finish(
        &self,
        sc: &StateCtx<'_>,
        st: StatesVar<'_>,
        default_output: Value,
        scope: &mut Scope,
    ) -> Result<Value, Failure> {
        self.jsonata_finish_with(
            sc,
            sc.state.get("Assign"),
            sc.state.get("Output"),
            st,
            default_output,
            scope,
        )
    }

    /// [`Self::jsonata_finish`] with the `Assign` and `Output` of a Choice
    /// rule or a Catch.
    pub(super) fn jsonata_finish_with(
        &self,
        sc: &StateCtx<'_>,
        assign: Option<&Value>,
        output: Option<&Value>,
        st: StatesVar<'_>,
        default_output: Value,
        scope: &mut Scope,
    ) -> Result<Value, Failure> {
        let assigned = match assign {
            Some(a) => Some(self.jsonata_template(sc, a, "Assign", st, scope)?),
            None => None,
        };
        let out = match output {
            Some(o) => self.jsonata_template(sc, o, "Output", st, scope)?,
            None => default_output,
        };
        scope.store(assigned);
        Ok(out)
    }
}
