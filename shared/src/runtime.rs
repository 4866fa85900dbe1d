//! Starting the Lambda runtime so that even a payload that is not JSON gets a
//! named error.
//!
//! `lambda_runtime` parses the payload before the handler runs, and reports a
//! parse failure with the Rust type name
//! `lambda_runtime::deserializer::DeserializeError` as its `errorType`. Step
//! Functions always sends JSON, but `cargo lambda invoke`, the console and
//! other callers may not. [`PayloadCheck`] sits in front: a body that is not
//! JSON is replaced by a marker object that [`crate::payload::parse_input`]
//! turns into `Input.Invalid` with the parser's message.

use std::future::Future;
use std::task::{Context, Poll};

use lambda_runtime::tower::{Layer, Service};
use lambda_runtime::{Diagnostic, LambdaEvent, LambdaInvocation, Runtime};
use serde::Serialize;
use serde_json::Value;

/// The key of the marker object that stands for a payload that was not JSON.
pub const MALFORMED_PAYLOAD_KEY: &str = "$malformed_payload";

/// Runs `handler` on the Lambda runtime with the payload check and tracing.
pub async fn run<F, Fut, R, E>(handler: F) -> Result<(), lambda_runtime::Error>
where
    F: FnMut(LambdaEvent<Value>) -> Fut + Send,
    Fut: Future<Output = Result<R, E>> + Send,
    R: Serialize + Send,
    E: Into<Diagnostic> + std::fmt::Debug + Send,
{
    Runtime::new(lambda_runtime::service_fn(handler))
        .layer(lambda_runtime::layers::TracingLayer::new())
        .layer(PayloadCheckLayer)
        .run()
        .await
}

/// Replaces a body that is not JSON with `{"$malformed_payload": "<why>"}`.
pub fn check_body(body: &[u8]) -> Option<Vec<u8>> {
    // Parse exactly as the runtime will (into a Value): `IgnoredAny` would
    // skip string contents and numbers, letting through bodies the runtime
    // then fails on (invalid UTF-8 in a string, a lone surrogate, 1e400),
    // as the payload fuzz target found.
    match serde_json::from_slice::<Value>(body) {
        Ok(_) => None,
        Err(e) => Some(
            serde_json::json!({ MALFORMED_PAYLOAD_KEY: e.to_string() })
                .to_string()
                .into_bytes(),
        ),
    }
}

#[derive(Clone, Copy)]
pub(crate) struct PayloadCheckLayer;

impl<S> Layer<S> for PayloadCheckLayer {
    type Service = PayloadCheck<S>;
    fn layer(&self, inner: S) -> Self::Service {
        PayloadCheck { inner }
    }
}

#[derive(Clone)]
pub(crate) struct PayloadCheck<S> {
    inner: S,
}

impl<S> Service<LambdaInvocation> for PayloadCheck<S>
where
    S: Service<LambdaInvocation>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: LambdaInvocation) -> Self::Future {
        if let Some(replacement) = check_body(&req.body) {
            req.body = replacement.into();
        }
        self.inner.call(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_bodies_pass_untouched_and_others_become_the_marker() {
        assert!(check_body(br#"{"a": 1}"#).is_none());
        assert!(check_body(b"null").is_none());
        let marker: Value = serde_json::from_slice(&check_body(b"{not json").unwrap()).unwrap();
        assert!(marker[MALFORMED_PAYLOAD_KEY]
            .as_str()
            .unwrap()
            .contains("line 1"));
    }

    #[test]
    fn bodies_that_are_json_in_shape_but_not_readable_become_the_marker_too() {
        // The fuzzer's regressions: fuzz/corpus/payload/regression-check_body-*.
        for body in [&b"\"\xff\""[..], b"\"\\ud800\"", b"1e400"] {
            assert!(serde_json::from_slice::<Value>(body).is_err());
            assert!(
                check_body(body).is_some(),
                "{:?} passed the check",
                String::from_utf8_lossy(body)
            );
        }
    }
}
