//! The PollReport Lambda: wiring only; the logic is in the library.

use lambda_runtime::{Error, LambdaEvent};
use serde_json::Value;
use shared::report_api::HttpReportApi;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let config = poll_report::Config::from_env().await?;
    let api = HttpReportApi::new(config.api.clone())?;
    shared::runtime::run(|event: LambdaEvent<Value>| {
        poll_report::handle(&api, &config, event.payload)
    })
    .await
}
