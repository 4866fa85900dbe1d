//! # UpdateSite
//!
//! The last step: reads the stored CSV from S3, renders it as an HTML table
//! ([`render`]) and publishes it to the site bucket.
//!
//! The page is streamed: S3 GetObject → CSV reader → askama → a multipart
//! upload to `archive/<report_id>.html`. Only once that whole page is stored
//! is it copied over `index.html`, with a conditional write that never
//! replaces a page from a newer report, so a failure at any point leaves the
//! published page as it was and overlapping runs cannot go back in time. Memory stays at the upload's
//! parts in flight (three of 8 MiB, see `shared::store`) plus one chunk of
//! rows, whatever the report's size.

pub mod render;

use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use shared::config::{self, ConfigError, Lookup};
use shared::errors::{ErrorName, NamedError};
use shared::function::{Function, InitError};
use shared::payload::{self, PublishedSite, StoredReport};
use shared::store::{
    ObjectReader, ObjectWriter, PutRequest, S3Settings, S3Store, StoreError, WriteCondition,
};
use tokio_util::io::SyncIoBridge;

pub use render::{render_csv, Limits, PageMeta, RenderError, RenderStats};

/// UpdateSite's settings, read once at cold start.
#[derive(Debug, Clone)]
pub struct Config {
    pub site_bucket: String,
    /// Prefix of every site key, e.g. `""` or `reports-site/`.
    pub site_prefix: String,
    pub title: String,
    pub index_cache_control: String,
    pub archive_cache_control: String,
    pub limits: Limits,
}

impl Config {
    pub fn from_lookup(env: &dyn Lookup) -> Result<Self, ConfigError> {
        Ok(Config {
            site_bucket: config::required(env, "SITE_BUCKET")?,
            site_prefix: config::string_or(env, "SITE_PREFIX", ""),
            title: config::string_or(env, "SITE_TITLE", "Report"),
            // Short, so readers see a new report within a minute of publishing.
            index_cache_control: config::string_or(
                env,
                "SITE_INDEX_CACHE_CONTROL",
                "public, max-age=60",
            ),
            // An archived page never changes once published.
            archive_cache_control: config::string_or(
                env,
                "SITE_ARCHIVE_CACHE_CONTROL",
                "public, max-age=86400",
            ),
            limits: Limits::from_lookup(env)?,
        })
    }

    pub fn index_key(&self) -> String {
        format!("{}index.html", self.site_prefix)
    }

    pub fn archive_key(&self, report_id: &str) -> String {
        format!("{}archive/{report_id}.html", self.site_prefix)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("invalid input: {0}")]
    Input(String),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Another run kept publishing `index.html` between our look and our write.
    #[error("index.html kept changing under this run ({attempts} conditional writes lost); a concurrent run published instead")]
    Superseded { attempts: usize },
    /// A bug in the renderer; the published site is untouched.
    #[error("the renderer panicked: {0}")]
    Panicked(String),
}

impl NamedError for UpdateError {
    fn name(&self) -> ErrorName {
        match self {
            UpdateError::Input(_) => ErrorName::InputInvalid,
            UpdateError::Render(e) => e.name(),
            UpdateError::Store(e) => e.name(),
            UpdateError::Superseded { .. } => ErrorName::SiteSuperseded,
            UpdateError::Panicked(_) => ErrorName::FunctionPanicked,
        }
    }
}

shared::impl_diagnostic!(UpdateError);

const HTML: &str = "text/html; charset=utf-8";

