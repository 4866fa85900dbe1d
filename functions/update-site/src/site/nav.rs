//! A page's navigation: the pager (First, Previous, the rows shown, Next,
//! Last) and the index of the pages around it, as HTML.

use std::fmt::Write as _;

use super::columns::format_number;
use super::layout;

/// `1234` → `1,234`.
pub(crate) fn count(n: u64) -> String {
    format_number(&n.to_string()).into_owned()
}

/// First, Previous, the range shown, Next, Last: links where they lead
/// somewhere, plain text where they do not.
pub(crate) fn pager(
    report: &str,
    page: u64,
    pages: u64,
    span: (u64, u64),
    rows: u64,
    label: &str,
) -> String {
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
pub(crate) fn page_index(
    report: &str,
    page: u64,
    pages: u64,
    page_rows: usize,
    rows: u64,
) -> String {
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
