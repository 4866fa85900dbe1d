//! Publishing one report, in the order that never damages what is
//! published: first everything of the report under `reports/<id>/` (pages,
//! data, the gzip download, the manifest: new keys, immutable); then
//! `archive.json` by a conditional write; then `index.html` (only for the
//! newest report), `archive.html` and `feed.xml`, each by a conditional
//! write that never lets an older state replace a newer one. A failure
//! before the archive's write leaves every published page as it was.

use std::io::Write;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use flate2::write::GzEncoder;
use shared::payload::{PublishedSite, StoredReport};
use shared::pipe::{pipe, PipeWriter};
use shared::store::{ObjectReader, ObjectWriter, StoreError, WriteCondition};
use tokio::task::JoinSet;
use tokio_util::io::SyncIoBridge;

use super::archive::{self, Archive, ArchiveEntry};
use super::layout;
use super::pages::{self, PageOptions, SiteMeta, SiteObject};
use super::profile;
use super::scan::{self, Scan};
use super::writes::{Site, ATTEMPTS};
use crate::{panic_message, Config, UpdateError};

/// `index.html`'s metadata names the report it shows, so that a run never
/// replaces a page made from a newer report.
pub const META_CREATED_AT: &str = "report-created-at";
pub const META_REPORT_ID: &str = "report-id";
/// `archive.html` and `feed.xml` carry the archive generation they show.
pub const META_GENERATION: &str = "archive-generation";

/// Pages uploaded at once (and as many rendered ahead): enough to keep S3
/// busy, few enough that a 1 GB report stays within 64 MiB.
const UPLOADS_IN_FLIGHT: usize = 4;

/// Publishes the report `input` as the site's pages.
pub(crate) async fn publish<S>(
    store: Arc<S>,
    config: &Config,
    input: &StoredReport,
    report_id: &str,
    now: DateTime<Utc>,
) -> Result<PublishedSite, UpdateError>
where
    S: ObjectReader + ObjectWriter + 'static,
{
    let site = Site {
        store: store.as_ref(),
        config,
    };
    // Pass 1: the report's shape (types, rows) from the profile
    // DownloadReport made as it stored the report, or streamed from S3.
    let diff_max = config.diff_max_bytes;
    let (scanned, download) =
        match profile::load(store.as_ref(), &input.bucket, &input.key, diff_max).await {
            Ok(scanned) => (scanned, Some(profile::keys(&input.key).gzip)),
            Err(why) => {
                tracing::info!(why, "no usable profile: the report is read twice");
                let csv = store.open(&input.bucket, &input.key).await?;
                let limits = config.limits.clone();
                let scanned = tokio::task::spawn_blocking(move || {
                    scan::scan(SyncIoBridge::new(csv), &limits, diff_max)
                })
                .await
                .map_err(|e| UpdateError::Panicked(panic_message(e)))??;
                (scanned, None)
            }
        };

    let created_at = input
        .created_at
        .to_rfc3339_opts(SecondsFormat::Millis, true);
    let meta = SiteMeta {
        title: config.title.clone(),
        report_id: report_id.to_string(),
        generated_at: now.to_rfc3339_opts(SecondsFormat::Secs, true),
        // A scheduled run publishes about one period after this one.
        next_expected: config.schedule_period_seconds.map(|s| {
            (now + chrono::Duration::seconds(s)).to_rfc3339_opts(SecondsFormat::Secs, true)
        }),
    };
    let opts = PageOptions {
        page_rows: config.page_rows,
        data: scanned.bytes <= config.data_max_bytes,
    };

    // Pass 2: pages as they fill, the gzip download
    // alongside (or copied from beside the CSV).
    let source = Source {
        input,
        download: download.as_deref(),
    };
    let rendered = render_and_upload(&site, store.clone(), source, &scanned, &meta, opts).await?;
    let folder = layout::report_dir(report_id);
    let manifest = pages::manifest(&meta, &created_at, &scanned, &rendered, opts);
    let body = serde_json::to_vec_pretty(&manifest).expect("the manifest serializes");
    site.put(
        &site.request(&format!("{folder}manifest.json"), layout::JSON, true),
        &body,
    )
    .await?;
    if let Some(f) = &scanned.fingerprints {
        let req = site.request(
            &format!("{folder}rows.bin"),
            "application/octet-stream",
            true,
        );
        site.put(&req, &scan::encode(f)).await?;
    }
    for (key, content_type, body) in layout::ASSETS {
        site.put(&site.request(key, content_type, false), body.as_bytes())
            .await?;
    }

    // The archive: the record every derived page is made from.
    let (archive, dropped) = record(
        &site,
        report_id,
        &created_at,
        &now,
        &scanned,
        rendered.pages,
    )
    .await?;
    let index_updated = publish_index(&site, &created_at, report_id, &rendered.index).await?;
    publish_archive_pages(&site, &archive, &config.title).await?;
    // Past retention: deleted only once nothing published links to them.
    for id in dropped {
        let prefix = site.key(&layout::report_dir(&id));
        let n = store.delete_prefix(&config.site_bucket, &prefix).await?;
        tracing::info!(report_id = id, objects = n, "report past retention deleted");
    }

    Ok(PublishedSite {
        report_id: report_id.to_string(),
        bucket: config.site_bucket.clone(),
        index_key: config.index_key(),
        archive_key: site.key(&format!("{folder}{}", layout::page_file(1))),
        rows: scanned.rows,
        bytes: rendered.bytes_out,
        index_updated,
    })
}

