//! Where the reporting API token comes from.
//!
//! In AWS the token lives in SSM Parameter Store as a SecureString and is read
//! once at cold start (`REPORT_API_TOKEN_PARAMETER` names it), so it never sits
//! in the function's environment. Locally, `REPORT_API_TOKEN` may hold it.

use crate::config::{ConfigError, Lookup, Secret};

/// Resolves the token: SSM parameter first, then the plain variable, else none.
pub async fn resolve_token(env: &(dyn Lookup + Sync)) -> Result<Option<Secret>, ConfigError> {
    if let Some(parameter) = env.get("REPORT_API_TOKEN_PARAMETER") {
        let shared = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let ssm = aws_sdk_ssm::Client::new(&shared);
        let out = ssm
            .get_parameter()
            .name(&parameter)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| ConfigError::Secret {
                parameter: parameter.clone(),
                reason: aws_smithy_types::error::display::DisplayErrorContext(e).to_string(),
            })?;
        let value = out.parameter().and_then(|p| p.value()).unwrap_or_default();
        if value.is_empty() {
            return Err(ConfigError::Secret {
                parameter,
                reason: "the parameter is empty".into(),
            });
        }
        return Ok(Some(Secret::new(value)));
    }
    Ok(env.get("REPORT_API_TOKEN").map(Secret::new))
}
