//! An in-memory object store for unit tests: conditional writes and ETags
//! as S3 has them, no network. Built only for tests (`cfg(test)` or the
//! `test-util` feature).

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncReadExt};

use super::{
    ObjectBody, ObjectInfo, ObjectReader, ObjectWriter, PutRequest, PutResult, StoreError,
    WriteCondition,
};

/// An in-memory object store for unit tests. Objects are `(headers, bytes)`.
#[derive(Clone, Default)]
pub struct MemoryStore {
    objects: Arc<Mutex<HashMap<(String, String), StoredObject>>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub content_type: String,
    pub content_encoding: Option<String>,
    pub cache_control: Option<String>,
    pub metadata: Vec<(String, String)>,
    pub data: Vec<u8>,
    pub etag: String,
}

impl MemoryStore {
    pub fn insert(&self, bucket: &str, key: &str, data: impl Into<Vec<u8>>) {
        let data = data.into();
        let etag = format!("\"{:x}\"", fnv(&data));
        self.objects.lock().unwrap().insert(
            (bucket.into(), key.into()),
            StoredObject {
                content_type: "application/octet-stream".into(),
                content_encoding: None,
                cache_control: None,
                metadata: Vec::new(),
                data,
                etag,
            },
        );
    }

    pub fn get(&self, bucket: &str, key: &str) -> Option<StoredObject> {
        self.objects
            .lock()
            .unwrap()
            .get(&(bucket.to_string(), key.to_string()))
            .cloned()
    }

    pub fn keys(&self) -> Vec<(String, String)> {
        let mut keys: Vec<_> = self.objects.lock().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    }

    /// `data` stored as `req`'s object, with `req`'s headers.
    fn write(&self, req: &PutRequest, data: Vec<u8>, etag: String) {
        self.objects.lock().unwrap().insert(
            (req.bucket.clone(), req.key.clone()),
            StoredObject {
                content_type: req.content_type.clone(),
                content_encoding: req.content_encoding.clone(),
                cache_control: req.cache_control.clone(),
                metadata: req.metadata.clone(),
                data,
                etag,
            },
        );
    }

    fn check(&self, req: &PutRequest, op: &'static str) -> Result<(), StoreError> {
        let current = self.get(&req.bucket, &req.key);
        let ok = match (&req.condition, current) {
            (WriteCondition::Always, _) => true,
            (WriteCondition::IfAbsent, existing) => existing.is_none(),
            (WriteCondition::IfMatch(etag), Some(obj)) => &obj.etag == etag,
            (WriteCondition::IfMatch(_), None) => false,
        };
        if ok {
            Ok(())
        } else {
            Err(StoreError::Conflict {
                op,
                bucket: req.bucket.clone(),
                key: req.key.clone(),
            })
        }
    }
}

fn no_such_key(op: &'static str, bucket: &str, key: &str) -> StoreError {
    StoreError::Failed {
        op,
        bucket: bucket.into(),
        key: key.into(),
        reason: "NoSuchKey".into(),
    }
}

fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x100000001b3)
    })
}

#[async_trait]
impl ObjectReader for MemoryStore {
    async fn open(&self, bucket: &str, key: &str) -> Result<ObjectBody, StoreError> {
        match self.get(bucket, key) {
            Some(obj) => Ok(Box::pin(io::Cursor::new(obj.data))),
            None => Err(no_such_key("GetObject", bucket, key)),
        }
    }

    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectInfo>, StoreError> {
        Ok(self.get(bucket, key).map(|o| ObjectInfo {
            etag: Some(o.etag),
            size: o.data.len() as u64,
            metadata: o.metadata.into_iter().collect(),
        }))
    }
}

#[async_trait]
impl ObjectWriter for MemoryStore {
    async fn put_stream(
        &self,
        req: &PutRequest,
        body: &mut (dyn AsyncRead + Send + Unpin),
    ) -> Result<PutResult, StoreError> {
        let mut data = Vec::new();
        // Like S3, nothing is stored when the body fails half-way.
        body.read_to_end(&mut data)
            .await
            .map_err(|source| StoreError::Body {
                bucket: req.bucket.clone(),
                key: req.key.clone(),
                source,
            })?;
        self.check(req, "PutObject")?;
        let etag = format!("\"{:x}\"", fnv(&data));
        let bytes = data.len() as u64;
        self.write(req, data, etag.clone());
        Ok(PutResult {
            bytes,
            etag: Some(etag),
        })
    }

    async fn copy(
        &self,
        source_bucket: &str,
        source_key: &str,
        req: &PutRequest,
    ) -> Result<(), StoreError> {
        let source = self
            .get(source_bucket, source_key)
            .ok_or_else(|| no_such_key("CopyObject", source_bucket, source_key))?;
        self.check(req, "CopyObject")?;
        // Like S3's: the source's bytes and ETag, the request's headers.
        self.write(req, source.data, source.etag);
        Ok(())
    }

    async fn delete_prefix(&self, bucket: &str, prefix: &str) -> Result<u64, StoreError> {
        let mut objects = self.objects.lock().unwrap();
        let before = objects.len();
        objects.retain(|(b, k), _| !(b == bucket && k.starts_with(prefix)));
        Ok((before - objects.len()) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::ErrorName;

    #[tokio::test]
    async fn memory_store_refuses_a_conditional_write_that_lost() {
        let store = MemoryStore::default();
        store.insert("b", "k", "old");
        let req = PutRequest {
            bucket: "b".into(),
            key: "k".into(),
            condition: WriteCondition::IfAbsent,
            ..Default::default()
        };
        let err = store
            .put_stream(&req, &mut io::Cursor::new(b"new".to_vec()))
            .await
            .unwrap_err();
        assert_eq!(err.name(), ErrorName::StorageConflict);
        assert_eq!(store.get("b", "k").unwrap().data, b"old");
    }
}
