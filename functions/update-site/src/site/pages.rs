//! The second pass: the report as pages of `page_rows` rows (each complete
//! HTML that reads and prints without JavaScript), the rows again as JSON
//! data chunks for sorting and filtering the whole report in the browser
//! (when it is small enough), and every byte read copied to the gzip
//! download. Pages and chunks are handed to `emit` as they fill; memory
//! holds one page and one chunk.

use std::fmt::Write as _;
use std::io::{self, Read, Write};

use askama::Template;
use csv::StringRecord;

use super::columns::{format_number, ColumnType};
use super::layout::{self, CSP};
use super::scan::Scan;
use super::source::{CsvRows, Tee};
use crate::render::{Cell, Limits, RenderError};

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
    /// Rows per data chunk.
    pub chunk_rows: usize,
    /// Write data chunks (the whole report sortable in the browser).
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
    /// Data chunk keys, relative to the report's folder.
    pub chunks: Vec<String>,
    /// `index.html`: the first page, linked from the site's root.
    pub index: String,
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

/// `1234` → `1,234`.
fn count(n: u64) -> String {
    format_number(&n.to_string()).into_owned()
}

/// First, Previous, the range shown, Next, Last: links where they lead
/// somewhere, plain text where they do not.
fn pager(report: &str, page: u64, pages: u64, span: (u64, u64), rows: u64, label: &str) -> String {
    let link = |s: &mut String, text: &str, to: u64, rel: &str, enabled: bool| {
        if enabled {
            let _ = write!(
                s,
                " <a rel=\"{rel}\" href=\"{report}{}\">{text}</a>",
                layout::page_file(to)
            );
        } else {
            let _ = write!(s, " <span aria-disabled=\"true\">{text}</span>");
        }
    };
    let mut s = format!("<nav class=\"pager\" aria-label=\"{label}\">");
    link(&mut s, "First", 1, "first", page > 1);
    link(&mut s, "Previous", page.saturating_sub(1), "prev", page > 1);
    let _ = write!(
        s,
        " <span class=\"range\">Rows {}–{} of {} (page {page} of {pages})</span>",
        count(span.0),
        count(span.1),
        count(rows)
    );
    link(&mut s, "Next", page + 1, "next", page < pages);
    link(&mut s, "Last", pages, "last", page < pages);
    s.push_str("</nav>");
    s
}

/// The pages around this one (a report of thousands of pages lists a window).
fn page_index(report: &str, page: u64, pages: u64, page_rows: usize, rows: u64) -> String {
    const AROUND: u64 = 50;
    let lo = page.saturating_sub(AROUND).max(1);
    let hi = (page + AROUND).min(pages);
    let mut s = String::from("<details class=\"page-index\"><summary>All pages</summary><ol>");
    let mut item = |p: u64| {
        let first = (p - 1) * page_rows as u64 + 1;
        let last = (p * page_rows as u64).min(rows);
        let current = if p == page {
            " aria-current=\"page\""
        } else {
            ""
        };
        let _ = write!(
            s,
            "<li value=\"{p}\"><a href=\"{report}{}\"{current}>{}–{}</a></li>",
            layout::page_file(p),
            count(first),
            count(last)
        );
    };
    if lo > 1 {
        item(1);
    }
    for p in lo..=hi {
        item(p);
    }
    if hi < pages {
        item(pages);
    }
    s.push_str("</ol></details>");
    s
}

fn write_rows(out: &mut String, rows: &[StringRecord], types: &[ColumnType]) {
    // push_str rather than write!: the formatting machinery was a tenth of
    // the render time.
    for r in rows {
        out.push_str("<tr>");
        for (i, cell) in r.iter().enumerate() {
            if types.get(i).is_some_and(|t| t.is_number()) && !cell.is_empty() {
                out.push_str("<td class=\"num\" data-v=\"");
                Cell(cell).push_to(out);
                out.push_str("\">");
                Cell(&format_number(cell)).push_to(out);
            } else {
                out.push_str("<td>");
                Cell(cell).push_to(out);
            }
            out.push_str("</td>");
        }
        out.push_str("</tr>\n");
    }
}

struct PageCtx<'a> {
    meta: &'a SiteMeta,
    scan: &'a Scan,
    header: &'a [HeaderCell],
    page_rows: usize,
    pages: u64,
    complete: bool,
}

