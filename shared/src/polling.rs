//! The polling policy: how long to wait before each poll, and how many polls
//! a run may make.
//!
//! Waits grow geometrically from `initial` by `rate` up to `max`, so a report
//! that takes T seconds costs about log(T) polls until the cap, then T/max.
//! CreateReport uses it for the first wait and the poll budget; PollReport for
//! every later wait.

use crate::config::{self, ConfigError, Lookup};

#[derive(Debug, Clone, PartialEq)]
pub struct PollPolicy {
    pub initial_wait_seconds: u64,
    pub max_wait_seconds: u64,
    pub backoff_rate: f64,
    pub max_polls: u32,
}

impl Default for PollPolicy {
    fn default() -> Self {
        // 10, 20, 40, 80, then every 120 s: 11 polls wait 990 s in all, which
        // with the tasks' own timeouts fits the definition's 3300 s
        // TimeoutSeconds (tests/serverless checks serverless.yml's values).
        PollPolicy {
            initial_wait_seconds: 10,
            max_wait_seconds: 120,
            backoff_rate: 2.0,
            max_polls: 11,
        }
    }
}

impl PollPolicy {
    pub fn from_lookup(env: &dyn Lookup) -> Result<Self, ConfigError> {
        let d = PollPolicy::default();
        let policy = PollPolicy {
            initial_wait_seconds: config::parse_or(
                env,
                "POLL_INITIAL_WAIT_SECONDS",
                d.initial_wait_seconds,
            )?,
            max_wait_seconds: config::parse_or(env, "POLL_MAX_WAIT_SECONDS", d.max_wait_seconds)?,
            backoff_rate: config::parse_or(env, "POLL_BACKOFF_RATE", d.backoff_rate)?,
            max_polls: config::parse_or(env, "MAX_POLLS", d.max_polls)?,
        };
        if !(policy.backoff_rate >= 1.0 && policy.backoff_rate.is_finite()) {
            return Err(ConfigError::Invalid {
                name: "POLL_BACKOFF_RATE".into(),
                value: policy.backoff_rate.to_string(),
                reason: "must be a number >= 1.0".into(),
            });
        }
        if policy.max_polls == 0 {
            return Err(ConfigError::Invalid {
                name: "MAX_POLLS".into(),
                value: "0".into(),
                reason: "must be at least 1".into(),
            });
        }
        Ok(policy)
    }

    /// The wait before poll number `polls_done + 1`.
    pub fn wait_after(&self, polls_done: u32) -> u64 {
        let grown =
            self.initial_wait_seconds as f64 * self.backoff_rate.powi(polls_done.min(64) as i32);
        (grown.min(self.max_wait_seconds as f64) as u64)
            .max(self.initial_wait_seconds.min(self.max_wait_seconds))
    }

    /// How many polls a report that becomes ready after `latency_seconds` costs.
    pub fn polls_for(&self, latency_seconds: u64) -> u32 {
        let (mut elapsed, mut polls) = (0u64, 0u32);
        loop {
            elapsed += self.wait_after(polls);
            polls += 1;
            if elapsed >= latency_seconds || polls >= self.max_polls {
                return polls;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_geometrically_then_stop_at_the_cap() {
        let p = PollPolicy {
            initial_wait_seconds: 5,
            max_wait_seconds: 300,
            ..Default::default()
        };
        let waits: Vec<u64> = (0..8).map(|n| p.wait_after(n)).collect();
        assert_eq!(waits, vec![5, 10, 20, 40, 80, 160, 300, 300]);
    }

    #[test]
    fn a_slow_report_costs_logarithmically_many_polls_until_the_cap() {
        let p = PollPolicy {
            initial_wait_seconds: 5,
            max_wait_seconds: 300,
            max_polls: 1000,
            ..Default::default()
        };
        assert_eq!(p.polls_for(10), 2);
        assert_eq!(p.polls_for(60), 4);
        assert!(p.polls_for(3600) < 20, "{}", p.polls_for(3600));
    }

    #[test]
    fn the_default_poll_budget_fits_the_execution_timeout() {
        let p = PollPolicy::default();
        let waited: u64 = (0..p.max_polls).map(|n| p.wait_after(n)).sum();
        assert!(
            waited < 3300 / 2,
            "{waited} s of waiting leaves too little of the 3300 s execution timeout"
        );
    }

    #[test]
    fn a_backoff_rate_below_one_is_refused() {
        let env = std::collections::HashMap::from([("POLL_BACKOFF_RATE", "0.5")]);
        assert!(PollPolicy::from_lookup(&env)
            .unwrap_err()
            .to_string()
            .contains("POLL_BACKOFF_RATE"));
    }
}
