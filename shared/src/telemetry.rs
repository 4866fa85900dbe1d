//! Logging set-up shared by the four `main.rs`.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// JSON logs in Lambda (CloudWatch indexes the fields), plain text on a
/// terminal. `RUST_LOG` filters by level and target (`info`,
/// `warn,update_site=debug`); the default, and what an unreadable value
/// gives, is `info`.
///
/// `Targets` rather than `EnvFilter`: the same directives but for span and
/// field filters, without the regex engine, which was about 180 KiB of
/// every function's binary.
pub fn init() {
    let filter = filter(std::env::var("RUST_LOG").ok().as_deref());
    let in_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let builder = tracing_subscriber::fmt().with_target(false);
    let result = if in_lambda {
        // Lambda adds its own timestamp and request id to every line.
        builder
            .json()
            .without_time()
            .with_current_span(false)
            .finish()
            .with(filter)
            .try_init()
    } else {
        builder.finish().with(filter).try_init()
    };
    // A second init (tests, the in-process runner) keeps the first subscriber.
    let _ = result;
}

fn filter(rust_log: Option<&str>) -> Targets {
    rust_log
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| s.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn given_rust_log_when_read_then_levels_and_targets_filter_as_documented() {
        let enabled = |f: &Targets, target: &str, level: Level| f.would_enable(target, &level);
        // GIVEN nothing, or something unreadable: info
        for unset in [None, Some(""), Some("info,=nonsense=")] {
            let f = filter(unset);
            assert!(enabled(&f, "update_site", Level::INFO), "{unset:?}");
            assert!(!enabled(&f, "update_site", Level::DEBUG), "{unset:?}");
        }
        // GIVEN a level and a target's own level
        let f = filter(Some("warn,update_site=debug"));
        assert!(!enabled(&f, "shared", Level::INFO));
        assert!(enabled(&f, "update_site::site", Level::DEBUG));
        // GIVEN off
        assert!(!enabled(&filter(Some("off")), "shared", Level::ERROR));
    }
}
