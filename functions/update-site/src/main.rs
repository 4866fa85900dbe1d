//! The UpdateSite Lambda: wiring only; the logic is in the library.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::function::serve::<update_site::UpdateSite>().await
}
