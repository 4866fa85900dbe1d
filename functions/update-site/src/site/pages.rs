//! The second pass: the report as pages of `page_rows` rows (each complete
//! HTML that reads and prints without JavaScript), and every byte read
//! copied to the gzip download. Pages are handed to `emit` as they fill;
//! memory holds one page.
//!
//! The rows are written once, as pages. To sort and filter a whole report
//! that is small enough, the page script reads the gzip download (see
//! `site.js`), so no second copy of the rows is made: JSON data chunks
//! were 1.2 bytes per CSV byte more to write and to upload, and 4 to 5
//! times what the download weighs for a reader to fetch.

use std::io::{self, Read, Write};

use askama::Template;

use super::columns::{ColumnType, Number};
use super::layout::{self, CSP};
use super::nav::{count, page_index, pager};
use super::scan::Scan;
use super::source::{CsvRows, Row, Tee};
use crate::render::{escape_cell_into, escape_into, Limits, RenderError};

/// What the pages say about the report.
#[derive(Debug, Clone)]
pub struct SiteMeta {
    pub title: String,
    pub report_id: String,
    /// RFC 3339.
    pub generated_at: String,
    /// When the next report is expected (RFC 3339), if known.
    pub next_expected: Option<String>,
}

/// How the report is cut up.
#[derive(Debug, Clone, Copy)]
pub struct PageOptions {
    /// Rows per page (0: about 5,000 cells a page, at most 1,000 rows).
    pub page_rows: usize,
    /// The whole report is small enough to sort and filter in the browser
    /// (from the download): the pages say so and the script offers it.
    pub data: bool,
}

impl PageOptions {
    pub fn rows_per_page(&self, columns: usize) -> usize {
        match self.page_rows {
            0 => (5_000 / columns.max(1)).clamp(1, 1_000),
            n => n,
        }
    }
}

/// One object of the site, relative to the site's root.
#[derive(Debug, Clone)]
pub struct SiteObject {
    pub key: String,
    pub body: Vec<u8>,
    pub content_type: &'static str,
}

/// What the second pass wrote.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub pages: u64,
    pub page_rows: usize,
    /// `index.html`: the first page, linked from the site's root.
    pub index: Vec<u8>,
    pub bytes_out: u64,
}

#[derive(Template)]
#[template(path = "site/head.html")]
struct Head<'a> {
    csp: &'a str,
    title: &'a str,
    report_id: &'a str,
    generated_at: &'a str,
    generated_at_text: String,
    next_expected: Option<&'a str>,
    root: &'a str,
    report: &'a str,
    rows: u64,
    rows_text: String,
    columns: usize,
    first_row: String,
    last_row: String,
    page: u64,
    page_size: usize,
    complete: bool,
    header: &'a [HeaderCell],
    pager: &'a str,
}

#[derive(Template)]
#[template(path = "site/tail.html")]
struct Tail<'a> {
    root: &'a str,
    pager: &'a str,
    index: &'a str,
    complete: bool,
}

struct HeaderCell {
    name: String,
    kind: &'static str,
}

/// One row as `<tr>…</tr>`: every cell escaped; a number column's cells
/// with their raw text (for sorting) and grouped digits. `numbers[i]`: column
/// `i` holds numbers.
fn write_row(out: &mut Vec<u8>, row: &Row<'_>, numbers: &[bool]) {
    out.extend_from_slice(b"<tr>");
    for (i, c) in row.cells().enumerate() {
        let cell = c.text;
        if !numbers.get(i).copied().unwrap_or(false) || cell.is_empty() {
            out.extend_from_slice(b"<td>");
            escape_cell_into(out, c);
        } else if let Some(n) = Number::parse(cell) {
            // A number's text minus its commas is its raw value (the page
            // script reads it so): no `data-v`, a fifth of a page's bytes.
            // Nothing in a number's text to escape.
            if n.text_is_raw() {
                out.extend_from_slice(b"<td class=\"num\">");
            } else {
                out.extend_from_slice(b"<td class=\"num\" data-v=\"");
                out.extend_from_slice(n.raw());
                out.extend_from_slice(b"\">");
            }
            n.push_to(out);
        } else {
            // A number column's cell that is not a plain number (an
            // exponent, say) is shown as it is, escaped.
            out.extend_from_slice(b"<td class=\"num\" data-v=\"");
            escape_into(out, cell);
            out.extend_from_slice(b"\">");
            escape_into(out, cell);
        }
        out.extend_from_slice(b"</td>");
    }
    out.extend_from_slice(b"</tr>\n");
}