/// Handles one UpdateSite invocation.
pub async fn handle<S>(
    store: Arc<S>,
    config: &Config,
    event: Value,
    now: DateTime<Utc>,
) -> Result<PublishedSite, UpdateError>
where
    S: ObjectReader + ObjectWriter + 'static,
{
    let input: StoredReport = payload::parse_input(event).map_err(UpdateError::Input)?;
    let report_id = payload::check_report_id(&input.report_id)
        .map_err(UpdateError::Input)?
        .to_string();
    let meta = PageMeta {
        title: config.title.clone(),
        report_id: report_id.clone(),
        generated_at: now.to_rfc3339_opts(SecondsFormat::Secs, true),
    };
    let archive = PutRequest {
        bucket: config.site_bucket.clone(),
        key: config.archive_key(&report_id),
        content_type: HTML.into(),
        cache_control: Some(config.archive_cache_control.clone()),
        ..Default::default()
    };

    let csv = store.open(&input.bucket, &input.key).await?;
    let (writer, mut page) = shared::pipe::pipe(8);
    let limits = config.limits.clone();
    let renderer = tokio::task::spawn_blocking(move || {
        let mut writer = writer;
        let stats = render_csv(SyncIoBridge::new(csv), &mut writer, &meta, &limits)?;
        // Only a complete page ends the stream cleanly; on any error above the
        // writer is dropped unfinished and the upload fails and is aborted.
        writer.finish().map_err(RenderError::Write)?;
        Ok::<_, RenderError>(stats)
    });
    let upload = store.put_stream(&archive, &mut page).await;
    let rendered = renderer
        .await
        .map_err(|e| UpdateError::Panicked(panic_message(e)))?;
    // A render error explains an upload failure (the pipe reported it), so it comes first.
    let stats = rendered?;
    let stored = upload?;
    tracing::info!(
        report_id,
        rows = stats.rows,
        bytes = stored.bytes,
        key = archive.key,
        "page rendered"
    );

    let index_updated = publish_index(
        store.as_ref(),
        config,
        &archive,
        input.created_at,
        &report_id,
    )
    .await?;
    if index_updated {
        tracing::info!(report_id, key = config.index_key(), "index published");
    } else {
        tracing::warn!(
            report_id,
            "index.html already shows a newer report; left it, this page is archived only"
        );
    }

    Ok(PublishedSite {
        report_id,
        bucket: config.site_bucket.clone(),
        index_key: config.index_key(),
        archive_key: archive.key,
        rows: stats.rows,
        bytes: stored.bytes,
        index_updated,
    })
}

/// `index.html`'s metadata names the report it shows, so that a run never
/// replaces a page made from a newer report.
pub(crate) const META_CREATED_AT: &str = "report-created-at";
pub(crate) const META_REPORT_ID: &str = "report-id";

/// Copies the archived page over `index.html` unless the page there comes
/// from a newer report. The write is conditional on the ETag just read
/// (`If-Match`, or `If-None-Match: *` when there is no page yet), so a run
/// that overlaps another cannot overwrite what the other published between
/// our look and our write: it looks again. Returns whether the index changed.
async fn publish_index<S>(
    store: &S,
    config: &Config,
    archive: &PutRequest,
    created_at: DateTime<Utc>,
    report_id: &str,
) -> Result<bool, UpdateError>
where
    S: ObjectReader + ObjectWriter,
{
    const ATTEMPTS: usize = 4;
    for _ in 0..ATTEMPTS {
        let current = store.head(&config.site_bucket, &config.index_key()).await?;
        let condition = match &current {
            None => WriteCondition::IfAbsent,
            Some(info) => {
                let theirs = info
                    .metadata
                    .get(META_CREATED_AT)
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok());
                if theirs.is_some_and(|t| t > created_at) {
                    return Ok(false);
                }
                info.etag
                    .clone()
                    .map_or(WriteCondition::Always, WriteCondition::IfMatch)
            }
        };
        let index = PutRequest {
            bucket: config.site_bucket.clone(),
            key: config.index_key(),
            content_type: HTML.into(),
            cache_control: Some(config.index_cache_control.clone()),
            condition,
            metadata: vec![
                (
                    META_CREATED_AT.to_string(),
                    created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
                ),
                (META_REPORT_ID.to_string(), report_id.to_string()),
            ],
        };
        // Streamed from the archived copy: S3 has no conditional CopyObject.
        let mut page = store.open(&archive.bucket, &archive.key).await?;
        match store.put_stream(&index, &mut page).await {
            Ok(_) => return Ok(true),
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(UpdateError::Superseded { attempts: ATTEMPTS })
}

/// The message a panic carried, when it was text.
fn panic_message(e: tokio::task::JoinError) -> String {
    match e.try_into_panic() {
        Ok(p) => p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into()),
        Err(e) => e.to_string(),
    }
}

