//! The aws-sdk-s3 implementation of the store: streamed reads, and writes
//! as one PutObject or a multipart upload that is aborted on any failure.

use std::collections::HashMap;
use std::io;

use async_trait::async_trait;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::task::JoinSet;

use super::{
    ObjectBody, ObjectInfo, ObjectReader, ObjectWriter, PutRequest, PutResult, StoreError,
    WriteCondition, MIN_PART_SIZE, PART_SIZE,
};
use crate::config::{self, ConfigError, Lookup};

/// Where S3 is: AWS by default, or a local S3-compatible endpoint.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct S3Settings {
    pub endpoint_url: Option<String>,
    pub force_path_style: bool,
    /// With a local endpoint only: the region and static credentials from the
    /// same lookup, so a run configured in-process does not depend on the
    /// process environment. On AWS the default provider chain is used.
    pub local_region: Option<String>,
    pub local_credentials: Option<(String, String)>,
}

impl S3Settings {
    pub fn from_lookup(env: &dyn Lookup) -> Result<Self, ConfigError> {
        let endpoint_url = env.get("S3_ENDPOINT_URL");
        // A local endpoint has no virtual-host DNS, so path style is the default there.
        let force_path_style =
            config::parse_or(env, "S3_FORCE_PATH_STYLE", endpoint_url.is_some())?;
        let (local_region, local_credentials) = if endpoint_url.is_some() {
            let region = env
                .get("AWS_REGION")
                .or_else(|| env.get("AWS_DEFAULT_REGION"))
                .or_else(|| Some("us-east-1".into()));
            let creds = env
                .get("AWS_ACCESS_KEY_ID")
                .zip(env.get("AWS_SECRET_ACCESS_KEY"));
            (region, creds)
        } else {
            (None, None)
        };
        Ok(S3Settings {
            endpoint_url,
            force_path_style,
            local_region,
            local_credentials,
        })
    }

    /// Builds the client once at cold start from the default credential chain.
    pub async fn client(&self) -> aws_sdk_s3::Client {
        let shared = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        self.client_from(&shared)
    }

    pub(crate) fn client_from(&self, shared: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
        // Upload checksums only where S3 requires them: S3 computes its own
        // full-object CRC64NVME on every write, which GetObject then verifies,
        // while per-part CRC32s add CPU per byte and some S3-compatible
        // stores (s3s-fs among them) report a multipart object's part CRC as
        // if it were the whole object's, which fails that verification.
        let mut builder = aws_sdk_s3::config::Builder::from(shared)
            .force_path_style(self.force_path_style)
            .request_checksum_calculation(
                aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired,
            );
        if let Some(url) = &self.endpoint_url {
            builder = builder.endpoint_url(url);
        }
        if let Some(region) = &self.local_region {
            builder = builder.region(aws_sdk_s3::config::Region::new(region.clone()));
        }
        if let Some((id, secret)) = &self.local_credentials {
            builder = builder.credentials_provider(aws_sdk_s3::config::Credentials::new(
                id, secret, None, None, "local",
            ));
        }
        aws_sdk_s3::Client::from_conf(builder.build())
    }
}

/// The aws-sdk-s3 implementation.
#[derive(Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    part_size: usize,
}

