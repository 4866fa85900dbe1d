//! Undoing a bad publish: the site pointed back at the previous (or a named)
//! report of the archive, with the same conditional writes as a publish.
//!
//! The order keeps a rollback that fails half-way safe to run again: first
//! `archive.json` (the reports newer than the target move to `withdrawn`, so
//! they leave the archive page and the feed and the next report is compared
//! with the target), then `index.html` (the target's first page, its links
//! rewritten for the site's root), then `archive.html` and `feed.xml`. The
//! withdrawn reports' objects stay where they are; the next scheduled report
//! publishes over the rollback as usual.

use serde::Serialize;
use shared::store::{ObjectReader, ObjectWriter, StoreError, WriteCondition};

use super::archive::{Archive, ArchiveEntry};
use super::layout;
use super::publish::{index_metadata, publish_archive_pages, META_REPORT_ID};
use super::writes::{Site, ATTEMPTS};
use crate::{Config, UpdateError};

/// What a rollback did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RolledBack {
    /// The report `index.html` now shows.
    pub report_id: String,
    /// The report it showed before.
    pub from: Option<String>,
    /// Reports taken off the archive, newest first.
    pub withdrawn: Vec<String>,
    pub index_key: String,
}

/// Points the site at `to`, or at the report before the one `index.html`
/// shows. Refuses (as `Input.Invalid`) when there is no such report.
pub async fn rollback<S>(
    store: &S,
    config: &Config,
    to: Option<&str>,
) -> Result<RolledBack, UpdateError>
where
    S: ObjectReader + ObjectWriter + 'static,
{
    let site = Site { store, config };
    let index_key = site.key(layout::INDEX);
    let shown = store
        .head(&config.site_bucket, &index_key)
        .await?
        .and_then(|info| info.metadata.get(META_REPORT_ID).cloned());

    let (archive, target, withdrawn) = withdraw(&site, shown.as_deref(), to).await?;

    // The target's first page, as the site's root shows it.
    let page1 = format!(
        "{}{}",
        layout::report_dir(&target.report_id),
        layout::page_file(1)
    );
    let Some((page, _)) = site.read(&page1).await? else {
        return Err(UpdateError::Input(format!(
            "report {} is in the archive but its first page {} is missing",
            target.report_id,
            site.key(&page1)
        )));
    };
    let page = String::from_utf8(page)
        .map_err(|_| UpdateError::Input(format!("{} is not UTF-8", site.key(&page1))))?;
    let index = index_from_first_page(&page, &target.report_id);
    site.write_unless(
        layout::INDEX,
        layout::HTML,
        index.as_bytes(),
        index_metadata(&target.created_at, &target.report_id),
        |_| false,
    )
    .await?;

    let title = if archive.title.is_empty() {
        &config.title
    } else {
        &archive.title
    };
    publish_archive_pages(&site, &archive, title).await?;

    Ok(RolledBack {
        report_id: target.report_id,
        from: shown,
        withdrawn,
        index_key,
    })
}

