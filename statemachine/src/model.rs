//! The parsed state machine: a thin typed layer over the definition's JSON.
//!
//! States keep their raw JSON object (`State::raw`) because ASL has many
//! optional, type-specific fields and the executor and validator read them by
//! name; only what every consumer needs (name, type, nested machines, the
//! function a Task calls) is extracted up front.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};

/// Why a definition could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("invalid YAML: {0}")]
    Yaml(#[from] serde_norway::Error),
    #[error("invalid state machine: {0}")]
    Shape(String),
}

/// How a Task's `Resource` reaches Lambda.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceKind {
    /// `arn:aws:lambda:…:function:NAME` or serverless `Fn::GetAtt`: the result is the function's return value.
    LambdaFunction,
    /// `arn:aws:states:::lambda:invoke`: the result is the whole Invoke response (`Payload`, `StatusCode`, …).
    LambdaInvoke,
    /// Anything else (another service integration or an activity).
    Other,
}

/// A state's `Type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateType {
    Pass,
    Task,
    Choice,
    Wait,
    Succeed,
    Fail,
    Parallel,
    Map,
    /// A type ASL does not have, as written (validation refuses it; running
    /// one fails with a cause that names it).
    Other(String),
}

impl StateType {
    pub fn parse(text: &str) -> StateType {
        match text {
            "Pass" => StateType::Pass,
            "Task" => StateType::Task,
            "Choice" => StateType::Choice,
            "Wait" => StateType::Wait,
            "Succeed" => StateType::Succeed,
            "Fail" => StateType::Fail,
            "Parallel" => StateType::Parallel,
            "Map" => StateType::Map,
            other => StateType::Other(other.to_string()),
        }
    }

    /// `Type` as written.
    pub fn as_str(&self) -> &str {
        match self {
            StateType::Pass => "Pass",
            StateType::Task => "Task",
            StateType::Choice => "Choice",
            StateType::Wait => "Wait",
            StateType::Succeed => "Succeed",
            StateType::Fail => "Fail",
            StateType::Parallel => "Parallel",
            StateType::Map => "Map",
            StateType::Other(s) => s,
        }
    }

    /// Succeed and Fail end the machine by their type.
    pub(crate) fn is_terminal(&self) -> bool {
        matches!(self, StateType::Succeed | StateType::Fail)
    }
}

/// One state of a machine (or of a Parallel branch / Map processor).
#[derive(Debug, Clone)]
pub struct State {
    /// Shared with every history event of the state.
    pub name: Arc<str>,
    /// `Type`, parsed once.
    pub kind: StateType,
    /// Runs in JSONata mode (its `QueryLanguage`, else its machine's).
    pub jsonata: bool,
    /// The state's JSON object (private, so `hot` cannot go stale).
    raw: Map<String, Value>,
    /// Copies of the fields read on every visit, found once at parse time
    /// rather than by comparing keys each time the state runs.
    hot: Box<[Option<Value>; HOT_FIELDS.len()]>,
    /// Parallel `Branches`.
    pub branches: Vec<StateMachine>,
    /// Map `ItemProcessor` / `Iterator`.
    pub processor: Option<Box<StateMachine>>,
}

/// The fields the executor reads each time a state runs.
const HOT_FIELDS: [&str; 9] = [
    "InputPath",
    "OutputPath",
    "ResultPath",
    "ResultSelector",
    "Parameters",
    "Result",
    "Assign",
    "Next",
    "End",
];

impl State {
    fn new(
        name: &str,
        kind: StateType,
        jsonata: bool,
        raw: Map<String, Value>,
        branches: Vec<StateMachine>,
        processor: Option<Box<StateMachine>>,
    ) -> State {
        let hot = Box::new(HOT_FIELDS.map(|f| raw.get(f).cloned()));
        State {
            name: Arc::from(name),
            kind,
            jsonata,
            raw,
            hot,
            branches,
            processor,
        }
    }

    /// The state's JSON object, as written.
    pub fn raw(&self) -> &Map<String, Value> {
        &self.raw
    }