impl S3Store {
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        S3Store {
            client,
            part_size: PART_SIZE,
        }
    }

    /// Multipart parts of `bytes` (at least S3's minimum, 5 MiB) instead of
    /// [`PART_SIZE`]: for a writer whose memory also holds other uploads.
    pub fn with_part_size(mut self, bytes: usize) -> Self {
        self.part_size = bytes.max(MIN_PART_SIZE);
        self
    }

    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    async fn multipart(
        &self,
        req: &PutRequest,
        first: Bytes,
        body: &mut (dyn AsyncRead + Send + Unpin),
    ) -> Result<PutResult, StoreError> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&req.bucket)
            .key(&req.key)
            .content_type(&req.content_type)
            .set_content_encoding(req.content_encoding.clone())
            .set_cache_control(req.cache_control.clone())
            .set_metadata(metadata_map(&req.metadata))
            .send()
            .await
            .map_err(|e| classify("CreateMultipartUpload", &req.bucket, &req.key, e))?;
        let upload_id = created.upload_id().unwrap_or_default().to_string();
        let guard = AbortGuard {
            client: self.client.clone(),
            bucket: req.bucket.clone(),
            key: req.key.clone(),
            upload_id: Some(upload_id.clone()),
        };

        // Parts upload in background tasks while the next part is read, so
        // the source keeps flowing while S3 is slow or retrying (a paused
        // source stream would hit its read timeout). At most
        // PARTS_IN_FLIGHT parts are buffered: memory stays bounded.
        let mut uploads: JoinSet<Result<CompletedPart, StoreError>> = JoinSet::new();
        let mut parts = Vec::new();
        let mut total = first.len() as u64;
        let mut chunk = first;
        let mut part_number = 1;
        loop {
            let (client, bucket, key, id) = (
                self.client.clone(),
                req.bucket.clone(),
                req.key.clone(),
                upload_id.clone(),
            );
            uploads.spawn(async move {
                let out = client
                    .upload_part()
                    .bucket(&bucket)
                    .key(&key)
                    .upload_id(&id)
                    .part_number(part_number)
                    .body(ByteStream::from(chunk))
                    .customize()
                    .disable_payload_signing()
                    .send()
                    .await
                    .map_err(|e| classify("UploadPart", &bucket, &key, e))?;
                Ok(CompletedPart::builder()
                    .part_number(part_number)
                    .set_e_tag(out.e_tag().map(String::from))
                    .build())
            });
            if uploads.len() >= PARTS_IN_FLIGHT {
                parts.push(join_part(uploads.join_next().await)?);
            }
            chunk = self.read_part(req, body).await?;
            if chunk.is_empty() {
                break;
            }
            total += chunk.len() as u64;
            part_number += 1;
        }
        while let Some(done) = uploads.join_next().await {
            parts.push(join_part(Some(done))?);
        }
        parts.sort_by_key(|p| p.part_number());

        let complete = self
            .client
            .complete_multipart_upload()
            .bucket(&req.bucket)
            .key(&req.key)
            .upload_id(&upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            );
        let (if_match, if_none_match) = req.condition.headers();
        let done = complete
            .set_if_match(if_match)
            .set_if_none_match(if_none_match)
            .send()
            .await
            .map_err(|e| classify("CompleteMultipartUpload", &req.bucket, &req.key, e))?;
        guard.disarm();
        Ok(PutResult {
            bytes: total,
            etag: done.e_tag().map(String::from),
        })
    }
}

/// Parts being uploaded while the next one is read.
const PARTS_IN_FLIGHT: usize = 2;

fn join_part(
    joined: Option<Result<Result<CompletedPart, StoreError>, tokio::task::JoinError>>,
) -> Result<CompletedPart, StoreError> {
    match joined {
        Some(Ok(part)) => part,
        Some(Err(e)) => Err(StoreError::Unavailable {
            op: "UploadPart",
            bucket: String::new(),
            key: String::new(),
            reason: format!("the upload task failed: {e}"),
        }),
        None => Err(StoreError::Unavailable {
            op: "UploadPart",
            bucket: String::new(),
            key: String::new(),
            reason: "no upload in flight".into(),
        }),
    }
}

/// Aborts a multipart upload unless disarmed: on an error return and also
/// when the future is dropped half-way (a Lambda timeout, a cancelled task).
struct AbortGuard {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    upload_id: Option<String>,
}

impl AbortGuard {
    fn disarm(mut self) {
        self.upload_id = None;
    }
}

impl Drop for AbortGuard {
    fn drop(&mut self) {
        let Some(upload_id) = self.upload_id.take() else {
            return;
        };
        let (client, bucket, key) = (self.client.clone(), self.bucket.clone(), self.key.clone());
        let abort = async move {
            if let Err(e) = client
                .abort_multipart_upload()
                .bucket(&bucket)
                .key(&key)
                .upload_id(&upload_id)
                .send()
                .await
            {
                tracing::error!(bucket, key, upload_id, error = %e.into_service_error(), "could not abort multipart upload; the bucket's lifecycle rule will clean it up");
            } else {
                tracing::info!(bucket, key, "aborted incomplete multipart upload");
            }
        };
        match tokio::runtime::Handle::try_current() {
            // Block this thread until the abort is sent, so a function that
            // returns the error right after does not freeze with it pending.
            Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| handle.block_on(abort));
            }
            Ok(handle) => {
                handle.spawn(abort);
            }
            Err(_) => {}
        }
    }
}

