//! Every published report, newest first: `archive.json` (the record the
//! publish step updates with a conditional write), and the `archive.html`
//! and `feed.xml` made from it, each saying what changed since the report
//! before.

use askama::Template;
use serde::{Deserialize, Serialize};

use super::columns::format_number;
use super::layout;
use super::scan::RowChanges;

/// One published report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchiveEntry {
    pub report_id: String,
    /// When the reporting API created it (RFC 3339): the order of reports.
    pub created_at: String,
    pub published_at: String,
    pub rows: u64,
    pub columns: usize,
    pub bytes: u64,
    pub pages: u64,
    /// The key column rows were compared by.
    pub key: String,
    /// Rows added, removed and changed since `compared_with`, when both were
    /// small enough to compare row by row.
    pub changes: Option<RowChanges>,
    pub compared_with: Option<String>,
}

/// `archive.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Archive {
    /// Bumped by every write, so a derived page never replaces a newer one.
    pub generation: u64,
    /// Newest first.
    pub reports: Vec<ArchiveEntry>,
    /// The site's title when last published (a rollback renders the archive
    /// page with it).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// Reports taken off the site by a rollback, newest first: no longer
    /// listed or compared with, their objects kept (and the bucket versioned).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub withdrawn: Vec<ArchiveEntry>,
}

impl Archive {
    /// Adds (or replaces) `entry`, keeping the newest first.
    pub fn insert(&mut self, entry: ArchiveEntry) {
        self.reports.retain(|e| e.report_id != entry.report_id);
        self.reports.push(entry);
        self.reports.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then(b.report_id.cmp(&a.report_id))
        });
        self.generation += 1;
    }

    /// The newest report created before `created_at`.
    pub fn before(&self, created_at: &str) -> Option<&ArchiveEntry> {
        self.reports
            .iter()
            .find(|e| e.created_at.as_str() < created_at)
    }

    /// Takes every report newer than `report_id` off the list (into
    /// `withdrawn`); returns their ids, newest first.
    pub fn withdraw_newer_than(&mut self, report_id: &str) -> Vec<String> {
        let Some(at) = self.reports.iter().position(|e| e.report_id == report_id) else {
            return Vec::new();
        };
        let newer: Vec<ArchiveEntry> = self.reports.drain(..at).collect();
        let ids = newer.iter().map(|e| e.report_id.clone()).collect();
        let mut withdrawn = newer;
        withdrawn.append(&mut self.withdrawn);
        self.withdrawn = withdrawn;
        self.generation += 1;
        ids
    }

    /// Keeps the newest `keep` reports; returns the ids dropped.
    pub fn retain_newest(&mut self, keep: usize) -> Vec<String> {
        if keep == 0 || self.reports.len() <= keep {
            return Vec::new();
        }
        self.reports
            .split_off(keep)
            .into_iter()
            .map(|e| e.report_id)
            .collect()
    }
}

fn bytes_text(b: u64) -> String {
    match b {
        b if b >= 1 << 30 => format!("{:.1} GB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KB", b as f64 / (1u64 << 10) as f64),
        b => format!("{b} bytes"),
    }
}

fn signed(n: i128) -> String {
    let s = format_number(&n.unsigned_abs().to_string()).into_owned();
    if n < 0 {
        format!("−{s}")
    } else {
        format!("+{s}")
    }
}

/// What changed, in words.
pub fn changes_text(e: &ArchiveEntry, before: Option<&ArchiveEntry>) -> String {
    let Some(prev) = before else {
        return "The first report.".into();
    };
    match (&e.changes, &e.compared_with) {
        (Some(c), Some(with)) if *with == prev.report_id => format!(
            "{} added, {} removed, {} changed (by {}).",
            format_number(&c.added.to_string()),
            format_number(&c.removed.to_string()),
            format_number(&c.changed.to_string()),
            e.key
        ),
        _ => format!(
            "Rows {}, size {} bytes; too large to compare row by row.",
            signed(i128::from(e.rows) - i128::from(prev.rows)),
            signed(i128::from(e.bytes) - i128::from(prev.bytes))
        ),
    }
}

