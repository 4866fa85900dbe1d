//! Logging set-up shared by the four `main.rs`.

/// JSON logs in Lambda (CloudWatch indexes the fields), plain text on a
/// terminal. `RUST_LOG` filters as usual; the default is `info`.
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let in_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let result = if in_lambda {
        // Lambda adds its own timestamp and request id to every line.
        builder
            .json()
            .without_time()
            .with_current_span(false)
            .try_init()
    } else {
        builder.try_init()
    };
    // A second init (tests, the in-process runner) keeps the first subscriber.
    let _ = result;
}