/// The stored report, and its gzip download if DownloadReport made it.
struct Source<'a> {
    input: &'a StoredReport,
    download: Option<&'a str>,
}

/// The gzip download as the renderer writes it: nothing when it is copied.
struct Download(Option<GzEncoder<PipeWriter>>);

impl Write for Download {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.0 {
            Some(gz) => gz.write(buf),
            None => Ok(buf.len()),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.as_mut().map_or(Ok(()), Write::flush)
    }
}

async fn render_and_upload<S>(
    site: &Site<'_, S>,
    store: Arc<S>,
    source: Source<'_>,
    scanned: &Scan,
    meta: &SiteMeta,
    opts: PageOptions,
) -> Result<pages::Rendered, UpdateError>
where
    S: ObjectReader + ObjectWriter + 'static,
{
    let input = source.input;
    let csv = store.open(&input.bucket, &input.key).await?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<SiteObject>(UPLOADS_IN_FLIGHT);
    // Made here only without a profile; else copied inside S3 at the end.
    let (gz, gz_body) = match source.download {
        Some(_) => (Download(None), None),
        None => {
            let (writer, body) = pipe(8);
            let gz = GzEncoder::new(writer, flate2::Compression::fast());
            (Download(Some(gz)), Some(body))
        }
    };
    let (scanned2, meta2, limits) = (scanned.clone(), meta.clone(), site.config.limits.clone());
    let renderer = tokio::task::spawn_blocking(move || {
        let mut emit = |o: SiteObject| {
            tx.blocking_send(o)
                .map_err(|_| std::io::Error::other("the upload stopped"))
        };
        let (rendered, gz) = pages::render(
            SyncIoBridge::new(csv),
            gz,
            &scanned2,
            &meta2,
            opts,
            &limits,
            &mut emit,
        )?;
        // Only a complete download ends the stream cleanly.
        if let Some(gz) = gz.0 {
            let writer = gz.finish().map_err(crate::RenderError::Write)?;
            writer.finish().map_err(crate::RenderError::Write)?;
        }
        Ok::<_, crate::RenderError>(rendered)
    });
    let folder = layout::report_dir(&meta.report_id);
    let mut gz_req = site.request(
        &format!("{folder}{}", layout::DOWNLOAD),
        "text/csv; charset=utf-8",
        true,
    );
    gz_req.content_encoding = Some("gzip".into());
    let gz_upload = async {
        match gz_body {
            Some(mut body) => store.put_stream(&gz_req, &mut body).await.map(|_| ()),
            None => Ok(()),
        }
    };
    let pages_upload = async {
        let mut running = JoinSet::new();
        let mut first_error: Option<StoreError> = None;
        while let Some(o) = rx.recv().await {
            let immutable = true;
            let req = site.request(&o.key, o.content_type, immutable);
            let store = store.clone();
            running.spawn(async move {
                let body = bytes::Bytes::from(o.body);
                store.put_bytes(&req, body).await.map(|_| ())
            });
            while running.len() >= UPLOADS_IN_FLIGHT {
                if let Some(Ok(Err(e))) = running.join_next().await {
                    first_error.get_or_insert(e);
                }
            }
            if first_error.is_some() {
                // Dropping the receiver stops the renderer.
                break;
            }
        }
        drop(rx);
        while let Some(r) = running.join_next().await {
            if let Ok(Err(e)) = r {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    };
    let (gz_done, pages_done) = tokio::join!(gz_upload, pages_upload);
    let rendered = renderer
        .await
        .map_err(|e| UpdateError::Panicked(panic_message(e)))?;
    // A render error explains an upload failure (the pipe reported it), so it comes first.
    let rendered = rendered?;
    pages_done?;
    gz_done?;
    if let Some(key) = source.download {
        // Inside S3, once every page is there: a run that fails before
        // leaves no download of its own.
        store.copy(&input.bucket, key, &gz_req).await?;
    }
    Ok(rendered)
}

/// Adds this report to `archive.json` (conditional on the version read, so
/// concurrent runs each add theirs) and drops the reports past retention;
/// returns the archive as written and the ids it dropped.
async fn record<S>(
    site: &Site<'_, S>,
    report_id: &str,
    created_at: &str,
    now: &DateTime<Utc>,
    scanned: &Scan,
    pages: u64,
) -> Result<(Archive, Vec<String>), UpdateError>
where
    S: ObjectReader + ObjectWriter + 'static,
{
    for _ in 0..ATTEMPTS {
        let (mut archive, condition) = match site.read(layout::ARCHIVE_JSON).await? {
            Some((bytes, etag)) => (
                serde_json::from_slice::<Archive>(&bytes).unwrap_or_default(),
                etag.map_or(WriteCondition::Always, WriteCondition::IfMatch),
            ),
            None => (Archive::default(), WriteCondition::IfAbsent),
        };
        let before = archive.before(created_at).cloned();
        let mut changes = None;
        if let (Some(prev), Some(now_f)) = (&before, &scanned.fingerprints) {
            let rel = format!("{}rows.bin", layout::report_dir(&prev.report_id));
            if let Some((bytes, _)) = site.read(&rel).await? {
                changes = scan::decode(&bytes).map(|old| scan::compare(&old, now_f));
            }
        }
        archive.insert(ArchiveEntry {
            report_id: report_id.to_string(),
            created_at: created_at.to_string(),
            published_at: now.to_rfc3339_opts(SecondsFormat::Secs, true),
            rows: scanned.rows,
            columns: scanned.header.len(),
            bytes: scanned.bytes,
            pages,
            key: scanned.header.first().cloned().unwrap_or_default(),
            changes,
            compared_with: changes.and(before.map(|b| b.report_id)),
        });
        let dropped = archive.retain_newest(site.config.keep_reports);
        archive.title = site.config.title.clone();
        let mut req = site.request(layout::ARCHIVE_JSON, layout::JSON, false);
        req.condition = condition;
        let body = serde_json::to_vec_pretty(&archive).expect("the archive serializes");
        match site.put(&req, &body).await {
            Ok(()) => return Ok((archive, dropped)),
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(UpdateError::Superseded { attempts: ATTEMPTS })
}

/// `archive.html` and `feed.xml` made from `archive`, each written unless
/// a newer generation of the archive is already there.
pub(super) async fn publish_archive_pages<S>(
    site: &Site<'_, S>,
    archive: &Archive,
    title: &str,
) -> Result<(), UpdateError>
where
    S: ObjectReader + ObjectWriter + 'static,
{
    let html = archive::archive_html(archive, title)
        .map_err(|e| UpdateError::Input(format!("rendering the archive: {e}")))?;
    let feed = archive::feed_xml(archive, title, &feed_id(site.config))
        .map_err(|e| UpdateError::Input(format!("rendering the feed: {e}")))?;
    let atom = "application/atom+xml; charset=utf-8";
    publish_derived(
        site,
        layout::ARCHIVE_HTML,
        layout::HTML,
        &html,
        archive.generation,
    )
    .await?;
    publish_derived(site, layout::FEED, atom, &feed, archive.generation).await
}

/// The feed's stable id: the site's bucket and prefix.
fn feed_id(config: &Config) -> String {
    format!(
        "urn:report-pipeline:{}:{}",
        config.site_bucket, config.site_prefix
    )
}

/// Writes `body` over `index.html` unless the page there comes from a newer
/// report. Returns whether it changed.
async fn publish_index<S>(
    site: &Site<'_, S>,
    created_at: &str,
    report_id: &str,
    body: &[u8],
) -> Result<bool, UpdateError>
where
    S: ObjectReader + ObjectWriter + 'static,
{
    let ours = DateTime::parse_from_rfc3339(created_at).ok();
    site.write_unless(
        layout::INDEX,
        layout::HTML,
        body,
        index_metadata(created_at, report_id),
        |theirs| {
            let theirs = theirs
                .metadata
                .get(META_CREATED_AT)
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok());
            theirs.is_some() && theirs > ours
        },
    )
    .await
}

/// `index.html`'s metadata: the report it shows.
pub(super) fn index_metadata(created_at: &str, report_id: &str) -> Vec<(String, String)> {
    vec![
        (META_CREATED_AT.to_string(), created_at.to_string()),
        (META_REPORT_ID.to_string(), report_id.to_string()),
    ]
}

/// Writes a page made from the archive unless the one there was made from
/// a newer generation of it (or this one).
async fn publish_derived<S>(
    site: &Site<'_, S>,
    rel: &str,
    content_type: &str,
    body: &str,
    generation: u64,
) -> Result<(), UpdateError>
where
    S: ObjectReader + ObjectWriter + 'static,
{
    site.write_unless(
        rel,
        content_type,
        body.as_bytes(),
        vec![(META_GENERATION.to_string(), generation.to_string())],
        |theirs| {
            theirs
                .metadata
                .get(META_GENERATION)
                .and_then(|g| g.parse::<u64>().ok())
                .unwrap_or(0)
                >= generation
        },
    )
    .await
    .map(|_| ())
}