struct PageCtx<'a> {
    meta: &'a SiteMeta,
    scan: &'a Scan,
    header: &'a [HeaderCell],
    page_rows: usize,
    pages: u64,
    complete: bool,
}

impl PageCtx<'_> {
    /// The rows page `page` shows, 1-based: every page but the last is full,
    /// as the first pass counted the rows.
    fn span(&self, page: u64) -> (u64, u64) {
        let first = (page - 1) * self.page_rows as u64 + 1;
        let last = (page * self.page_rows as u64).min(self.scan.rows);
        (first.min(self.scan.rows), last)
    }
}

/// A page's head, up to its first row, into `html`, with links from `root`
/// (the site's root) and `report` (the report's folder) as seen from where
/// the page is stored.
fn page_head(
    html: &mut Vec<u8>,
    c: &PageCtx<'_>,
    page: u64,
    root: &str,
    report: &str,
) -> Result<(), RenderError> {
    let span = c.span(page);
    let top = pager(report, page, c.pages, span, c.scan.rows, "Pages");
    Head {
        csp: CSP,
        title: &c.meta.title,
        report_id: &c.meta.report_id,
        generated_at: &c.meta.generated_at,
        generated_at_text: layout::human_time(&c.meta.generated_at),
        next_expected: c.meta.next_expected.as_deref(),
        root,
        report,
        rows: c.scan.rows,
        rows_text: count(c.scan.rows),
        columns: c.scan.header.len(),
        first_row: count(span.0),
        last_row: count(span.1),
        page,
        page_size: c.page_rows,
        complete: c.complete,
        header: c.header,
        pager: &top,
    }
    .write_into(html)
    .map_err(RenderError::Write)
}

/// A page's tail, after its last row.
fn page_tail(
    html: &mut Vec<u8>,
    c: &PageCtx<'_>,
    page: u64,
    root: &str,
    report: &str,
) -> Result<(), RenderError> {
    let span = c.span(page);
    let bottom = pager(report, page, c.pages, span, c.scan.rows, "Pages, bottom");
    let index = page_index(report, page, c.pages, c.page_rows, c.scan.rows);
    Tail {
        root,
        pager: &bottom,
        index: &index,
        complete: c.complete,
    }
    .write_into(html)
    .map_err(RenderError::Write)
}

/// Ends page `page` (its rows are `html[body_from..]`); page 1 is also
/// written as the site's `index`.
fn finish_page(
    ctx: &PageCtx<'_>,
    page: u64,
    html: &mut Vec<u8>,
    body_from: usize,
    folder: &str,
    index: &mut Vec<u8>,
) -> Result<(), RenderError> {
    if page == 1 {
        page_head(index, ctx, 1, "", folder)?;
        index.extend_from_slice(&html[body_from..]);
        page_tail(index, ctx, 1, "", folder)?;
    }
    page_tail(html, ctx, page, layout::REPORT_TO_ROOT, "")
}

fn emit_page(
    emit: &mut dyn FnMut(SiteObject) -> io::Result<()>,
    folder: &str,
    page: u64,
    html: Vec<u8>,
) -> Result<(), RenderError> {
    emit(SiteObject {
        key: format!("{folder}{}", layout::page_file(page)),
        body: html,
        content_type: layout::HTML,
    })
    .map_err(RenderError::Write)
}

/// The second pass read another number of rows than the first.
fn changed(scanned: u64, read: &str) -> RenderError {
    RenderError::Malformed(format!(
        "the report changed while it was read: {scanned} rows the first time, {read} the second"
    ))
}

