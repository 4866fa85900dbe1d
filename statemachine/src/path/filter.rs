//! Filter expressions, `[?(…)]`: comparisons of a definite path from `@`
//! with a literal (or its mere existence), combined with `&&` and `||`
//! (`&&` binding tighter) and grouped with parentheses, as Jayway reads
//! them and as the CDK writes them.

use serde_json::Value;

use super::{read_definite, Parser, Segment};

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Filter {
    /// `@.path` alone (exists) or `@.path OP literal`.
    Test {
        lhs: Vec<Segment>,
        op: Option<(String, Value)>,
    },
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
}

impl Filter {
    pub(super) fn matches(&self, item: &Value) -> bool {
        match self {
            Filter::And(a, b) => a.matches(item) && b.matches(item),
            Filter::Or(a, b) => a.matches(item) || b.matches(item),
            Filter::Test { lhs, op } => test(lhs, op.as_ref(), item),
        }
    }
}

fn test(lhs: &[Segment], op: Option<&(String, Value)>, item: &Value) -> bool {
    let lhs = match read_definite(lhs, item) {
        Ok(v) => v,
        Err(_) => return false,
    };
    let Some((op, rhs)) = op else {
        return true;
    };
    let ord = match (&lhs, rhs) {
        (Value::Number(a), Value::Number(b)) => a.as_f64().partial_cmp(&b.as_f64()),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        _ => None,
    };
    use std::cmp::Ordering::*;
    match op.as_str() {
        "==" => ord == Some(Equal) || lhs == *rhs,
        "!=" => !(ord == Some(Equal) || lhs == *rhs),
        "<" => ord == Some(Less),
        "<=" => matches!(ord, Some(Less | Equal)),
        ">" => ord == Some(Greater),
        ">=" => matches!(ord, Some(Greater | Equal)),
        _ => false,
    }
}

impl Parser<'_> {
    /// `or := and ('||' and)*`, after `?(`, up to the closing `)`.
    pub(super) fn filter(&mut self) -> Result<Filter, String> {
        let mut f = self.filter_and()?;
        loop {
            self.skip_ws();
            if self.peek() == Some('|') && self.peek_at(1) == Some('|') {
                self.pos += 2;
                f = Filter::Or(Box::new(f), Box::new(self.filter_and()?));
            } else {
                return Ok(f);
            }
        }
    }

    fn filter_and(&mut self) -> Result<Filter, String> {
        let mut f = self.filter_primary()?;
        loop {
            self.skip_ws();
            if self.peek() == Some('&') && self.peek_at(1) == Some('&') {
                self.pos += 2;
                f = Filter::And(Box::new(f), Box::new(self.filter_primary()?));
            } else {
                return Ok(f);
            }
        }
    }

    fn filter_primary(&mut self) -> Result<Filter, String> {
        self.skip_ws();
        match self.peek() {
            Some('(') => {
                self.pos += 1;
                let f = self.filter()?;
                self.skip_ws();
                if self.peek() != Some(')') {
                    return Err(self.err("expected )"));
                }
                self.pos += 1;
                Ok(f)
            }
            Some('@') => {
                self.pos += 1;
                let lhs = self.segments(true)?;
                self.skip_ws();
                let mut op = String::new();
                while matches!(self.peek(), Some(c) if "=!<>".contains(c)) {
                    op.push(self.peek().unwrap_or_default());
                    self.pos += 1;
                }
                if op.is_empty() {
                    return Ok(Filter::Test { lhs, op: None });
                }
                self.skip_ws();
                let v = self.literal()?;
                Ok(Filter::Test {
                    lhs,
                    op: Some((op, v)),
                })
            }
            _ => Err(self.err("filter must start with @")),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::path::JsonPath;

    fn read(p: &str, doc: &serde_json::Value) -> serde_json::Value {
        JsonPath::parse(p).unwrap().read(doc).unwrap()
    }

    #[test]
    fn given_and_or_in_a_filter_when_reading_then_and_binds_tighter() {
        let doc = json!({"items": [
            {"a": 2, "b": "x"}, {"a": 0, "b": "x"}, {"a": 5, "b": "y"}, {"a": 9}
        ]});
        assert_eq!(
            read("$.items[?(@.a > 1 && @.b == 'x')].a", &doc),
            json!([2])
        );
        assert_eq!(
            read("$.items[?(@.b == 'y' || @.a == 0)].a", &doc),
            json!([0, 5])
        );
        assert_eq!(
            read("$.items[?(@.a == 9 || @.a > 1 && @.b == 'x')].a", &doc),
            json!([2, 9])
        );
        assert_eq!(
            read("$.items[?((@.a == 9 || @.a > 1) && @.b)].a", &doc),
            json!([2, 5])
        );
    }
}
