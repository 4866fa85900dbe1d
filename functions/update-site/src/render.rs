//! What every pass over a report shares: its [`Limits`], the errors of
//! reading it ([`RenderError`]) and their names, the cell escaper
//! ([`escape_into`]), and the CSV reading helpers `site::source` builds on.

use std::io::{self, Read, Write};

use csv::StringRecord;
use shared::errors::ErrorName;

use crate::site::record::{copy_short, Cell, Record};

/// Bounds enforced while streaming, so a hostile or broken report fails
/// with a clear error instead of exhausting the function.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    pub max_bytes: u64,
    pub max_rows: u64,
    pub max_columns: usize,
    pub max_field_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 5 * 1024 * 1024 * 1024,
            max_rows: 50_000_000,
            max_columns: 1_000,
            max_field_bytes: 1024 * 1024,
        }
    }
}

impl Limits {
    pub fn from_lookup(
        env: &dyn shared::config::Lookup,
    ) -> Result<Self, shared::config::ConfigError> {
        use shared::config::parse_or;
        let d = Limits::default();
        Ok(Limits {
            max_bytes: parse_or(env, "MAX_REPORT_BYTES", d.max_bytes)?,
            max_rows: parse_or(env, "MAX_REPORT_ROWS", d.max_rows)?,
            max_columns: parse_or(env, "MAX_REPORT_COLUMNS", d.max_columns)?,
            max_field_bytes: parse_or(env, "MAX_FIELD_BYTES", d.max_field_bytes)?,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("the CSV is malformed: {0}")]
    Malformed(String),
    #[error("the CSV exceeds a limit: {0}")]
    Limit(String),
    #[error("reading the CSV failed: {0}")]
    Read(io::Error),
    #[error("writing the page failed: {0}")]
    Write(io::Error),
}

impl RenderError {
    pub fn name(&self) -> ErrorName {
        match self {
            RenderError::Malformed(_) => ErrorName::CsvMalformed,
            RenderError::Limit(_) => ErrorName::CsvLimitExceeded,
            RenderError::Read(e) => match e.get_ref().and_then(|i| i.downcast_ref::<LimitHit>()) {
                Some(_) => ErrorName::CsvLimitExceeded,
                None => ErrorName::StorageUnavailable,
            },
            RenderError::Write(_) => ErrorName::StorageUnavailable,
        }
    }
}

/// A cell's text (UTF-8), HTML-escaped exactly as askama's HTML escaper
/// does it (`"` `&` `'` `<` `>` become `&#34;` `&#38;` `&#39;` `&#60;`
/// `&#62;`), appended to `out`, without askama's per-byte writes (the larger
/// cost of rendering, by perf); a test compares the two on every byte.
pub(crate) fn escape_into(out: &mut Vec<u8>, cell: &[u8]) {
    // Most cells hold none: checked a word at a time, then one copy.
    if !crate::swar::html_special(cell) {
        out.extend_from_slice(cell);
        return;
    }
    escape_specials(out, cell);
}

/// [`escape_into`] for a record's cell: a short one (most) is tested and
/// copied as two words.
#[inline]
pub(crate) fn escape_cell_into(out: &mut Vec<u8>, cell: Cell<'_>) {
    match cell.short() {
        Some((short, window)) if !short.html_special() => copy_short(out, window, cell.text.len()),
        Some(_) => escape_specials(out, cell.text),
        None => escape_into(out, cell.text),
    }
}

fn escape_specials(out: &mut Vec<u8>, cell: &[u8]) {
    let mut done = 0;
    for (i, &b) in cell.iter().enumerate() {
        let entity: &[u8] = match b {
            b'"' => b"&#34;",
            b'&' => b"&#38;",
            b'\'' => b"&#39;",
            b'<' => b"&#60;",
            b'>' => b"&#62;",
            _ => continue,
        };
        out.extend_from_slice(&cell[done..i]);
        out.extend_from_slice(entity);
        done = i + 1;
    }
    out.extend_from_slice(&cell[done..]);
}

pub(crate) fn read_up_to(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

pub(crate) fn strip_bom(header: StringRecord) -> StringRecord {
    match header.get(0) {
        Some(first) if first.starts_with('\u{feff}') => header
            .iter()
            .enumerate()
            .map(|(i, f)| {
                if i == 0 {
                    &f['\u{feff}'.len_utf8()..]
                } else {
                    f
                }
            })
            .collect(),
        _ => header,
    }
}

pub(crate) fn check_record(record: &Record, limits: &Limits) -> Result<(), RenderError> {
    check_sizes(record, limits)?;
    if !record.known_utf8() && record.as_slice().contains(&0) {
        return Err(nul_byte(record.line()));
    }
    Ok(())
}

/// No field over `max_field_bytes`.
pub(crate) fn check_sizes(record: &Record, limits: &Limits) -> Result<(), RenderError> {
    if record.as_slice().len() > limits.max_field_bytes {
        if let Some((i, f)) = record
            .iter()
            .enumerate()
            .find(|(_, f)| f.len() > limits.max_field_bytes)
        {
            return Err(RenderError::Limit(format!(
                "line {}, column {}: a field of {} bytes, more than the limit of {}",
                record.line(),
                i + 1,
                f.len(),
                limits.max_field_bytes
            )));
        }
    }
    Ok(())
}

/// A NUL byte at `line`: the body is binary.
pub(crate) fn nul_byte(line: u64) -> RenderError {
    RenderError::Malformed(format!(
        "line {line}: a NUL byte; the body is binary, not CSV text"
    ))
}

/// A row that is not UTF-8 text, at `line`, in (0-based) `field`.
pub(crate) fn not_utf8(line: u64, field: usize) -> RenderError {
    RenderError::Malformed(format!(
        "line {line}: invalid UTF-8 in field {} (the report must be UTF-8 text)",
        field + 1
    ))
}

/// A row whose field count is not the header's.
pub(crate) fn ragged(line: u64, len: usize, expected: usize) -> RenderError {
    RenderError::Malformed(format!(
        "line {line}: a row of {len} fields where the header has {expected} (ragged rows)"
    ))
}

/// Marks an input that went past `Limits::max_bytes`.
#[derive(Debug, thiserror::Error)]
#[error("the report is larger than the limit of {0} bytes")]
pub(crate) struct LimitHit(pub(crate) u64);

/// Counts bytes through a reader or writer; a reader fails past `max`.
pub(crate) struct Counting<T> {
    pub(crate) inner: T,
    pub(crate) count: u64,
    pub(crate) max: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        if self.count > self.max {
            return Err(io::Error::other(LimitHit(self.max)));
        }
        Ok(n)
    }
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::site::pages::{self, PageOptions, SiteMeta, SiteObject};
    use crate::site::scan::{self, Scan};

    fn meta() -> SiteMeta {
        SiteMeta {
            title: "Sales <daily>".into(),
            report_id: "rpt-1".into(),
            generated_at: "2026-01-01T00:00:00Z".into(),
            next_expected: None,
        }
    }

    /// Both passes, as UpdateSite runs them; every page's HTML in order.
    fn render_with(
        input: &[u8],
        limits: &Limits,
        page_rows: usize,
    ) -> Result<(String, Scan), RenderError> {
        let scanned = scan::scan(input, limits, u64::MAX)?;
        let mut html = String::new();
        let mut emit = |o: SiteObject| {
            if o.key.ends_with(".html") {
                html.push_str(std::str::from_utf8(&o.body).unwrap());
            }
            Ok(())
        };
        let opts = PageOptions {
            page_rows,
            chunk_rows: 1000,
            data: true,
        };
        pages::render(
            input,
            io::sink(),
            &scanned,
            &meta(),
            opts,
            limits,
            &mut emit,
        )?;
        Ok((html, scanned))
    }

    fn render(input: &[u8]) -> Result<(String, Scan), RenderError> {
        render_with(input, &Limits::default(), 0)
    }

    #[test]
    fn given_any_text_when_a_cell_is_escaped_then_it_matches_askamas_html_escaper() {
        // GIVEN texts with every escapable byte, alone, repeated, at either
        // end, between multi-byte characters, and none at all
        let mut texts = vec![
            String::new(),
            "plain text, no markup".to_string(),
            "é<ü>ß&\"'😀".to_string(),
            "<script>alert('x')</script>".to_string(),
            "a&&b<<c>>d\"\"e''".to_string(),
            "&".to_string(),
            "x".repeat(1000) + "<",
        ];
        for b in 0u8..128 {
            texts.push(format!("{}a{}", b as char, b as char));
        }
        for text in &texts {
            // WHEN escaped by escape_into and by askama
            let mut ours = Vec::new();
            escape_into(&mut ours, text.as_bytes());
            let ours = String::from_utf8(ours).expect("UTF-8 in, UTF-8 out");
            let askamas = askama::filters::escape(text, askama::filters::Html)
                .expect("escaping cannot fail")
                .to_string();
            // THEN the output is the same
            assert_eq!(ours, askamas, "for {text:?}");
        }
    }

    #[test]
    fn given_quoted_fields_when_rendered_then_every_cell_is_one_escaped_td() {
        let (html, stats) =
            render(b"name,note\n\"Smith, J\",\"line1\nline2\"\n<b>x</b>,\"say \"\"hi\"\"\"\n")
                .unwrap();
        assert_eq!(stats.rows, 2);
        assert_eq!(stats.header.len(), 2);
        assert!(
            html.contains("<td>Smith, J</td><td>line1\nline2</td>"),
            "{html}"
        );
        assert!(
            html.contains("<td>&#60;b&#62;x&#60;/b&#62;</td>")
                || html.contains("<td>&lt;b&gt;x&lt;/b&gt;</td>"),
            "{html}"
        );
        assert!(!html.contains("<b>x"), "unescaped cell in {html}");
        assert!(html.contains("Sales &#60;daily&#62;") || html.contains("Sales &lt;daily&gt;"));
        assert!(html.contains("data-rows=\"2\""));
    }

    #[test]
    fn given_header_only_when_rendered_then_an_empty_table_is_valid() {
        let (html, stats) = render(b"a,b,c\n").unwrap();
        assert_eq!(stats.rows, 0);
        assert!(
            html.contains("<th scope=\"col\" data-type=\"text\">c</th>"),
            "{html}"
        );
        assert!(html.contains("0 rows,"), "{html}");
    }

    #[test]
    fn given_empty_body_then_malformed() {
        let err = render(b"").unwrap_err();
        assert_eq!(err.name(), ErrorName::CsvMalformed);
        assert!(err.to_string().contains("empty"), "{err}");
    }

    #[test]
    fn given_ragged_rows_then_malformed_naming_the_line() {
        let err = render(b"a,b\n1,2\n3\n").unwrap_err();
        assert_eq!(err.name(), ErrorName::CsvMalformed);
        assert!(err.to_string().contains("line 3"), "{err}");
    }

    #[test]
    fn given_invalid_utf8_then_malformed() {
        let err = render(b"a,b\n1,\xff\xfe\n").unwrap_err();
        assert_eq!(err.name(), ErrorName::CsvMalformed);
        assert!(err.to_string().contains("UTF-8"), "{err}");
    }

    #[test]
    fn given_a_character_split_across_two_fields_then_malformed_naming_line_and_field() {
        // GIVEN a row whose bytes are UTF-8 only when the fields are joined
        // ("é" is C3 A9: the first field ends in C3, the second starts A9)
        let input = b"a,b\nx,y\n\xc3,\xa9\n";
        // WHEN it is read
        let err = render(input).unwrap_err();
        // THEN it is refused as not UTF-8, at its line and first bad field
        assert_eq!(err.name(), ErrorName::CsvMalformed);
        assert!(err.to_string().contains("line 3"), "{err}");
        assert!(err.to_string().contains("field 1"), "{err}");
        assert!(err.to_string().contains("UTF-8"), "{err}");
    }

    #[test]
    fn given_a_report_that_changes_between_the_passes_then_malformed_not_wrong_pages() {
        // GIVEN the first pass over 3 rows
        let scanned = scan::scan(&b"n\n1\n2\n3\n"[..], &Limits::default(), u64::MAX).unwrap();
        let opts = PageOptions {
            page_rows: 2,
            chunk_rows: 10,
            data: true,
        };
        for other in [&b"n\n1\n2\n"[..], &b"n\n1\n2\n3\n4\n"[..]] {
            // WHEN the second pass reads fewer or more rows
            let err = pages::render(
                other,
                io::sink(),
                &scanned,
                &meta(),
                opts,
                &Limits::default(),
                &mut |_| Ok(()),
            )
            .unwrap_err();
            // THEN it fails, saying why
            assert_eq!(err.name(), ErrorName::CsvMalformed);
            assert!(
                err.to_string().contains("changed while it was read"),
                "{err}"
            );
        }
    }

    #[test]
    fn given_an_html_error_page_then_malformed_not_a_one_column_table() {
        let err =
            render(b"<!DOCTYPE html>\n<html><body>Internal error</body></html>\n").unwrap_err();
        assert_eq!(err.name(), ErrorName::CsvMalformed);
    }

    #[test]
    fn given_a_bom_and_crlf_then_the_header_is_clean() {
        let (html, stats) = render(b"\xEF\xBB\xBFid,name\r\n1,x\r\n").unwrap();
        assert!(
            html.contains("<th scope=\"col\" data-type=\"integer\">id</th>"),
            "{html}"
        );
        assert_eq!(stats.rows, 1);
    }

    #[test]
    fn given_more_rows_than_the_limit_then_limit_exceeded() {
        let limits = Limits {
            max_rows: 2,
            ..Limits::default()
        };
        let err = render_with(b"a\n1\n2\n3\n", &limits, 0).unwrap_err();
        assert_eq!(err.name(), ErrorName::CsvLimitExceeded);
    }

    #[test]
    fn given_more_bytes_than_the_limit_then_limit_exceeded() {
        let limits = Limits {
            max_bytes: 10,
            ..Limits::default()
        };
        let err = render_with(b"a,b\n1,2\n3,4\n5,6\n", &limits, 0).unwrap_err();
        assert_eq!(err.name(), ErrorName::CsvLimitExceeded, "{err}");
    }

    #[test]
    fn given_many_pages_then_every_row_is_rendered_once_with_a_header_a_page() {
        let mut csv = String::from("n\n");
        for i in 0..307 {
            csv.push_str(&format!("x{i}\n"));
        }
        let (html, stats) = render_with(csv.as_bytes(), &Limits::default(), 100).unwrap();
        assert_eq!(stats.rows, 307);
        // 4 pages, each with its header row; 307 data rows in all.
        assert_eq!(html.matches("<!DOCTYPE html>").count(), 4);
        assert_eq!(html.matches("<tr>").count(), 307 + 4);
        for i in [0, 99, 100, 306] {
            assert_eq!(
                html.matches(&format!("<td>x{i}</td>")).count(),
                1,
                "row {i}"
            );
        }
        assert!(html.contains("Rows 301–307 of 307 (page 4 of 4)"), "{html}");
    }
}