struct Row {
    report_id: String,
    href: String,
    created_at: String,
    created_text: String,
    rows_text: String,
    size_text: String,
    changes: String,
}

fn rows(a: &Archive) -> Vec<Row> {
    a.reports
        .iter()
        .enumerate()
        .map(|(i, e)| Row {
            report_id: e.report_id.clone(),
            href: format!(
                "{}{}",
                layout::report_dir(&e.report_id),
                layout::page_file(1)
            ),
            created_at: e.created_at.clone(),
            created_text: layout::human_time(&e.created_at),
            rows_text: format_number(&e.rows.to_string()).into_owned(),
            size_text: bytes_text(e.bytes),
            changes: changes_text(e, a.reports.get(i + 1)),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "site/archive.html")]
struct ArchivePage<'a> {
    csp: &'a str,
    title: &'a str,
    entries: Vec<Row>,
}

#[derive(Template)]
#[template(path = "site/feed.xml")]
struct Feed<'a> {
    title: &'a str,
    feed_id: &'a str,
    updated: String,
    entries: Vec<Row>,
}

pub fn archive_html(a: &Archive, title: &str) -> Result<String, askama::Error> {
    ArchivePage {
        csp: layout::CSP,
        title,
        entries: rows(a),
    }
    .render()
}

/// An Atom feed, one entry per report; `feed_id` is a stable URI of the site.
pub fn feed_xml(a: &Archive, title: &str, feed_id: &str) -> Result<String, askama::Error> {
    Feed {
        title,
        feed_id,
        updated: a.reports.first().map_or_else(
            || "1970-01-01T00:00:00Z".to_string(),
            |e| e.published_at.clone(),
        ),
        entries: rows(a),
    }
    .render()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, created: &str, rows: u64) -> ArchiveEntry {
        ArchiveEntry {
            report_id: id.into(),
            created_at: created.into(),
            published_at: created.into(),
            rows,
            columns: 2,
            bytes: rows * 10,
            pages: 1,
            key: "id".into(),
            changes: None,
            compared_with: None,
        }
    }

    #[test]
    fn given_reports_in_any_order_when_inserted_then_the_newest_comes_first_and_retention_drops_the_oldest(
    ) {
        let mut a = Archive::default();
        a.insert(entry("b", "2026-01-02T00:00:00Z", 1));
        a.insert(entry("a", "2026-01-01T00:00:00Z", 1));
        a.insert(entry("c", "2026-01-03T00:00:00Z", 1));
        let ids: Vec<&str> = a.reports.iter().map(|e| e.report_id.as_str()).collect();
        assert_eq!(ids, ["c", "b", "a"]);
        assert_eq!(a.before("2026-01-03T00:00:00Z").unwrap().report_id, "b");
        assert_eq!(a.generation, 3);
        assert_eq!(a.retain_newest(2), ["a"]);
    }

    #[test]
    fn given_hostile_ids_and_titles_when_rendered_then_everything_is_escaped() {
        let mut a = Archive::default();
        a.insert(entry("r<script>", "2026-01-01T00:00:00Z", 1234));
        let html = archive_html(&a, "T</title><script>alert(1)</script>").unwrap();
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("1,234"));
        let feed = feed_xml(&a, "T & <b>", "urn:x").unwrap();
        assert!(
            !feed.contains("<b>") && !feed.contains("<script>"),
            "{feed}"
        );
    }

    #[test]
    fn given_two_reports_when_described_then_changes_or_deltas_are_said() {
        let prev = entry("a", "2026-01-01T00:00:00Z", 10);
        let mut e = entry("b", "2026-01-02T00:00:00Z", 12);
        assert_eq!(
            changes_text(&e, Some(&prev)),
            "Rows +2, size +20 bytes; too large to compare row by row."
        );
        e.changes = Some(RowChanges {
            added: 3,
            removed: 1,
            changed: 2,
        });
        e.compared_with = Some("a".into());
        assert_eq!(
            changes_text(&e, Some(&prev)),
            "3 added, 1 removed, 2 changed (by id)."
        );
        assert_eq!(changes_text(&prev, None), "The first report.");
    }
}
