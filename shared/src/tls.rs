//! Root certificates for outgoing TLS, read once per process.
//!
//! The reporting API client (reqwest) and the AWS SDK's client (S3, SSM) would
//! each read the system's certificate store on their own: on Debian-like
//! systems that is the bundle plus every file of `/etc/ssl/certs`, the
//! largest part of a function's init. DownloadReport builds both clients, so
//! it read the store twice. Here it is read once and both clients trust the
//! same set, so TLS trust is also the same for every outgoing call.

use std::sync::LazyLock;

use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_http_client::Builder;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use base64::Engine as _;
use rustls_pki_types::CertificateDer;

/// The system's trusted roots that can serve as trust anchors. A store entry
/// that is not a usable root is left out (and logged) rather than failing
/// the client: the SDK's client would refuse the whole set for one of them.
static ROOTS: LazyLock<Vec<CertificateDer<'static>>> = LazyLock::new(|| {
    let found = rustls_native_certs::load_native_certs();
    for e in &found.errors {
        tracing::warn!(error = %e, "reading the system's root certificates");
    }
    let (usable, unusable): (Vec<_>, Vec<_>) = found
        .certs
        .into_iter()
        .partition(|der| webpki::anchor_from_trusted_cert(der).is_ok());
    if !unusable.is_empty() {
        tracing::warn!(
            skipped = unusable.len(),
            "root certificates that are not usable trust anchors"
        );
    }
    if usable.is_empty() {
        tracing::warn!("no system root certificates: HTTPS calls will fail to verify servers");
    }
    usable
});

/// The system's root certificates (read on first use).
pub fn native_roots() -> &'static [CertificateDer<'static>] {
    &ROOTS
}

/// The roots for `reqwest::ClientBuilder::tls_certs_only`.
pub fn reqwest_roots() -> Vec<reqwest::Certificate> {
    native_roots()
        .iter()
        .filter_map(|der| reqwest::Certificate::from_der(der).ok())
        .collect()
}

/// The roots as one PEM text (what the SDK's trust store takes).
fn roots_pem() -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut pem = String::new();
    for der in native_roots() {
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        let text = b64.encode(der.as_ref());
        for line in text.as_bytes().chunks(64) {
            // Base64 is ASCII, so every chunk is valid UTF-8.
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
    }
    pem.into_bytes()
}

/// The AWS SDK's HTTPS client (rustls with aws-lc, as the SDK's default)
/// trusting [`native_roots`] instead of reading the store again.
pub fn aws_http_client() -> SharedHttpClient {
    let trust = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(roots_pem());
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .unwrap_or_default();
    Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https()
}

/// The SDK configuration from the default chains (region, credentials),
/// with [`aws_http_client`].
pub async fn aws_sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(aws_http_client())
        .load()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_the_system_roots_when_written_as_pem_then_they_read_back_unchanged() {
        // GIVEN the roots read from this machine's store
        let roots = native_roots();
        // WHEN they are written as PEM and parsed again
        let pem = roots_pem();
        let back: Vec<CertificateDer<'static>> = {
            use rustls_pki_types::pem::PemObject;
            CertificateDer::pem_slice_iter(&pem)
                .collect::<Result<_, _>>()
                .expect("the PEM parses")
        };
        // THEN every certificate comes back byte for byte
        assert_eq!(back.as_slice(), roots);
    }

    #[test]
    fn given_the_system_roots_when_handed_to_reqwest_then_none_is_lost() {
        assert_eq!(reqwest_roots().len(), native_roots().len());
    }

    #[tokio::test]
    async fn given_the_shared_roots_when_the_sdk_client_connects_then_its_tls_set_up_succeeds() {
        // GIVEN an S3 client on the shared HTTPS client, pointed at a closed
        // loopback port (the SDK builds its connector, and parses the trust
        // store, on the first request)
        let config = aws_sdk_s3::Config::builder()
            .behavior_version_latest()
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .endpoint_url("https://127.0.0.1:1")
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "AKID", "secret", None, None, "test",
            ))
            .http_client(aws_http_client())
            .build();
        let client = aws_sdk_s3::Client::from_conf(config);
        // WHEN it sends a request
        let result = client.list_buckets().send().await;
        // THEN the request fails to connect (the trust store was accepted;
        // a PEM it could not parse would have panicked instead)
        let err = result.expect_err("nothing listens on port 1");
        assert!(
            matches!(err, aws_sdk_s3::error::SdkError::DispatchFailure(_)),
            "{err:?}"
        );
    }
}
