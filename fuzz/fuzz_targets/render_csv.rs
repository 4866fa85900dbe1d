//! UpdateSite's site renderer (the scan, then the pages) on arbitrary bytes.
//!
//! Properties checked on every input (not only "does not panic"):
//! - an error is always `Csv.Malformed` or `Csv.LimitExceeded` (the input is
//!   in memory, so never a `Storage.*` error);
//! - when it succeeds: every page is UTF-8; each table holds its header row
//!   plus its rows; inside `<thead>` and `<tbody>` every `<` starts one of
//!   the renderer's own tags, so no markup from the CSV gets through; the
//!   cells, unescaped (a number's raw `data-v`, or its text less its commas
//!   where it has none), page after page, are exactly
//!   the fields an independent `csv` parse of the input gives; the gzip copy
//!   is the input; the counts are right;
//! - the result does not depend on how the input is split into reads (S3
//!   hands the body over in parts of any size);
//! - limits only ever refuse: whatever renders under tight limits renders
//!   byte-identically under loose ones.
#![no_main]

use std::io::{self, Read};

use libfuzzer_sys::fuzz_target;
use shared::errors::ErrorName;
use update_site::site::pages::{self, PageOptions, SiteMeta, SiteObject};
use update_site::site::scan;
use update_site::{Limits, RenderError};

/// Small limits so every run stays fast (inputs are a few KiB at most).
fn loose() -> Limits {
    Limits {
        max_bytes: 1024 * 1024,
        max_rows: 2_000,
        max_columns: 64,
        max_field_bytes: 64 * 1024,
    }
}

/// Limits a fuzzer input of a few hundred bytes can exceed on every axis.
fn tight() -> Limits {
    Limits {
        max_bytes: 300,
        max_rows: 3,
        max_columns: 4,
        max_field_bytes: 16,
    }
}

fn meta() -> SiteMeta {
    SiteMeta {
        title: "Fuzz <b>title</b> & \"quotes\" 'too'".into(),
        report_id: "rpt-fuzz".into(),
        generated_at: "2026-01-01T00:00:00Z".into(),
        next_expected: None,
    }
}

/// Hands the input over at most `step` bytes per read.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Rows and columns, and every page's HTML in order.
#[derive(Debug, PartialEq)]
struct Stats {
    rows: u64,
    columns: usize,
    bytes_in: u64,
    gz: Vec<u8>,
}

type Outcome = (Result<Stats, RenderError>, Vec<u8>);

/// Both passes over the same bytes; page size 3, so small inputs page too.
fn render(mut input: impl Read, limits: &Limits) -> Outcome {
    let mut data = Vec::new();
    if let Err(e) = input.read_to_end(&mut data) {
        return (Err(RenderError::Read(e)), Vec::new());
    }
    let scanned = match scan::scan(&data[..], limits, u64::MAX) {
        Ok(s) => s,
        Err(e) => return (Err(e), Vec::new()),
    };
    let mut out = Vec::new();
    let mut emit = |o: SiteObject| {
        if o.key.ends_with(".html") {
            out.extend_from_slice(&o.body);
        }
        Ok(())
    };
    let opts = PageOptions {
        page_rows: 3,
        data: true,
    };
    let result = pages::render(
        &data[..],
        Vec::new(),
        &scanned,
        &meta(),
        opts,
        limits,
        &mut emit,
    )
    .map(|(_, gz)| Stats {
        rows: scanned.rows,
        columns: scanned.header.len(),
        bytes_in: scanned.bytes,
        gz,
    });
    (result, out)
}

