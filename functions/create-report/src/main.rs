//! The CreateReport Lambda: wiring only; the logic is in the library.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::function::serve::<create_report::CreateReport>().await
}
