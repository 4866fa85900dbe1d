//! The object store (S3): the traits and types the handlers depend on.
//!
//! - `s3.rs`: the aws-sdk-s3 implementation, [`S3Store`];
//! - `memory.rs`: [`MemoryStore`], an in-memory fake for unit tests (only with
//!   `cfg(test)` or the `test-util` feature, never in a Lambda binary).
//!
//! Writes are streamed: [`S3Store::put_stream`] sends a small body as one
//! PutObject and anything larger as a multipart upload of [`PART_SIZE`]
//! parts, two uploading while the third is read, so memory stays at three
//! parts whatever the object's size. A multipart
//! upload that fails, or whose future is dropped, is aborted, so no orphaned
//! parts are left to bill.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::io::AsyncRead;

use crate::errors::ErrorName;

/// Multipart part size. S3's minimum is 5 MiB; 8 MiB keeps memory low, and
/// 10,000 parts (S3's limit) of it hold 78 GiB, well above
/// `MAX_REPORT_BYTES`'s 5 GiB default.
pub(crate) const PART_SIZE: usize = 8 * 1024 * 1024;
/// S3's smallest part (all but the last).
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;

pub(crate) type ObjectBody = Pin<Box<dyn AsyncRead + Send>>;

/// When a write may happen.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum WriteCondition {
    #[default]
    Always,
    /// Only if the key does not exist (`If-None-Match: *`).
    IfAbsent,
    /// Only if the key's current ETag is this one (`If-Match`).
    IfMatch(String),
}

impl WriteCondition {
    /// The `If-Match` and `If-None-Match` values S3 takes for this condition.
    fn headers(&self) -> (Option<String>, Option<String>) {
        match self {
            WriteCondition::Always => (None, None),
            WriteCondition::IfAbsent => (None, Some("*".into())),
            WriteCondition::IfMatch(etag) => (Some(etag.clone()), None),
        }
    }
}

/// What to write and how it is served.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PutRequest {
    pub bucket: String,
    pub key: String,
    pub content_type: String,
    /// `Content-Encoding` (`gzip` for a compressed download), when any.
    pub content_encoding: Option<String>,
    pub cache_control: Option<String>,
    pub condition: WriteCondition,
    /// User metadata (`x-amz-meta-<name>`), names in lower case.
    pub metadata: Vec<(String, String)>,
}

/// What a HEAD says about an object.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectInfo {
    pub etag: Option<String>,
    pub size: u64,
    pub metadata: HashMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutResult {
    pub bytes: u64,
    pub etag: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Throttling, 5xx, timeouts, connection failures: worth retrying.
    #[error("S3 unavailable ({op} s3://{bucket}/{key}): {reason}")]
    Unavailable {
        op: &'static str,
        bucket: String,
        key: String,
        reason: String,
    },
    /// Access denied, no such bucket or key, bad request.
    #[error("S3 refused {op} s3://{bucket}/{key}: {reason}")]
    Failed {
        op: &'static str,
        bucket: String,
        key: String,
        reason: String,
    },
    /// A conditional write lost: the object changed since it was read.
    #[error("S3 precondition failed on {op} s3://{bucket}/{key}: the object changed")]
    Conflict {
        op: &'static str,
        bucket: String,
        key: String,
    },
    /// Reading the body that was being uploaded failed; the upload was aborted.
    #[error("reading the body for s3://{bucket}/{key} failed: {source}")]
    Body {
        bucket: String,
        key: String,
        source: io::Error,
    },
}

impl StoreError {
    pub fn name(&self) -> ErrorName {
        match self {
            StoreError::Unavailable { .. } => ErrorName::StorageUnavailable,
            StoreError::Failed { .. } => ErrorName::StorageFailed,
            StoreError::Conflict { .. } => ErrorName::StorageConflict,
            StoreError::Body { source, .. } => crate::body::BodyError::classify(source),
        }
    }
}

#[async_trait]
pub trait ObjectReader: Send + Sync {
    /// Opens an object for streaming.
    async fn open(&self, bucket: &str, key: &str) -> Result<ObjectBody, StoreError>;

    /// The object's ETag, size and metadata; `None` when it does not exist.
    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectInfo>, StoreError>;
}

#[async_trait]
pub trait ObjectWriter: Send + Sync {
    /// Streams `body` into an object; on any failure nothing is left behind.
    async fn put_stream(
        &self,
        req: &PutRequest,
        body: &mut (dyn AsyncRead + Send + Unpin),
    ) -> Result<PutResult, StoreError>;

    /// Writes `body`, already in memory, as one object: no copy of it
    /// into a part buffer (an upload of many small pages allocated a part
    /// for each, by perf).
    async fn put_bytes(&self, req: &PutRequest, body: Bytes) -> Result<PutResult, StoreError> {
        self.put_stream(req, &mut &body[..]).await
    }

    /// Copies `source_bucket`/`source_key` into `req`'s object inside the
    /// store (S3's CopyObject: no byte passes through the function, up to
    /// 5 GB), with `req`'s content type, encoding, cache control and
    /// metadata in place of the source's. `req.condition` must be
    /// `Always`.
    async fn copy(
        &self,
        source_bucket: &str,
        source_key: &str,
        req: &PutRequest,
    ) -> Result<(), StoreError>;

    /// Deletes every object whose key starts with `prefix` (a report's
    /// folder, past its retention); returns how many.
    async fn delete_prefix(&self, bucket: &str, prefix: &str) -> Result<u64, StoreError>;
}

mod s3;
pub use s3::{S3Settings, S3Store};

#[cfg(any(test, feature = "test-util"))]
mod memory;
#[cfg(any(test, feature = "test-util"))]
pub use memory::{MemoryStore, StoredObject};
