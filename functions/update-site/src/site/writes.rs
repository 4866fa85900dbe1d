//! The site's bucket as the publish and rollback steps write it: keys under
//! `SITE_PREFIX`, the cache headers, small reads with their ETag, and the one
//! conditional-write loop every shared object (`index.html`, `archive.html`,
//! `feed.xml`) goes through, so that a write never replaces what another run
//! wrote after we looked.

use shared::store::{
    ObjectInfo, ObjectReader, ObjectWriter, PutRequest, StoreError, WriteCondition,
};
use tokio::io::AsyncReadExt;

use crate::{Config, UpdateError};

/// Conditional writes lost before a run gives up (`Site.Superseded`).
pub(super) const ATTEMPTS: usize = 8;

pub(super) struct Site<'a, S> {
    pub(super) store: &'a S,
    pub(super) config: &'a Config,
}

impl<S: ObjectReader + ObjectWriter + 'static> Site<'_, S> {
    pub(super) fn key(&self, rel: &str) -> String {
        format!("{}{rel}", self.config.site_prefix)
    }

    pub(super) fn request(&self, rel: &str, content_type: &str, immutable: bool) -> PutRequest {
        PutRequest {
            bucket: self.config.site_bucket.clone(),
            key: self.key(rel),
            content_type: content_type.into(),
            cache_control: Some(if immutable {
                self.config.archive_cache_control.clone()
            } else {
                self.config.index_cache_control.clone()
            }),
            ..Default::default()
        }
    }

    pub(super) async fn put(&self, req: &PutRequest, body: &[u8]) -> Result<(), StoreError> {
        let body = bytes::Bytes::copy_from_slice(body);
        self.store.put_bytes(req, body).await.map(|_| ())
    }

    /// A small object's bytes and ETag; `None` when it does not exist.
    pub(super) async fn read(
        &self,
        rel: &str,
    ) -> Result<Option<(Vec<u8>, Option<String>)>, StoreError> {
        read_all(self.store, &self.config.site_bucket, &self.key(rel)).await
    }

    /// Writes `body` at `rel` unless `keep` says the object there must stay
    /// (it is newer than ours), conditional on the version just looked at;
    /// looks again when another writer got in between. Returns whether it
    /// wrote.
    pub(super) async fn write_unless(
        &self,
        rel: &str,
        content_type: &str,
        body: &[u8],
        metadata: Vec<(String, String)>,
        keep: impl Fn(&ObjectInfo) -> bool,
    ) -> Result<bool, UpdateError> {
        let key = self.key(rel);
        for _ in 0..ATTEMPTS {
            let condition = match self.store.head(&self.config.site_bucket, &key).await? {
                None => WriteCondition::IfAbsent,
                Some(info) if keep(&info) => return Ok(false),
                Some(info) => info
                    .etag
                    .map_or(WriteCondition::Always, WriteCondition::IfMatch),
            };
            let mut req = self.request(rel, content_type, false);
            req.condition = condition;
            req.metadata = metadata.clone();
            match self.put(&req, body).await {
                Ok(()) => return Ok(true),
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(UpdateError::Superseded { attempts: ATTEMPTS })
    }
}

/// A small object whole, with its ETag; `None` when it does not exist.
pub(super) async fn read_all<S: ObjectReader + ?Sized>(
    store: &S,
    bucket: &str,
    key: &str,
) -> Result<Option<(Vec<u8>, Option<String>)>, StoreError> {
    let Some(info) = store.head(bucket, key).await? else {
        return Ok(None);
    };
    let mut body = store.open(bucket, key).await?;
    let mut bytes = Vec::with_capacity(info.size as usize);
    body.read_to_end(&mut bytes)
        .await
        .map_err(|source| StoreError::Body {
            bucket: bucket.to_string(),
            key: key.to_string(),
            source,
        })?;
    Ok(Some((bytes, info.etag)))
}
