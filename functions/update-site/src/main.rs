//! The UpdateSite Lambda: wiring only; the logic is in the library.

use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent};
use serde_json::Value;
use shared::store::{S3Settings, S3Store};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let config = update_site::Config::from_env()?;
    let s3 = S3Settings::from_lookup(&shared::config::ProcessEnv)?
        .client()
        .await;
    let store = Arc::new(S3Store::new(s3));
    shared::runtime::run(|event: LambdaEvent<Value>| {
        update_site::handle(store.clone(), &config, event.payload, chrono::Utc::now())
    })
    .await
}
