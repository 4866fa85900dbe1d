//! A page's navigation: the pager (First, Previous, the rows shown, Next,
//! Last) and the index of the pages around it, as HTML.

use std::fmt::Write as _;

use super::layout;

/// `1234` → `1,234`.
pub(crate) fn count(n: u64) -> String {
    let mut s = String::new();
    push_count(&mut s, n);
    s
}

/// [`count`] appended to `s`: a page index writes hundreds of counts per
/// page, and formatting each into its own strings was a twentieth of the
/// render time (perf).
pub(crate) fn push_count(s: &mut String, n: u64) {
    push_digits(s, n, true);
}

/// `n` in decimal, with a comma every three digits if `grouped`.
fn push_digits(s: &mut String, n: u64, grouped: bool) {
    // u64::MAX has 20 digits and 6 separators.
    let mut buf = [0u8; 26];
    let (mut at, mut n, mut digits) = (buf.len(), n, 0);
    loop {
        if grouped && digits > 0 && digits % 3 == 0 {
            at -= 1;
            buf[at] = b',';
        }
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        digits += 1;
        if n == 0 {
            break;
        }
    }
    // Digits and commas only: ASCII.
    s.push_str(std::str::from_utf8(&buf[at..]).unwrap_or_default());
}

fn push_decimal(s: &mut String, n: u64) {
    push_digits(s, n, false);
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
    // Written piece by piece: a hundred items on each of thousands of pages.
    let mut item = |p: u64| {
        let first = (p - 1) * page_rows as u64 + 1;
        let last = (p * page_rows as u64).min(rows);
        s.push_str("<li value=\"");
        push_decimal(&mut s, p);
        s.push_str("\"><a href=\"");
        s.push_str(report);
        layout::push_page_file(&mut s, p);
        s.push('"');
        if p == page {
            s.push_str(" aria-current=\"page\"");
        }
        s.push('>');
        push_count(&mut s, first);
        s.push('–');
        push_count(&mut s, last);
        s.push_str("</a></li>");
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site::columns::format_number;

    #[test]
    fn given_any_count_when_pushed_then_it_reads_as_format_number_shows_it() {
        // GIVEN numbers around every power of ten up to format_number's 17
        // significant digits
        let mut numbers = vec![0, 1, 9];
        let mut p = 1u64;
        while let Some(next) = p.checked_mul(10).filter(|&n| n <= 10u64.pow(17)) {
            numbers.extend([p - 1, p, p + 1, next / 2]);
            p = next;
        }
        for n in numbers {
            // WHEN pushed as a count THEN it matches format_number
            assert_eq!(count(n), format_number(&n.to_string()), "{n}");
        }
        // AND beyond them (format_number leaves those as they are) every
        // digit is still grouped
        assert_eq!(count(u64::MAX), "18,446,744,073,709,551,615");
    }
}
