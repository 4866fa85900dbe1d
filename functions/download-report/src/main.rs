//! The DownloadReport Lambda: wiring only; the logic is in the library.

use lambda_runtime::{Error, LambdaEvent};
use serde_json::Value;
use shared::report_api::HttpReportApi;
use shared::store::{S3Settings, S3Store};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let config = download_report::Config::from_env().await?;
    // This is the one function with both clients, and each reads the system's
    // root certificates when built (about 3 ms here): build the reporting API
    // client on a blocking thread while the S3 client is built here, so init
    // takes the longer of the two rather than their sum.
    let api_config = config.api.clone();
    let api = tokio::task::spawn_blocking(move || HttpReportApi::new(api_config));
    let s3 = S3Settings::from_lookup(&shared::config::ProcessEnv)?;
    let store = S3Store::new(s3.client().await);
    let api = api.await??;
    shared::runtime::run(|event: LambdaEvent<Value>| {
        download_report::handle(&api, &store, &config, event.payload)
    })
    .await
}