/// Reads up to `size` bytes, fewer only at the end of the body.
async fn read_chunk(body: &mut (dyn AsyncRead + Send + Unpin), size: usize) -> io::Result<Bytes> {
    let mut buf = BytesMut::with_capacity(size);
    while buf.len() < size {
        let n = body.read_buf(&mut buf).await?;
        if n == 0 {
            break;
        }
        // read_buf may grow past `size`; never mind, a part may be larger.
    }
    Ok(buf.freeze())
}

fn classify<E>(
    op: &'static str,
    bucket: &str,
    key: &str,
    err: SdkError<E, HttpResponse>,
) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let (bucket, key) = (bucket.to_string(), key.to_string());
    let status = match &err {
        SdkError::ServiceError(se) => Some(se.raw().status().as_u16()),
        SdkError::ResponseError(re) => Some(re.raw().status().as_u16()),
        _ => None,
    };
    let code = err.code().map(String::from);
    let message = err.message().map(String::from);
    let reason = match (&code, &message, status) {
        (Some(c), Some(m), _) => format!("{c}: {m}"),
        (Some(c), None, _) => c.clone(),
        (None, _, Some(s)) => format!("HTTP {s}"),
        _ => crate::errors::message_chain(&err),
    };
    let transient_code = matches!(
        code.as_deref(),
        Some(
            "SlowDown"
                | "InternalError"
                | "ServiceUnavailable"
                | "RequestTimeout"
                | "RequestTimeTooSkewed"
                | "Throttling"
                | "ThrottlingException"
        )
    );
    match (&err, status) {
        (_, Some(412)) => StoreError::Conflict { op, bucket, key },
        (_, Some(409)) if code.as_deref() == Some("ConditionalRequestConflict") => {
            StoreError::Conflict { op, bucket, key }
        }
        (
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_),
            _,
        ) => StoreError::Unavailable {
            op,
            bucket,
            key,
            reason,
        },
        (_, Some(s)) if s >= 500 || s == 429 => StoreError::Unavailable {
            op,
            bucket,
            key,
            reason,
        },
        _ if transient_code => StoreError::Unavailable {
            op,
            bucket,
            key,
            reason,
        },
        _ => StoreError::Failed {
            op,
            bucket,
            key,
            reason,
        },
    }
}

#[async_trait]
impl ObjectReader for S3Store {
    async fn open(&self, bucket: &str, key: &str) -> Result<ObjectBody, StoreError> {
        let out = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| classify("GetObject", bucket, key, e))?;
        Ok(Box::pin(out.body.into_async_read()))
    }

    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectInfo>, StoreError> {
        match self
            .client
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(Some(ObjectInfo {
                etag: out.e_tag().map(String::from),
                size: out.content_length().unwrap_or(0).max(0) as u64,
                metadata: out.metadata().cloned().unwrap_or_default(),
            })),
            Err(SdkError::ServiceError(e)) if e.err().is_not_found() => Ok(None),
            Err(e) => match classify("HeadObject", bucket, key, e) {
                // HEAD has no body, so a missing key is a bare 404.
                StoreError::Failed { reason, .. }
                    if reason.contains("404") || reason.contains("NotFound") =>
                {
                    Ok(None)
                }
                other => Err(other),
            },
        }
    }
}

impl S3Store {
    /// The next part of `body` (short only at its end), a read failure
    /// named with `req`'s object.
    async fn read_part(
        &self,
        req: &PutRequest,
        body: &mut (dyn AsyncRead + Send + Unpin),
    ) -> Result<Bytes, StoreError> {
        read_chunk(body, self.part_size)
            .await
            .map_err(|source| StoreError::Body {
                bucket: req.bucket.clone(),
                key: req.key.clone(),
                source,
            })
    }