    /// A field of the state.
    #[inline]
    pub fn get(&self, field: &str) -> Option<&Value> {
        // With `field` a literal, as at every call site, the search below
        // folds away when inlined.
        match HOT_FIELDS.iter().position(|f| *f == field) {
            Some(slot) => self.hot[slot].as_ref(),
            None => small_get(&self.raw, field),
        }
    }
    /// A string field of the state.
    pub fn str(&self, field: &str) -> Option<&str> {
        self.get(field).and_then(Value::as_str)
    }
    /// `Next`, when present.
    pub fn next(&self) -> Option<&str> {
        self.str("Next")
    }
    /// `End: true`.
    pub(crate) fn is_end(&self) -> bool {
        self.get("End").and_then(Value::as_bool) == Some(true)
    }
    /// The kind of Lambda call a Task makes.
    pub fn resource_kind(&self) -> ResourceKind {
        match self.raw.get("Resource") {
            Some(Value::Object(o)) if o.contains_key("Fn::GetAtt") => ResourceKind::LambdaFunction,
            Some(Value::String(s)) if s.starts_with("arn:aws:states:::lambda:invoke") => {
                ResourceKind::LambdaInvoke
            }
            Some(Value::String(s)) if s.contains(":lambda:") && s.contains(":function:") => {
                ResourceKind::LambdaFunction
            }
            Some(Value::String(s)) if !s.starts_with("arn:") => ResourceKind::LambdaFunction,
            _ => ResourceKind::Other,
        }
    }
    /// The Resource as text (a `Fn::GetAtt` is shown as a synthetic local ARN).
    pub(crate) fn resource_text(&self) -> String {
        match self.raw.get("Resource") {
            Some(Value::String(s)) => s.clone(),
            Some(v) => match static_function_name(v, None) {
                Some(n) => format!("arn:aws:lambda:us-east-1:111111111111:function:{n}"),
                None => v.to_string(),
            },
            None => String::new(),
        }
    }
    /// The local function name this Task calls when it is known without running
    /// (`Fn::GetAtt`, a Lambda ARN, or `lambda:invoke` with a literal FunctionName).
    pub fn static_function(&self) -> Option<String> {
        let res = self.raw.get("Resource")?;
        static_function_name(res, self.raw.get("Parameters"))
    }
}

/// `map.get(key)`; a small map (a state, a Choice rule) is searched by
/// comparing keys, which is cheaper than hashing the key.
pub(crate) fn small_get<'m>(map: &'m Map<String, Value>, key: &str) -> Option<&'m Value> {
    if map.len() <= 16 {
        map.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    } else {
        map.get(key)
    }
}

/// Resolve a Task `Resource` (plus `Parameters` for `lambda:invoke`) to a local function name.
pub(crate) fn static_function_name(resource: &Value, parameters: Option<&Value>) -> Option<String> {
    match resource {
        Value::Object(o) => {
            let att = o.get("Fn::GetAtt")?;
            match att {
                Value::Array(a) => a.first()?.as_str().map(str::to_string),
                // `Fn::GetAtt: CreateReport.Arn` (the short string form).
                Value::String(s) => s.split('.').next().map(str::to_string),
                _ => None,
            }
        }
        Value::String(s) if s.starts_with("arn:aws:states:::lambda:invoke") => {
            let p = parameters?.as_object()?;
            p.get("FunctionName").and_then(|f| {
                function_from_arn_or_name(f).or_else(|| static_function_name(f, None))
            })
        }
        Value::String(s) => Some(function_from_arn_or_name(&Value::String(s.clone()))?),
        _ => None,
    }
}

/// `arn:aws:lambda:REGION:ACCT:function:NAME[:qualifier]`, a partial ARN or a bare name → `NAME`.
pub(crate) fn function_from_arn_or_name(v: &Value) -> Option<String> {
    let s = v.as_str()?;
    if let Some(idx) = s.find(":function:") {
        let rest = &s[idx + ":function:".len()..];
        return Some(rest.split(':').next().unwrap_or(rest).to_string());
    }
    if s.starts_with("arn:") {
        return None;
    }
    // `NAME:qualifier`
    Some(s.split(':').next().unwrap_or(s).to_string())
}

/// YAML → JSON, turning CloudFormation short tags into their long form
/// (`!GetAtt X.Arn` → `{"Fn::GetAtt": "X.Arn"}`, `!Ref X` → `{"Ref": "X"}`),
/// as serverless.yml definitions use them.
fn yaml_to_json(v: serde_norway::Value) -> Value {
    use serde_norway::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .unwrap_or(Value::Null)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(seq) => Value::Array(seq.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match yaml_to_json(k) {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                out.insert(key, yaml_to_json(v));
            }
            Value::Object(out)
        }
        Y::Tagged(t) => {
            let tag = t.tag.to_string();
            let name = tag.trim_start_matches('!');
            let key = if name == "Ref" || name == "Condition" {
                name.to_string()
            } else {
                format!("Fn::{name}")
            };
            let mut out = Map::new();
            out.insert(key, yaml_to_json(t.value));
            Value::Object(out)
        }
    }
}

/// A state machine (or a nested branch / item processor: same shape).
#[derive(Debug, Clone)]
pub struct StateMachine {
    pub start_at: String,
    pub comment: Option<String>,
    pub timeout_seconds: Option<f64>,
    /// `JSONPath` (default) or `JSONata`.
    pub query_language: String,
    /// States in definition order.
    pub states: Vec<State>,
    /// The definition as parsed.
    pub definition: Value,
}

