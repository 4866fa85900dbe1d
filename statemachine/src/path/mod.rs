//! The JSONPath subset that ASL's JSONPath mode uses, with the semantics of
//! Jayway JsonPath (the Java library Step Functions runs): a *definite* path
//! (only names and indexes) yields one value or an error, an *indefinite* one
//! (`[*]`, slices, filters, `..`) yields the array of every match.
//!
//! Error texts copy Jayway's, because AWS quotes them in `States.Runtime`
//! causes (`No results for path: $['x']`, `Missing property in path $['a']`).

use serde_json::{Map, Value};

mod filter;
use filter::Filter;

/// Which document a path starts from.
#[derive(Debug, Clone, PartialEq)]
pub enum Root {
    /// `$`: the state's (effective) input.
    Input,
    /// `$$`: the context object.
    Context,
    /// `$name`: a workflow variable set by `Assign`.
    Variable(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Field(String),
    Index(i64),
    Wildcard,
    Slice(Option<i64>, Option<i64>, Option<i64>),
    Union(Vec<i64>),
    Deep(String),
    Filter(Filter),
}

/// A parsed path such as `$.items[0].name`.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    pub root: Root,
    segments: Vec<Segment>,
    pub text: String,
}

/// Why a path could not be read or written; `message` is Jayway's wording.
#[derive(Debug, Clone, PartialEq)]
pub struct PathError {
    pub message: String,
}

impl PathError {
    fn new(message: impl Into<String>) -> Self {
        PathError {
            message: message.into(),
        }
    }
}

impl std::fmt::Display for PathError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    text: &'a str,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }
    fn peek_at(&self, n: usize) -> Option<char> {
        self.chars.get(self.pos + n).copied()
    }
    fn err(&self, why: &str) -> String {
        format!("Invalid JSONPath '{}': {}", self.text, why)
    }
    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(c) if c.is_whitespace()) {
            self.pos += 1;
        }
    }
    fn name(&mut self) -> String {
        let mut s = String::new();
        while let Some(c) = self.peek() {
            if c == '.' || c == '[' {
                break;
            }
            s.push(c);
            self.pos += 1;
        }
        s
    }
    fn quoted(&mut self) -> Result<String, String> {
        let q = self.peek().ok_or_else(|| self.err("unexpected end"))?;
        self.pos += 1;
        let mut s = String::new();
        loop {
            match self.peek() {
                None => return Err(self.err("unterminated string")),
                // Jayway only unescapes the quote character; other backslashes are literal.
                Some('\\') if self.peek_at(1) == Some(q) => {
                    s.push(q);
                    self.pos += 2;
                }
                Some(c) if c == q => {
                    self.pos += 1;
                    return Ok(s);
                }
                Some(c) => {
                    s.push(c);
                    self.pos += 1;
                }
            }
        }
    }
    fn int(&mut self) -> Option<i64> {
        self.skip_ws();
        let start = self.pos;
        if self.peek() == Some('-') {
            self.pos += 1;
        }
        while matches!(self.peek(), Some(c) if c.is_ascii_digit()) {
            self.pos += 1;
        }
        let s: String = self.chars[start..self.pos].iter().collect();
        self.skip_ws();
        s.parse().ok()
    }
    fn literal(&mut self) -> Result<Value, String> {
        self.skip_ws();
        match self.peek() {
            Some('\'') | Some('"') => Ok(Value::String(self.quoted()?)),
            _ => {
                let start = self.pos;
                while matches!(self.peek(), Some(c) if c != ')' && !c.is_whitespace()) {
                    self.pos += 1;
                }
                let s: String = self.chars[start..self.pos].iter().collect();
                serde_json::from_str(&s).map_err(|_| self.err("bad filter literal"))
            }
        }
    }
    fn segments(&mut self, stop_at_ws: bool) -> Result<Vec<Segment>, String> {
        let mut segs = Vec::new();
        while let Some(c) = self.peek() {
            if stop_at_ws && (c.is_whitespace() || c == ')') {
                break;
            }
            match c {
                '.' if self.peek_at(1) == Some('.') => {
                    self.pos += 2;
                    let n = self.name();
                    segs.push(Segment::Deep(n));
                }
                '.' => {
                    self.pos += 1;
                    if self.peek() == Some('*') {
                        self.pos += 1;
                        segs.push(Segment::Wildcard);
                    } else {
                        let mut n = String::new();
                        while let Some(c) = self.peek() {
                            if c == '.'
                                || c == '['
                                || (stop_at_ws && (c.is_whitespace() || c == ')'))
                            {
                                break;
                            }
                            n.push(c);
                            self.pos += 1;
                        }
                        if n.is_empty() {
                            return Err(self.err("empty property name"));
                        }
                        segs.push(Segment::Field(n));
                    }
                }
                '[' => {
                    self.pos += 1;
                    self.skip_ws();
                    match self.peek() {
                        Some('\'') | Some('"') => {
                            let n = self.quoted()?;
                            segs.push(Segment::Field(n));
                        }
                        Some('*') => {
                            self.pos += 1;
                            segs.push(Segment::Wildcard);
                        }
                        Some('?') => {
                            self.pos += 1;
                            self.skip_ws();
                            if self.peek() != Some('(') {
                                return Err(self.err("expected ( after ?"));
                            }
                            self.pos += 1;
                            let f = self.filter()?;
                            self.skip_ws();
                            if self.peek() != Some(')') {
                                return Err(self.err("expected )"));
                            }
                            self.pos += 1;
                            segs.push(Segment::Filter(f));
                        }
                        _ => {
                            let a = self.int();
                            if self.peek() == Some(':') {
                                self.pos += 1;
                                let b = self.int();
                                let step = if self.peek() == Some(':') {
                                    self.pos += 1;
                                    self.int()
                                } else {
                                    None
                                };
                                segs.push(Segment::Slice(a, b, step));
                            } else if self.peek() == Some(',') {
                                let mut all = vec![a.ok_or_else(|| self.err("bad index"))?];
                                while self.peek() == Some(',') {
                                    self.pos += 1;
                                    all.push(self.int().ok_or_else(|| self.err("bad index"))?);
                                }
                                segs.push(Segment::Union(all));
                            } else {
                                segs.push(Segment::Index(a.ok_or_else(|| self.err("bad index"))?));
                            }
                        }
                    }
                    self.skip_ws();
                    if self.peek() != Some(']') {
                        return Err(self.err("expected ]"));
                    }
                    self.pos += 1;
                }
                _ => return Err(self.err("unexpected character")),
            }
        }
        Ok(segs)
    }
}