/// UpdateSite as deployed: its settings and the S3 client, built once.
pub struct UpdateSite {
    config: Config,
    store: Arc<S3Store>,
}

#[async_trait::async_trait]
impl Function for UpdateSite {
    const NAME: &'static str = "UpdateSite";
    type Output = PublishedSite;
    type Error = UpdateError;

    async fn build(env: &(dyn Lookup + Sync)) -> Result<Self, InitError> {
        let config = Config::from_lookup(env)?;
        let store = Arc::new(S3Store::new(S3Settings::from_lookup(env)?.client().await));
        Ok(UpdateSite { config, store })
    }

    async fn handle(&self, event: Value) -> Result<PublishedSite, UpdateError> {
        handle(self.store.clone(), &self.config, event, Utc::now()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use shared::store::MemoryStore;
    use std::collections::HashMap;

    fn config() -> Config {
        Config::from_lookup(&HashMap::from([
            ("SITE_BUCKET", "site"),
            ("SITE_TITLE", "Daily"),
        ]))
        .unwrap()
    }

    fn event() -> Value {
        json!({"report_id": "rpt-1", "created_at": "2026-01-01T00:00:00Z", "bucket": "reports", "key": "reports/rpt-1.csv", "bytes": 10})
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn given_a_stored_csv_when_handled_then_index_and_archive_are_published() {
        let store = Arc::new(MemoryStore::default());
        store.insert("reports", "reports/rpt-1.csv", "a,b\n1,<i>2</i>\n");
        let out = handle(store.clone(), &config(), event(), Utc::now())
            .await
            .unwrap();
        assert_eq!(out.rows, 1);
        assert_eq!(out.index_key, "index.html");
        let index = store.get("site", "index.html").unwrap();
        assert_eq!(index.content_type, HTML);
        assert_eq!(index.cache_control.as_deref(), Some("public, max-age=60"));
        let html = String::from_utf8(index.data).unwrap();
        assert!(
            html.contains("<td>1</td>") && !html.contains("<i>2</i>"),
            "{html}"
        );
        assert_eq!(
            store.get("site", "archive/rpt-1.html").unwrap().data,
            html.as_bytes()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn given_a_ragged_csv_when_handled_then_csv_malformed_and_nothing_is_published() {
        let store = Arc::new(MemoryStore::default());
        store.insert("reports", "reports/rpt-1.csv", "a,b\n1\n");
        store.insert("site", "index.html", "previous page");
        let err = handle(store.clone(), &config(), event(), Utc::now())
            .await
            .unwrap_err();
        assert_eq!(err.name(), ErrorName::CsvMalformed);
        assert_eq!(
            store.get("site", "index.html").unwrap().data,
            b"previous page"
        );
        assert!(store.get("site", "archive/rpt-1.html").is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn given_a_payload_missing_the_key_then_input_invalid_naming_the_field() {
        let store = Arc::new(MemoryStore::default());
        let err = handle(
            store,
            &config(),
            json!({"report_id": "r", "bucket": "b"}),
            Utc::now(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.name(), ErrorName::InputInvalid);
        assert!(err.to_string().contains("missing field"), "{err}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn given_a_missing_object_then_storage_failed() {
        let store = Arc::new(MemoryStore::default());
        let err = handle(store, &config(), event(), Utc::now())
            .await
            .unwrap_err();
        assert_eq!(err.name(), ErrorName::StorageFailed);
    }

    #[test]
    fn missing_site_bucket_names_the_variable() {
        let err = Config::from_lookup(&HashMap::<&str, &str>::new()).unwrap_err();
        assert!(err.to_string().contains("SITE_BUCKET"));
    }
}