impl StateMachine {
    /// Load a definition file (JSON or YAML).
    pub fn from_path(path: &Path) -> Result<StateMachine, ParseError> {
        let text = std::fs::read_to_string(path).map_err(|source| ParseError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_str(&text)
    }

    /// Parse JSON or YAML text (detected by the first non-blank character).
    /// A serverless-style wrapper holding the ASL under `definition` is unwrapped.
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(text: &str) -> Result<StateMachine, ParseError> {
        let trimmed = text.trim_start();
        let value: Value = if trimmed.starts_with('{') {
            serde_json::from_str(text).map_err(|e| {
                // serde_json stops at 128 levels, which bounds how deep Parallel
                // and Map can nest (and the executor's recursion with it).
                if e.to_string().starts_with("recursion limit exceeded") {
                    ParseError::Shape(format!(
                        "the definition nests objects and arrays more than 128 levels deep ({e})"
                    ))
                } else {
                    ParseError::Json(e)
                }
            })?
        } else {
            yaml_to_json(serde_norway::from_str(text)?)
        };
        Self::from_value(value)
    }

    /// Build from an already parsed definition.
    pub fn from_value(value: Value) -> Result<StateMachine, ParseError> {
        let value = match value.get("definition") {
            // `aws stepfunctions describe-state-machine` gives it as JSON text.
            Some(Value::String(text)) if value.get("States").is_none() => {
                return Self::from_str(text)
            }
            Some(d) if value.get("States").is_none() => d.clone(),
            _ => value,
        };
        Self::parse(&value, "JSONPath")
    }

    fn parse(value: &Value, inherited_ql: &str) -> Result<StateMachine, ParseError> {
        let obj = value
            .as_object()
            .ok_or_else(|| ParseError::Shape("the definition must be a JSON object".into()))?;
        let query_language = obj
            .get("QueryLanguage")
            .and_then(Value::as_str)
            .unwrap_or(inherited_ql)
            .to_string();
        let start_at = obj
            .get("StartAt")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let mut states = Vec::new();
        if let Some(Value::Object(map)) = obj.get("States") {
            for (name, st) in map {
                let raw = st.as_object().cloned().ok_or_else(|| {
                    ParseError::Shape(format!("state '{name}' must be a JSON object"))
                })?;
                let kind = raw
                    .get("Type")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let ql = raw
                    .get("QueryLanguage")
                    .and_then(Value::as_str)
                    .unwrap_or(&query_language)
                    .to_string();
                let mut branches = Vec::new();
                if let Some(Value::Array(bs)) = raw.get("Branches") {
                    for b in bs {
                        branches.push(Self::parse(b, &ql)?);
                    }
                }
                let processor = match raw.get("ItemProcessor").or_else(|| raw.get("Iterator")) {
                    Some(p) => Some(Box::new(Self::parse(p, &ql)?)),
                    None => None,
                };
                states.push(State::new(
                    name,
                    StateType::parse(&kind),
                    ql == "JSONata",
                    raw,
                    branches,
                    processor,
                ));
            }
        }
        Ok(StateMachine {
            start_at,
            comment: obj
                .get("Comment")
                .and_then(Value::as_str)
                .map(str::to_string),
            timeout_seconds: obj.get("TimeoutSeconds").and_then(Value::as_f64),
            query_language,
            states,
            definition: value.clone(),
        })
    }

    /// The state called `name`.
    pub fn state(&self, name: &str) -> Option<&State> {
        self.states.iter().find(|s| &*s.name == name)
    }

    /// Every local function name the Tasks (here and in nested branches) call, sorted and unique.
    pub fn task_functions(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_functions(&mut out);
        out.sort();
        out.dedup();
        out
    }

    fn collect_functions(&self, out: &mut Vec<String>) {
        for s in &self.states {
            if s.kind == StateType::Task {
                if let Some(f) = s.static_function() {
                    out.push(f);
                }
            }
            for b in &s.branches {
                b.collect_functions(out);
            }
            if let Some(p) = &s.processor {
                p.collect_functions(out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn given_serverless_getatt_and_lambda_arns_when_listing_functions_then_local_names_are_returned(
    ) {
        let m = StateMachine::from_value(json!({
            "StartAt": "A",
            "States": {
                "A": {"Type": "Task", "Resource": {"Fn::GetAtt": ["CreateReport", "Arn"]}, "Next": "B"},
                "B": {"Type": "Task", "Resource": "arn:aws:lambda:eu-west-1:123:function:Poll:live", "Next": "C"},
                "C": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                      "Parameters": {"FunctionName": "arn:aws:lambda:eu-west-1:123:function:Update", "Payload.$": "$"}, "End": true}
            }
        }))
        .unwrap();
        assert_eq!(m.task_functions(), vec!["CreateReport", "Poll", "Update"]);
        assert_eq!(
            m.state("C").unwrap().resource_kind(),
            ResourceKind::LambdaInvoke
        );
    }

    #[test]
    fn given_yaml_text_when_parsing_then_it_is_detected_and_loaded() {
        let m =
            StateMachine::from_str("StartAt: A\nStates:\n  A:\n    Type: Pass\n    End: true\n")
                .unwrap();
        assert_eq!(m.start_at, "A");
        assert_eq!(m.states[0].kind, StateType::Pass);
    }

    #[test]
    fn given_yaml_with_getatt_short_tag_when_parsing_then_the_function_name_is_resolved() {
        let m = StateMachine::from_str(
            "StartAt: A\nStates:\n  A:\n    Type: Task\n    Resource: !GetAtt CreateReport.Arn\n    End: true\n",
        )
        .unwrap();
        assert_eq!(m.task_functions(), vec!["CreateReport"]);
        assert_eq!(m.states[0].resource_kind(), ResourceKind::LambdaFunction);
    }
}