/// One whole page, with links from `root` (the site's root) and `report`
/// (the report's folder) as seen from where the page is stored.
fn page_html(
    c: &PageCtx<'_>,
    page: u64,
    rows: &[StringRecord],
    root: &str,
    report: &str,
) -> Result<String, RenderError> {
    let first = (page - 1) * c.page_rows as u64 + 1;
    let last = (first + rows.len() as u64).saturating_sub(1);
    let span = (first.min(c.scan.rows), last);
    let top = pager(report, page, c.pages, span, c.scan.rows, "Pages");
    let bottom = pager(report, page, c.pages, span, c.scan.rows, "Pages, bottom");
    let index = page_index(report, page, c.pages, c.page_rows, c.scan.rows);
    let mut html = String::with_capacity(64 * 1024);
    let fail = |e: askama::Error| RenderError::Write(io::Error::other(e));
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
        first_row: count(first.min(c.scan.rows)),
        last_row: count(last),
        page,
        page_size: c.page_rows,
        complete: c.complete,
        header: c.header,
        pager: &top,
    }
    .render_into(&mut html)
    .map_err(fail)?;
    write_rows(&mut html, rows, &c.scan.types);
    Tail {
        root,
        pager: &bottom,
        index: &index,
        complete: c.complete,
    }
    .render_into(&mut html)
    .map_err(fail)?;
    Ok(html)
}

/// The next data chunk, `{"rows":[["a","b"],…]}` (what serde_json writes
/// for it), built row by row as they are read: no copy of a cell but the
/// escaped one.
struct ChunkBuf {
    body: Vec<u8>,
    rows: usize,
}

impl ChunkBuf {
    const OPEN: &'static [u8] = b"{\"rows\":[";

    fn new() -> Self {
        ChunkBuf {
            body: Self::OPEN.to_vec(),
            rows: 0,
        }
    }

    fn push(&mut self, record: &StringRecord) -> Result<(), RenderError> {
        if self.rows > 0 {
            self.body.push(b',');
        }
        self.body.push(b'[');
        for (i, cell) in record.iter().enumerate() {
            if i > 0 {
                self.body.push(b',');
            }
            serde_json::to_writer(&mut self.body, cell)
                .map_err(|e| RenderError::Write(io::Error::other(e)))?;
        }
        self.body.push(b']');
        self.rows += 1;
        Ok(())
    }
}

/// Emits the rows gathered so far as the next data chunk.
fn flush_chunk(
    emit: &mut dyn FnMut(SiteObject) -> io::Result<()>,
    folder: &str,
    chunk: &mut ChunkBuf,
    chunks: &mut Vec<String>,
) -> Result<(), RenderError> {
    let mut body = std::mem::replace(&mut chunk.body, ChunkBuf::OPEN.to_vec());
    body.extend_from_slice(b"]}");
    chunk.rows = 0;
    let name = layout::chunk_file(chunks.len() as u64 + 1);
    emit(SiteObject {
        key: format!("{folder}{name}"),
        body,
        content_type: "application/json",
    })
    .map_err(RenderError::Write)?;
    chunks.push(name);
    Ok(())
}

/// Renders `input` (the same bytes `scan` read) as the report's pages and
/// data chunks into `emit`, copying the bytes into `gz`.
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
    let folder = layout::report_dir(&meta.report_id);
    // One page of records, reused page after page (`filled` of them hold
    // this page's rows): no allocation per row once the first page is full.
    let mut rows: Vec<StringRecord> = Vec::with_capacity(page_rows);
    let mut filled = 0usize;
    let mut chunk = ChunkBuf::new();
    let mut chunks = Vec::new();
    let mut index = String::new();
    let mut bytes_out = 0u64;
    let mut page = 0u64;
    let mut record = StringRecord::new();
    loop {
        let more = csv.next(&mut record)?;
        if more {
            if opts.data {
                chunk.push(&record)?;
                if chunk.rows >= opts.chunk_rows.max(1) {
                    flush_chunk(emit, &folder, &mut chunk, &mut chunks)?;
                }
            }
            if filled < rows.len() {
                std::mem::swap(&mut rows[filled], &mut record);
            } else {
                rows.push(std::mem::take(&mut record));
            }
            filled += 1;
        }
        if filled == page_rows || (!more && (filled > 0 || page == 0)) {
            page += 1;
            let html = page_html(&ctx, page, &rows[..filled], layout::REPORT_TO_ROOT, "")?;
            if page == 1 {
                index = page_html(&ctx, 1, &rows[..filled], "", &folder)?;
            }
            bytes_out += html.len() as u64;
            emit(SiteObject {
                key: format!("{folder}{}", layout::page_file(page)),
                body: html.into_bytes(),
                content_type: layout::HTML,
            })
            .map_err(RenderError::Write)?;
            filled = 0;
        }
        if !more {
            break;
        }
    }
    if opts.data && chunk.rows > 0 {
        flush_chunk(emit, &folder, &mut chunk, &mut chunks)?;
    }
    let gz = csv.into_inner().into_copy();
    Ok((
        Rendered {
            pages: page,
            page_rows,
            chunks,
            index,
            bytes_out,
        },
        gz,
    ))
}