impl JsonPath {
    /// Parse `$…`, `$$…` or `$var…`.
    pub fn parse(text: &str) -> Result<JsonPath, String> {
        let mut p = Parser {
            chars: text.chars().collect(),
            pos: 0,
            text,
        };
        if p.peek() != Some('$') {
            return Err(p.err("a path must start with $"));
        }
        p.pos += 1;
        let root = if p.peek() == Some('$') {
            p.pos += 1;
            Root::Context
        } else if matches!(p.peek(), Some(c) if c != '.' && c != '[') {
            Root::Variable(p.name())
        } else {
            Root::Input
        };
        let segments = p.segments(false)?;
        Ok(JsonPath {
            root,
            segments,
            text: text.to_string(),
        })
    }

    /// True when the path names exactly one location (no wildcard, slice, filter or `..`).
    pub(crate) fn is_definite(&self) -> bool {
        self.segments
            .iter()
            .all(|s| matches!(s, Segment::Field(_) | Segment::Index(_)))
    }

    /// Read the path from `doc` (the document its root names).
    pub fn read(&self, doc: &Value) -> Result<Value, PathError> {
        if self.is_definite() {
            read_definite(&self.segments, doc)
        } else {
            let mut cur = vec![doc.clone()];
            for seg in &self.segments {
                let mut next = Vec::new();
                for v in &cur {
                    step_all(seg, v, &mut next);
                }
                cur = next;
            }
            Ok(Value::Array(cur))
        }
    }

