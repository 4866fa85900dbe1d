//! The CreateReport Lambda: wiring only; the logic is in the library.

use lambda_runtime::{Error, LambdaEvent};
use serde_json::Value;
use shared::report_api::HttpReportApi;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let config = create_report::Config::from_env().await?;
    let api = HttpReportApi::new(config.api.clone())?;
    shared::runtime::run(|event: LambdaEvent<Value>| {
        create_report::handle(&api, &config, event.payload, chrono::Utc::now())
    })
    .await
}