fn same(a: &Outcome, b: &Outcome, what: &str) {
    match (&a.0, &b.0) {
        (Ok(sa), Ok(sb)) => {
            assert!(sa == sb, "{what}: different stats");
            assert!(a.1 == b.1, "{what}: different pages");
        }
        (Err(ea), Err(eb)) => {
            assert_eq!(ea.name(), eb.name(), "{what}: {ea} vs {eb}");
            assert_eq!(ea.to_string(), eb.to_string(), "{what}: different causes");
        }
        (ra, rb) => panic!("{what}: {ra:?} vs {rb:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let whole = render(data, &loose());
    check(data, &whole, &loose());

    let step = 1 + data.len() % 13;
    let trickled = render(Trickle { data, step }, &loose());
    same(&whole, &trickled, &format!("reads of {step} bytes"));

    let strict = render(data, &tight());
    check(data, &strict, &tight());
    if strict.0.is_ok() {
        same(
            &strict,
            &whole,
            "tight limits rendered, loose ones must render the same",
        );
    }
});

fn check(data: &[u8], (result, out): &Outcome, limits: &Limits) {
    let stats = match result {
        Err(err) => {
            let name = err.name();
            assert!(
                matches!(name, ErrorName::CsvMalformed | ErrorName::CsvLimitExceeded),
                "in-memory input failed with {name}: {err}"
            );
            assert!(!err.to_string().is_empty());
            return;
        }
        Ok(stats) => stats,
    };
    let html = std::str::from_utf8(out).expect("the pages are not UTF-8");
    assert_eq!(
        stats.bytes_in,
        data.len() as u64,
        "bytes_in: the whole input is read"
    );
    assert_eq!(stats.gz, data, "the download copy is the input");
    assert!(stats.rows <= limits.max_rows && stats.columns <= limits.max_columns);
    let mut head: Vec<Vec<String>> = Vec::new();
    let mut body: Vec<Vec<String>> = Vec::new();
    for page in html.split("<!DOCTYPE html>").skip(1) {
        assert!(
            page.contains(&format!("data-rows=\"{}\"", stats.rows)),
            "row count attribute"
        );
        let table = between(page, "<table ", "</table>");
        let thead = between(table, "<thead>", "</thead>");
        let tbody = between(table, "<tbody>", "</tbody>");
        only_tags(
            thead,
            &["<tr>", "</tr>", "<th scope=\"col\" data-type=\"", "</th>"],
        );
        only_tags(
            tbody,
            &[
                "<tr>",
                "</tr>",
                "<td>",
                "<td class=\"num\" data-v=\"",
                "<td class=\"num\">",
                "</td>",
            ],
        );
        let h = cells(thead, "<th scope=\"col\"", "</th>");
        assert_eq!(h.len(), 1, "one header row a page");
        if head.is_empty() {
            head = h;
        } else {
            assert_eq!(head, h, "every page has the same header");
        }
        body.extend(cells(tbody, "<td", "</td>"));
    }
    // The cells, unescaped, are the fields of an independent parse.
    assert_eq!(head.len(), 1, "a header row");
    assert_eq!(body.len() as u64, stats.rows, "data rows");
    let mut expected = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(data)
        .into_records()
        .map(|r| {
            r.expect("the renderer succeeded, so csv parses it")
                .iter()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect::<Vec<_>>();
    if let Some(first) = expected.first_mut().and_then(|h| h.first_mut()) {
        if let Some(rest) = first.strip_prefix('\u{feff}') {
            *first = rest.to_owned();
        }
    }
    assert_eq!(expected.len() as u64, stats.rows + 1);
    assert_eq!(head[0], expected[0], "header cells");
    assert_eq!(head[0].len(), stats.columns, "columns");
    for (i, (got, want)) in body.iter().zip(&expected[1..]).enumerate() {
        assert_eq!(got, want, "data row {}", i + 1);
    }
}

/// The text strictly between the only `open` and the only `close`.
fn between<'a>(text: &'a str, open: &str, close: &str) -> &'a str {
    assert_eq!(text.matches(open).count(), 1, "exactly one {open}");
    assert_eq!(text.matches(close).count(), 1, "exactly one {close}");
    let start = text.find(open).unwrap() + open.len();
    let end = text.find(close).unwrap();
    assert!(start <= end, "{open} before {close}");
    &text[start..end]
}

/// Every `<` in `section` starts one of `tags`.
fn only_tags(section: &str, tags: &[&str]) {
    for (i, _) in section.match_indices('<') {
        let rest = &section[i..];
        assert!(
            tags.iter().any(|t| rest.starts_with(t)),
            "unescaped markup in the table: {:?}",
            &rest[..rest.len().min(40)]
        );
    }
}

/// Rows of cells of a rendered section, each cell unescaped.
fn cells(section: &str, open: &str, close: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut rest = section;
    loop {
        rest = rest.trim_start_matches('\n');
        if rest.is_empty() {
            return rows;
        }
        rest = rest.strip_prefix("<tr>").expect("a row starts with <tr>");
        let mut row = Vec::new();
        loop {
            if let Some(after) = rest.strip_prefix("</tr>") {
                rest = after;
                break;
            }
            rest = rest.strip_prefix(open).expect("a cell");
            let gt = rest.find('>').expect("the cell's tag ends");
            let attrs = &rest[..gt];
            rest = &rest[gt + 1..];
            let end = rest.find(close).expect("a closed cell");
            // A number cell's raw value is its data-v, or where it has none,
            // its (formatted) text without the thousands separators.
            let raw = match attrs.split_once("data-v=\"") {
                Some((_, v)) if !attrs.contains("data-type") => {
                    unescape(v.strip_suffix('"').expect("data-v is quoted"))
                }
                _ if attrs.contains("class=\"num\"") => rest[..end].replace(',', ""),
                _ => unescape(&rest[..end]),
            };
            row.push(raw);
            rest = &rest[end + close.len()..];
        }
        rows.push(row);
    }
}

/// Undoes HTML escaping, refusing anything a browser could read as markup or
/// as an unknown entity.
fn unescape(cell: &str) -> String {
    for bad in ['<', '>', '"', '\''] {
        assert!(!cell.contains(bad), "unescaped {bad:?} in a cell: {cell:?}");
    }
    let mut out = String::with_capacity(cell.len());
    let mut rest = cell;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest.find(';').expect("an entity ends with ;");
        let ch = match &rest[1..end] {
            "amp" | "#38" => '&',
            "lt" | "#60" => '<',
            "gt" | "#62" => '>',
            "quot" | "#34" => '"',
            "apos" | "#39" | "#x27" => '\'',
            other => panic!("unexpected entity &{other}; in a cell"),
        };
        out.push(ch);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}