/// The report's `manifest.json`: rows, columns and their types, pages,
/// bytes, times, the download, and whether the page script may load the
/// whole report (from the download) to sort and filter it.
pub(crate) fn manifest(
    meta: &SiteMeta,
    created_at: &str,
    scan: &Scan,
    rendered: &Rendered,
    opts: PageOptions,
) -> serde_json::Value {
    serde_json::json!({
        "report_id": meta.report_id,
        "title": meta.title,
        "created_at": created_at,
        "generated_at": meta.generated_at,
        "rows": scan.rows,
        "columns": scan.header.iter().zip(&scan.types)
            .map(|(n, t)| serde_json::json!({"name": n, "type": t.as_str()}))
            .collect::<Vec<_>>(),
        "page_size": rendered.page_rows,
        "pages": rendered.pages,
        "bytes_csv": scan.bytes,
        "csv": layout::DOWNLOAD,
        "data": {"complete": opts.data},
    })
}

/// Renders `input` (the same bytes `scan` read) as the report's pages into
/// `emit`, copying the bytes into `gz`.
pub fn render<R: Read, W: Write>(
    input: R,
    gz: W,
    scan: &Scan,
    meta: &SiteMeta,
    opts: PageOptions,
    limits: &Limits,
    emit: &mut dyn FnMut(SiteObject) -> io::Result<()>,
) -> Result<(Rendered, W), RenderError> {
    let mut csv = CsvRows::open(Tee::new(input, gz), limits)?;
    let header: Vec<HeaderCell> = csv
        .header
        .iter()
        .zip(
            scan.types
                .iter()
                .chain(std::iter::repeat(&ColumnType::Text)),
        )
        .map(|(name, t)| HeaderCell {
            name: name.to_string(),
            kind: t.as_str(),
        })
        .collect();
    let page_rows = opts.rows_per_page(header.len());
    let pages = scan.rows.div_ceil(page_rows as u64).max(1);
    let ctx = PageCtx {
        meta,
        scan,
        header: &header,
        page_rows,
        pages,
        complete: opts.data,
    };
    let numbers: Vec<bool> = scan.types.iter().map(|t| t.is_number()).collect();
    let folder = layout::report_dir(&meta.report_id);
    let mut index = Vec::new();
    let mut bytes_out = 0u64;
    // Each row is written into the page as it is read (the first pass
    // counted the rows, so a page's head is known before its rows): no row
    // is kept. `html` is the page being written, `body` its rows from
    // `body_from` on; page 1 is also the site's index, whose head and links
    // differ, and gets a copy of its rows.
    let mut page = 0u64;
    let mut filled = 0usize;
    let mut html = Vec::new();
    let mut body_from = 0usize;
    let mut rows_read = 0u64;
    let mut capacity = 64 * 1024;
    loop {
        if filled == 0 {
            page += 1;
            // A page is about as long as the one before: one allocation.
            html = Vec::with_capacity(capacity);
            page_head(&mut html, &ctx, page, layout::REPORT_TO_ROOT, "")?;
            body_from = html.len();
        }
        let Some(row) = csv.next()? else { break };
        rows_read += 1;
        if rows_read > scan.rows {
            return Err(changed(scan.rows, "more"));
        }
        write_row(&mut html, &row, &numbers);
        filled += 1;
        if filled == page_rows {
            finish_page(&ctx, page, &mut html, body_from, &folder, &mut index)?;
            capacity = capacity.max(html.len() + html.len() / 8);
            bytes_out += html.len() as u64;
            emit_page(emit, &folder, page, std::mem::take(&mut html))?;
            filled = 0;
        }
    }
    // The last page: partly filled, or the only one of a report without rows.
    if filled > 0 || page == 1 {
        finish_page(&ctx, page, &mut html, body_from, &folder, &mut index)?;
        bytes_out += html.len() as u64;
        emit_page(emit, &folder, page, html)?;
    } else {
        page -= 1;
    }
    if rows_read != scan.rows {
        return Err(changed(scan.rows, &rows_read.to_string()));
    }
    let gz = csv.into_inner().into_copy();
    Ok((
        Rendered {
            pages: page,
            page_rows,
            index,
            bytes_out,
        },
        gz,
    ))
}
