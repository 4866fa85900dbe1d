//! The DownloadReport Lambda: wiring only; the logic is in the library.

use lambda_runtime::{Error, LambdaEvent};
use serde_json::Value;
use shared::report_api::HttpReportApi;
use shared::store::{S3Settings, S3Store};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let config = download_report::Config::from_env().await?;
    let api = HttpReportApi::new(config.api.clone())?;
    let store = S3Store::new(
        S3Settings::from_lookup(&shared::config::ProcessEnv)?
            .client()
            .await,
    );
    shared::runtime::run(|event: LambdaEvent<Value>| {
        download_report::handle(&api, &store, &config, event.payload)
    })
    .await
}
