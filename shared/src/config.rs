//! Reading configuration from the environment, once, at cold start.
//!
//! Every function builds its `Config` through a [`Lookup`] so unit tests can
//! pass a map instead of mutating the process environment. Errors name the
//! variable, so a misconfigured deployment says what to fix.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

/// Where configuration values come from: the process environment in a
/// Lambda, a map in tests.
pub trait Lookup {
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment. Empty values count as unset, because
/// Serverless renders an unset optional parameter as an empty string.
pub struct ProcessEnv;

impl Lookup for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }
}

impl Lookup for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name)
            .cloned()
            .filter(|v| !v.trim().is_empty())
    }
}

impl Lookup for HashMap<&str, &str> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name)
            .map(|v| v.to_string())
            .filter(|v| !v.trim().is_empty())
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("missing environment variable {0}")]
    Missing(String),
    #[error("environment variable {name}={value:?} is invalid: {reason}")]
    Invalid {
        name: String,
        value: String,
        reason: String,
    },
    #[error("could not read the reporting API token from SSM parameter {parameter}: {reason}")]
    Secret { parameter: String, reason: String },
}

/// A required variable.
pub fn required(env: &dyn Lookup, name: &str) -> Result<String, ConfigError> {
    env.get(name)
        .ok_or_else(|| ConfigError::Missing(name.to_string()))
}

/// An optional variable parsed with `FromStr`, or `default` when unset.
pub fn parse_or<T>(env: &dyn Lookup, name: &str, default: T) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    match env.get(name) {
        None => Ok(default),
        Some(value) => value
            .trim()
            .parse()
            .map_err(|e: T::Err| ConfigError::Invalid {
                name: name.to_string(),
                reason: e.to_string(),
                value,
            }),
    }
}

/// An optional string with a default.
pub fn string_or(env: &dyn Lookup, name: &str, default: &str) -> String {
    env.get(name).unwrap_or_else(|| default.to_string())
}

/// A comma-separated list, trimmed, empty items dropped.
pub(crate) fn list_or(env: &dyn Lookup, name: &str, default: &[&str]) -> Vec<String> {
    match env.get(name) {
        None => default.iter().map(|s| s.to_string()).collect(),
        Some(v) => v
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
    }
}

/// A secret value: never printed by `Debug` or `Display`, so it cannot leak
/// through a log line or an error cause by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The value itself; call only where it is sent (an HTTP header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_required_variable_names_the_variable() {
        let env: HashMap<&str, &str> = HashMap::new();
        let err = required(&env, "REPORT_API_URL").unwrap_err();
        assert_eq!(
            err.to_string(),
            "missing environment variable REPORT_API_URL"
        );
    }

    #[test]
    fn invalid_number_names_variable_value_and_reason() {
        let env = HashMap::from([("MAX_POLLS", "many")]);
        let err = parse_or::<u32>(&env, "MAX_POLLS", 3).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("MAX_POLLS") && text.contains("many"),
            "{text}"
        );
    }

    #[test]
    fn empty_value_counts_as_unset() {
        let env = HashMap::from([("MAX_POLLS", "  ")]);
        assert_eq!(parse_or::<u32>(&env, "MAX_POLLS", 7).unwrap(), 7);
    }

    #[test]
    fn secret_never_prints_its_value() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?} {s}").contains("hunter2"));
        assert_eq!(s.expose(), "hunter2");
    }
}