/// Moves the reports newer than the target into `withdrawn` by a
/// conditional write of `archive.json`; returns the archive as written,
/// the target and the ids withdrawn.
async fn withdraw<S>(
    site: &Site<'_, S>,
    shown: Option<&str>,
    to: Option<&str>,
) -> Result<(Archive, ArchiveEntry, Vec<String>), UpdateError>
where
    S: ObjectReader + ObjectWriter + 'static,
{
    for _ in 0..ATTEMPTS {
        let Some((bytes, etag)) = site.read(layout::ARCHIVE_JSON).await? else {
            return Err(UpdateError::Input(format!(
                "nothing to roll back to: {} does not exist (no report was published)",
                site.key(layout::ARCHIVE_JSON)
            )));
        };
        let mut archive: Archive = serde_json::from_slice(&bytes).map_err(|e| {
            UpdateError::Input(format!(
                "{} is not an archive: {e}",
                site.key(layout::ARCHIVE_JSON)
            ))
        })?;
        let target = choose(&archive, shown, to)?;
        let withdrawn = archive.withdraw_newer_than(&target.report_id);
        let mut req = site.request(layout::ARCHIVE_JSON, layout::JSON, false);
        req.condition = etag.map_or(WriteCondition::Always, WriteCondition::IfMatch);
        let body = serde_json::to_vec_pretty(&archive).expect("the archive serializes");
        match site.put(&req, &body).await {
            Ok(()) => return Ok((archive, target, withdrawn)),
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(UpdateError::Superseded { attempts: ATTEMPTS })
}

/// The report to show: `to` when named, else the newest one older than the
/// report `index.html` shows (which may already be withdrawn, when a
/// rollback is run again after failing half-way).
fn choose(
    archive: &Archive,
    shown: Option<&str>,
    to: Option<&str>,
) -> Result<ArchiveEntry, UpdateError> {
    let listed = || {
        archive
            .reports
            .iter()
            .map(|e| e.report_id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(id) = to {
        return archive
            .reports
            .iter()
            .find(|e| e.report_id == id)
            .cloned()
            .ok_or_else(|| {
                UpdateError::Input(format!(
                    "report {id} is not in the archive (it has: {})",
                    listed()
                ))
            });
    }
    let shown_at = shown.and_then(|id| {
        archive
            .reports
            .iter()
            .chain(&archive.withdrawn)
            .find(|e| e.report_id == id)
            .map(|e| e.created_at.clone())
    });
    let previous = match shown_at {
        Some(at) => archive.before(&at),
        // index.html names no report we know: go back from the newest.
        None => archive.reports.get(1),
    };
    previous.cloned().ok_or_else(|| {
        UpdateError::Input(format!(
            "no earlier report to roll back to (the archive has: {})",
            listed()
        ))
    })
}

/// A report's first page as `index.html` shows it: the same page with its
/// links seen from the site's root instead of the report's folder. Only our
/// templates write attributes (cell text is escaped, so `href="` never comes
/// from data); a test checks the result equals the renderer's own index.
pub fn index_from_first_page(page: &str, report_id: &str) -> String {
    let folder = layout::report_dir(report_id);
    let mut out = String::with_capacity(page.len() + 1024);
    let mut rest = page;
    while let Some((at, attr)) = ["href=\"", "src=\"", "data-manifest=\""]
        .iter()
        .filter_map(|a| rest.find(a).map(|i| (i, *a)))
        .min()
    {
        let value_at = at + attr.len();
        out.push_str(&rest[..value_at]);
        rest = &rest[value_at..];
        if let Some(to_root) = rest.strip_prefix(layout::REPORT_TO_ROOT) {
            rest = to_root;
        } else if !is_absolute(rest) {
            out.push_str(&folder);
        }
    }
    out.push_str(rest);
    out
}

fn is_absolute(rest: &str) -> bool {
    let value = &rest[..rest.find('"').unwrap_or(rest.len())];
    value.starts_with('/') || value.starts_with('#') || value.contains(':')
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use chrono::Utc;
    use serde_json::json;
    use shared::store::MemoryStore;

    use super::*;

    fn config() -> Config {
        Config::from_lookup(&HashMap::from([
            ("SITE_BUCKET", "site"),
            ("SITE_TITLE", "Daily"),
        ]))
        .unwrap()
    }

    fn text(store: &MemoryStore, key: &str) -> String {
        String::from_utf8(store.get("site", key).unwrap().data).unwrap()
    }

    fn archive(store: &MemoryStore) -> Archive {
        serde_json::from_slice(&store.get("site", layout::ARCHIVE_JSON).unwrap().data).unwrap()
    }

    /// Publishes `rpt-0`, `rpt-1`… one a day; returns each index.html as published.
    async fn publish(store: &Arc<MemoryStore>, csvs: &[&str]) -> Vec<String> {
        let mut indexes = Vec::new();
        for (i, csv) in csvs.iter().enumerate() {
            let id = format!("rpt-{i}");
            store.insert("reports", &format!("reports/{id}.csv"), *csv);
            let event = json!({"report_id": id, "created_at": format!("2026-01-0{}T00:00:00Z", i + 1),
                "bucket": "reports", "key": format!("reports/{id}.csv"), "bytes": 1});
            crate::handle(store.clone(), &config(), event, Utc::now())
                .await
                .unwrap();
            indexes.push(text(store, layout::INDEX));
        }
        indexes
    }

    const CSVS: [&str; 3] = [
        "k,v\n1,a\n2,b\n",
        "k,v\n1,a\n2,x\n3,c\n",
        "k,v\n3,<b>bad</b>\n",
    ];

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn given_three_reports_when_rolled_back_then_the_site_is_as_the_second_publish_left_it_less_the_third(
    ) {
        // GIVEN three published reports, the third bad
        let store = Arc::new(MemoryStore::default());
        let indexes = publish(&store, &CSVS).await;
        // WHEN rolled back to the previous report
        let done = rollback(store.as_ref(), &config(), None).await.unwrap();
        // THEN index.html is byte for byte the page the second publish wrote
        assert_eq!(done.report_id, "rpt-1");
        assert_eq!(done.from.as_deref(), Some("rpt-2"));
        assert_eq!(done.withdrawn, ["rpt-2"]);
        assert_eq!(text(&store, layout::INDEX), indexes[1]);
        let meta = store.get("site", layout::INDEX).unwrap().metadata;
        assert!(
            meta.contains(&(META_REPORT_ID.to_string(), "rpt-1".to_string())),
            "{meta:?}"
        );
        // AND the archive, its page and the feed no longer list the bad report
        let a = archive(&store);
        let ids: Vec<&str> = a.reports.iter().map(|e| e.report_id.as_str()).collect();
        assert_eq!(ids, ["rpt-1", "rpt-0"]);
        assert_eq!(a.withdrawn[0].report_id, "rpt-2");
        assert_eq!(a.title, "Daily");
        for key in [layout::ARCHIVE_HTML, layout::FEED] {
            let body = text(&store, key);
            assert!(
                !body.contains("rpt-2") && body.contains("rpt-1"),
                "{key}: {body}"
            );
        }
        // AND the bad report's objects are kept
        assert!(store.get("site", "reports/rpt-2/page-1.html").is_some());

        // WHEN rolled back again THEN the site goes one report further back
        let again = rollback(store.as_ref(), &config(), None).await.unwrap();
        assert_eq!(
            (again.report_id.as_str(), again.withdrawn),
            ("rpt-0", vec!["rpt-1".to_string()])
        );
        assert_eq!(text(&store, layout::INDEX), indexes[0]);

        // WHEN the next report is published THEN it is the latest, compared with the report shown
        store.insert("reports", "reports/rpt-9.csv", "k,v\n1,a\n2,b\n4,d\n");
        let event = json!({"report_id": "rpt-9", "created_at": "2026-01-09T00:00:00Z",
            "bucket": "reports", "key": "reports/rpt-9.csv", "bytes": 1});
        crate::handle(store.clone(), &config(), event, Utc::now())
            .await
            .unwrap();
        let a = archive(&store);
        assert_eq!(a.reports[0].compared_with.as_deref(), Some("rpt-0"));
        assert!(text(&store, layout::INDEX).contains("rpt-9"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn given_a_named_report_when_rolled_back_then_every_newer_report_is_withdrawn() {
        let store = Arc::new(MemoryStore::default());
        let indexes = publish(&store, &CSVS).await;
        let done = rollback(store.as_ref(), &config(), Some("rpt-0"))
            .await
            .unwrap();
        assert_eq!(done.withdrawn, ["rpt-2", "rpt-1"]);
        assert_eq!(text(&store, layout::INDEX), indexes[0]);
        let ids: Vec<String> = archive(&store)
            .withdrawn
            .into_iter()
            .map(|e| e.report_id)
            .collect();
        assert_eq!(ids, ["rpt-2", "rpt-1"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn given_a_rollback_that_stopped_after_the_archive_when_run_again_then_it_ends_at_the_same_report(
    ) {
        // GIVEN archive.json already withdrew rpt-2 but index.html still shows it
        let store = Arc::new(MemoryStore::default());
        let indexes = publish(&store, &CSVS).await;
        let mut a = archive(&store);
        a.withdraw_newer_than("rpt-1");
        store.insert(
            "site",
            layout::ARCHIVE_JSON,
            serde_json::to_vec(&a).unwrap(),
        );
        // WHEN the rollback runs again
        let done = rollback(store.as_ref(), &config(), None).await.unwrap();
        // THEN it shows rpt-1, not rpt-0
        assert_eq!(done.report_id, "rpt-1");
        assert_eq!(text(&store, layout::INDEX), indexes[1]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn given_nothing_to_go_back_to_when_rolled_back_then_a_clear_error_and_the_site_unchanged(
    ) {
        let store = Arc::new(MemoryStore::default());
        let err = rollback(store.as_ref(), &config(), None).await.unwrap_err();
        assert!(err.to_string().contains("no report was published"), "{err}");

        let indexes = publish(&store, &CSVS[..1]).await;
        let err = rollback(store.as_ref(), &config(), None).await.unwrap_err();
        assert!(
            err.to_string()
                .contains("no earlier report to roll back to (the archive has: rpt-0)"),
            "{err}"
        );
        let err = rollback(store.as_ref(), &config(), Some("rpt-7"))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid input: report rpt-7 is not in the archive (it has: rpt-0)"
        );
        assert_eq!(text(&store, layout::INDEX), indexes[0]);
        assert!(archive(&store).withdrawn.is_empty());
    }

    #[test]
    fn given_links_of_a_report_page_when_moved_to_the_root_then_each_points_where_it_did_and_cell_text_is_untouched(
    ) {
        let page = r##"<link href="../../assets/site.css"><a href="page-2.html">2</a><table data-manifest="manifest.json"><a href="https://x/">x</a><a href="#top">t</a><td>href=&quot;page-3.html&quot;</td>"##;
        assert_eq!(
            index_from_first_page(page, "r1"),
            r##"<link href="assets/site.css"><a href="reports/r1/page-2.html">2</a><table data-manifest="reports/r1/manifest.json"><a href="https://x/">x</a><a href="#top">t</a><td>href=&quot;page-3.html&quot;</td>"##
        );
    }
}
