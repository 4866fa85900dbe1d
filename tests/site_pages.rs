//! Fast checks on the generated site, without a browser: every HTML file of
//! a report's site (rendered exactly as UpdateSite publishes it, by
//! `update_site::site::local`) has no inline script or style and no event
//! attribute, tables with captions and scoped headers, pages within their
//! budgets (cells, compressed bytes), and links that all resolve.

use std::io::Write;
use std::path::{Path, PathBuf};

use local_services::csvgen::CsvSpec;
use update_site::site::local::render_to_folder;
use update_site::site::pages::{PageOptions, SiteMeta};
use update_site::Limits;

fn html_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            html_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "html") {
            out.push(p);
        }
    }
}

/// Every `href="…"` and `src="…"` value of a page.
fn links(page: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["href=\"", "src=\""] {
        for (i, _) in page.match_indices(attr) {
            let rest = &page[i + attr.len()..];
            out.push(rest[..rest.find('"').unwrap()].to_string());
        }
    }
    out
}

fn gzip_len(bytes: &[u8]) -> usize {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap().len()
}

#[test]
fn given_a_report_of_many_pages_when_rendered_then_every_page_is_strict_accessible_within_budget_and_linked(
) {
    // GIVEN a 3 MB report of awkward cells
    let dir = tempfile::tempdir().unwrap();
    let spec = CsvSpec::for_size(3_000_000, 11);
    let csv = dir.path().join("report.csv");
    let mut f = std::fs::File::create(&csv).unwrap();
    std::io::copy(&mut spec.reader(), &mut f).unwrap();
    drop(f);

    // WHEN it is rendered as UpdateSite publishes it
    let out = dir.path().join("site");
    let meta = SiteMeta {
        title: "Checks <b>&</b>".into(),
        report_id: "rpt-checks".into(),
        generated_at: "2026-12-04T06:00:00Z".into(),
        next_expected: None,
    };
    let opts = PageOptions {
        page_rows: 0,
        data: true,
    };
    let (scan, rendered) = render_to_folder(
        &csv,
        &out,
        &meta,
        opts,
        &Limits::default(),
        "2026-12-04T05:00:00Z",
    )
    .unwrap();
    assert_eq!(scan.rows, spec.rows);
    assert!(rendered.pages > 10, "{} pages", rendered.pages);

    // THEN every page holds to the rules
    let mut pages = Vec::new();
    html_files(&out, &mut pages);
    assert_eq!(
        pages.len() as u64,
        rendered.pages + 2,
        "the pages, index.html and archive.html"
    );
    for path in &pages {
        let page = std::fs::read_to_string(path).unwrap();
        let name = path.strip_prefix(&out).unwrap().display().to_string();
        assert!(
            !page.contains("<style") && !page.contains(" style="),
            "{name}: inline style"
        );
        for (i, _) in page.match_indices("<script") {
            let tag = &page[i..i + page[i..].find('>').unwrap()];
            assert!(tag.contains(" src=\""), "{name}: an inline script");
        }
        // Inside our tags (data never holds a raw `<`): no on… attribute.
        for (i, _) in page.match_indices('<') {
            let tag = &page[i..i + page[i..].find('>').unwrap()];
            let on = tag
                .split_whitespace()
                .skip(1)
                .any(|a| a.starts_with("on") && a.contains('='));
            assert!(!on, "{name}: an event attribute in {tag}");
        }
        assert_eq!(
            page.matches("<caption").count(),
            page.matches("<table").count(),
            "{name}: a table without caption"
        );
        assert_eq!(
            page.matches("<th ").count(),
            page.matches("<th scope=\"col\"").count(),
            "{name}: a header without scope"
        );
        // Budgets: about 5,000 cells and 100 KB compressed a page.
        assert!(
            page.matches("<td").count() <= 5_000,
            "{name}: too many cells"
        );
        assert!(
            gzip_len(page.as_bytes()) <= 100 * 1024,
            "{name}: over 100 KB compressed"
        );
        // Every link resolves to a file of the site.
        for link in links(&page) {
            let target = link.split(['?', '#']).next().unwrap();
            if target.is_empty() || target.starts_with("http") || target.starts_with("urn:") {
                continue;
            }
            let resolved = path.parent().unwrap().join(target);
            assert!(resolved.exists(), "{name}: {link} leads nowhere");
        }
    }
    // The last page ends where the report ends.
    let last = std::fs::read_to_string(
        out.join(format!("reports/rpt-checks/page-{}.html", rendered.pages)),
    )
    .unwrap();
    let total = update_site::site::columns::format_number(&spec.rows.to_string()).into_owned();
    assert!(
        last.contains(&format!(
            "–{total} of {total} (page {0} of {0})",
            rendered.pages
        )),
        "the last page's range"
    );
}