    /// One PutObject of `first`, a body under a part.
    async fn put_object(&self, req: &PutRequest, first: Bytes) -> Result<PutResult, StoreError> {
        let bytes = first.len() as u64;
        let put = self
            .client
            .put_object()
            .bucket(&req.bucket)
            .key(&req.key)
            .content_type(&req.content_type)
            .set_content_encoding(req.content_encoding.clone())
            .set_cache_control(req.cache_control.clone())
            .set_metadata(metadata_map(&req.metadata))
            .body(ByteStream::from(first));
        let (if_match, if_none_match) = req.condition.headers();
        // No SHA-256 of the body for SigV4 (UNSIGNED-PAYLOAD): it was the
        // largest CPU cost of an upload (perf, make bench memory). The body
        // travels over TLS, which checks its integrity; no CRC32 goes with
        // it (`WhenRequired` above: PutObject does not require one), and S3
        // stores its own CRC64NVME of what it received.
        let out = put
            .set_if_match(if_match)
            .set_if_none_match(if_none_match)
            .customize()
            .disable_payload_signing()
            .send()
            .await
            .map_err(|e| classify("PutObject", &req.bucket, &req.key, e))?;
        Ok(PutResult {
            bytes,
            etag: out.e_tag().map(String::from),
        })
    }
}

#[async_trait]
impl ObjectWriter for S3Store {
    async fn put_stream(
        &self,
        req: &PutRequest,
        body: &mut (dyn AsyncRead + Send + Unpin),
    ) -> Result<PutResult, StoreError> {
        let first = self.read_part(req, body).await?;
        if first.len() >= self.part_size {
            return self.multipart(req, first, body).await;
        }
        self.put_object(req, first).await
    }

    async fn put_bytes(&self, req: &PutRequest, body: Bytes) -> Result<PutResult, StoreError> {
        if body.len() >= self.part_size {
            return self.put_stream(req, &mut &body[..]).await;
        }
        self.put_object(req, body).await
    }

    async fn copy(
        &self,
        source_bucket: &str,
        source_key: &str,
        req: &PutRequest,
    ) -> Result<(), StoreError> {
        debug_assert!(matches!(req.condition, WriteCondition::Always));
        self.client
            .copy_object()
            .copy_source(copy_source(source_bucket, source_key))
            .bucket(&req.bucket)
            .key(&req.key)
            .metadata_directive(aws_sdk_s3::types::MetadataDirective::Replace)
            .content_type(&req.content_type)
            .set_content_encoding(req.content_encoding.clone())
            .set_cache_control(req.cache_control.clone())
            .set_metadata(metadata_map(&req.metadata))
            .send()
            .await
            .map_err(|e| classify("CopyObject", &req.bucket, &req.key, e))?;
        Ok(())
    }

    async fn delete_prefix(&self, bucket: &str, prefix: &str) -> Result<u64, StoreError> {
        let mut deleted = 0u64;
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| classify("ListObjectsV2", bucket, prefix, e))?;
            for obj in page.contents() {
                let Some(key) = obj.key() else { continue };
                self.client
                    .delete_object()
                    .bucket(bucket)
                    .key(key)
                    .send()
                    .await
                    .map_err(|e| classify("DeleteObject", bucket, key, e))?;
                deleted += 1;
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => return Ok(deleted),
            }
        }
    }
}

/// CopyObject's `x-amz-copy-source`: `bucket/key`, the key URL-encoded
/// but for its slashes.
fn copy_source(bucket: &str, key: &str) -> String {
    let mut out = format!("{bucket}/");
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn metadata_map(pairs: &[(String, String)]) -> Option<HashMap<String, String>> {
    (!pairs.is_empty()).then(|| pairs.iter().cloned().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_a_key_with_spaces_and_unicode_then_the_copy_source_encodes_all_but_slashes() {
        assert_eq!(
            copy_source("b", "reports/rpt-1.csv.gz"),
            "b/reports/rpt-1.csv.gz"
        );
        assert_eq!(copy_source("b", "a b/é+?"), "b/a%20b/%C3%A9%2B%3F");
    }

    #[tokio::test]
    async fn read_chunk_fills_a_whole_part_from_small_reads() {
        let data = vec![7u8; 100];
        let mut reader = tokio_test_reader(data);
        let chunk = read_chunk(&mut reader, 64).await.unwrap();
        assert!(chunk.len() >= 64);
    }

    fn tokio_test_reader(data: Vec<u8>) -> impl AsyncRead + Send + Unpin {
        // A reader that yields a few bytes at a time, like a network stream.
        let chunks: Vec<io::Result<Bytes>> = data
            .chunks(5)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        tokio_util::io::StreamReader::new(futures::stream::iter(chunks))
    }
}
