//! The UpdateSite Lambda: wiring only; the logic is in the library.

use std::sync::Arc;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use shared::store::{S3Settings, S3Store};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let config = update_site::Config::from_env()?;
    let s3 = S3Settings::from_lookup(&shared::config::ProcessEnv)?.client().await;
    let store = Arc::new(S3Store::new(s3));
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let (store, config) = (store.clone(), &config);
        async move { update_site::handle(store, config, event.payload, chrono::Utc::now()).await }
    }))
    .await
}