    /// Write `value` at the path inside `doc`, creating objects on the way
    /// (what ResultPath does). Only definite paths can be written.
    pub fn write(&self, doc: &mut Value, value: Value) -> Result<(), PathError> {
        if !self.is_definite() {
            return Err(PathError::new(format!(
                "Invalid path '{}': a ResultPath must be a definite path",
                self.text
            )));
        }
        if self.segments.is_empty() {
            *doc = value;
            return Ok(());
        }
        let mut cur = doc;
        for (i, seg) in self.segments.iter().enumerate() {
            let last = i + 1 == self.segments.len();
            match seg {
                Segment::Field(name) => {
                    if !cur.is_object() {
                        // AWS replaces a non-object (e.g. null) on the way with an object.
                        *cur = Value::Object(Map::new());
                    }
                    let obj = cur.as_object_mut().expect("object");
                    if last {
                        obj.insert(name.clone(), value);
                        return Ok(());
                    }
                    cur = obj
                        .entry(name.clone())
                        .or_insert_with(|| Value::Object(Map::new()));
                }
                Segment::Index(idx) => {
                    let arr = cur.as_array_mut().ok_or_else(|| {
                        PathError::new(format!(
                            "Invalid path '{}': the target is not an array",
                            self.text
                        ))
                    })?;
                    let len = arr.len() as i64;
                    let i2 = if *idx < 0 { len + idx } else { *idx };
                    if i2 < 0 || i2 >= len {
                        return Err(PathError::new(format!(
                            "Invalid path '{}': index {} out of bounds",
                            self.text, idx
                        )));
                    }
                    if last {
                        arr[i2 as usize] = value;
                        return Ok(());
                    }
                    cur = &mut arr[i2 as usize];
                }
                _ => unreachable!("definite"),
            }
        }
        Ok(())
    }
}

/// Jayway's normalised form of a path prefix: `$['a'][0]`.
fn normalized(segs: &[Segment]) -> String {
    let mut s = String::from("$");
    for seg in segs {
        match seg {
            Segment::Field(n) => s.push_str(&format!("['{}']", n)),
            Segment::Index(i) => s.push_str(&format!("[{}]", i)),
            _ => s.push_str("[*]"),
        }
    }
    s
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "java.lang.Boolean",
        Value::Number(_) => "java.lang.Number",
        Value::String(_) => "java.lang.String",
        Value::Array(_) => "net.minidev.json.JSONArray",
        Value::Object(_) => "java.util.LinkedHashMap",
    }
}

fn read_definite(segs: &[Segment], doc: &Value) -> Result<Value, PathError> {
    let mut cur = doc;
    for (i, seg) in segs.iter().enumerate() {
        let last = i + 1 == segs.len();
        let next = match seg {
            Segment::Field(name) => match cur {
                Value::Object(o) => crate::model::small_get(o, name),
                other => {
                    return Err(PathError::new(format!(
                        "Expected to find an object with property {} in path {} but found '{}'. This is not a json object according to the JsonProvider: 'com.jayway.jsonpath.spi.json.JacksonJsonProvider'.",
                        normalized(&segs[i..=i]).trim_start_matches('$'),
                        normalized(&segs[..i]),
                        type_name(other)
                    )))
                }
            },
            Segment::Index(idx) => match cur {
                Value::Array(a) => {
                    let len = a.len() as i64;
                    let i2 = if *idx < 0 { len + idx } else { *idx };
                    if i2 < 0 || i2 >= len {
                        None
                    } else {
                        a.get(i2 as usize)
                    }
                }
                other => {
                    return Err(PathError::new(format!(
                        "Filter: {} can only be applied to arrays. Current context is: {}",
                        normalized(&segs[i..=i]).trim_start_matches('$'),
                        other
                    )))
                }
            },
            _ => unreachable!("definite"),
        };
        match next {
            Some(v) => cur = v,
            None if last => {
                return Err(PathError::new(format!(
                    "No results for path: {}",
                    normalized(segs)
                )))
            }
            None => {
                return Err(PathError::new(format!(
                    "Missing property in path {}",
                    normalized(&segs[..=i])
                )))
            }
        }
    }
    Ok(cur.clone())
}

fn slice_indices(len: i64, a: Option<i64>, b: Option<i64>, step: Option<i64>) -> Vec<usize> {
    let norm = |x: i64| if x < 0 { (len + x).max(0) } else { x.min(len) };
    let start = a.map(norm).unwrap_or(0);
    let end = b.map(norm).unwrap_or(len);
    let step = step.unwrap_or(1).max(1);
    let mut out = Vec::new();
    let mut i = start;
    while i < end {
        out.push(i as usize);
        i += step;
    }
    out
}

fn step_all(seg: &Segment, v: &Value, out: &mut Vec<Value>) {
    match seg {
        Segment::Field(n) => {
            if let Some(x) = v.as_object().and_then(|o| o.get(n)) {
                out.push(x.clone());
            }
        }
        Segment::Index(i) => {
            if let Some(a) = v.as_array() {
                let len = a.len() as i64;
                let i2 = if *i < 0 { len + i } else { *i };
                if i2 >= 0 && i2 < len {
                    out.push(a[i2 as usize].clone());
                }
            }
        }
        Segment::Union(idxs) => {
            for i in idxs {
                step_all(&Segment::Index(*i), v, out);
            }
        }
        Segment::Wildcard => match v {
            Value::Array(a) => out.extend(a.iter().cloned()),
            Value::Object(o) => out.extend(o.values().cloned()),
            _ => {}
        },
        Segment::Slice(a, b, s) => {
            if let Value::Array(arr) = v {
                for i in slice_indices(arr.len() as i64, *a, *b, *s) {
                    out.push(arr[i].clone());
                }
            }
        }
        Segment::Deep(name) => deep(name, v, out),
        Segment::Filter(f) => {
            let items: Vec<&Value> = match v {
                Value::Array(a) => a.iter().collect(),
                Value::Object(o) => o.values().collect(),
                _ => vec![],
            };
            for item in items {
                if f.matches(item) {
                    out.push(item.clone());
                }
            }
        }
    }
}

fn deep(name: &str, v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Object(o) => {
            if name == "*" {
                out.extend(o.values().cloned());
            } else if let Some(x) = o.get(name) {
                out.push(x.clone());
            }
            for x in o.values() {
                deep(name, x, out);
            }
        }
        Value::Array(a) => {
            for x in a {
                deep(name, x, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(p: &str, doc: &Value) -> Result<Value, PathError> {
        JsonPath::parse(p).unwrap().read(doc)
    }

    #[test]
    fn given_nested_object_when_reading_dotted_path_then_value_is_returned() {
        let doc = json!({"a": {"b": [1, 2, {"c": "x"}]}});
        assert_eq!(read("$.a.b[2].c", &doc).unwrap(), json!("x"));
        assert_eq!(read("$['a']['b'][0]", &doc).unwrap(), json!(1));
    }

    #[test]
    fn given_missing_leaf_when_reading_then_error_is_jayway_no_results() {
        let err = read("$.NoSuch", &json!({})).unwrap_err();
        assert_eq!(err.message, "No results for path: $['NoSuch']");
    }

    #[test]
    fn given_missing_intermediate_when_reading_then_error_is_missing_property() {
        let err = read("$.no.such.path", &json!({})).unwrap_err();
        assert_eq!(err.message, "Missing property in path $['no']");
    }

    #[test]
    fn given_wildcard_slice_or_filter_when_reading_then_all_matches_form_an_array() {
        let doc = json!({"items": [{"v": 1, "s": 0}, {"v": 2, "s": 1}, {"v": 3, "s": 0}]});
        assert_eq!(read("$.items[*].v", &doc).unwrap(), json!([1, 2, 3]));
        assert_eq!(read("$.items[1:].v", &doc).unwrap(), json!([2, 3]));
        assert_eq!(read("$.items[?(@.s == 0)].v", &doc).unwrap(), json!([1, 3]));
    }

    #[test]
    fn given_result_path_when_writing_then_intermediate_objects_are_created() {
        let mut doc = json!({"keep": 1});
        JsonPath::parse("$.a.b")
            .unwrap()
            .write(&mut doc, json!(2))
            .unwrap();
        assert_eq!(doc, json!({"keep": 1, "a": {"b": 2}}));
    }

    #[test]
    fn given_dollar_name_when_parsing_then_root_is_a_variable() {
        let p = JsonPath::parse("$myVar.x").unwrap();
        assert_eq!(p.root, Root::Variable("myVar".into()));
        assert_eq!(JsonPath::parse("$$.Map.Item").unwrap().root, Root::Context);
    }
}
