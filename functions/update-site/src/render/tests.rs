//! The escaper against askama's, and the passes on small reports: every
//! cell once and escaped, and each refusal named (limits, bad input).

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
    // (and short ones with a special byte at each place)
    for at in 0..16 {
        for special in ["<", "&", "\"", "'", ">"] {
            texts.push(format!(
                "{}{special}{}",
                "a".repeat(at),
                "b".repeat(15 - at)
            ));
        }
    }
    // (and two specials, or a special and the byte after it, which the
    // word test may flag too, at any two places of a short or long cell)
    for x in "\"#&'(<=>?".chars() {
        for y in "\"#&'(<=>?".chars() {
            for len in [16, 19] {
                for i in 0..len {
                    for j in i + 1..len {
                        let mut t = vec!['a'; len];
                        (t[i], t[j]) = (x, y);
                        texts.push(t.into_iter().collect());
                    }
                }
            }
        }
    }
    for text in &texts {
        // WHEN escaped by escape_into, as a record's cell (a short one as
        // two words), and by askama
        let mut ours = Vec::new();
        escape_into(&mut ours, text.as_bytes());
        let ours = String::from_utf8(ours).expect("UTF-8 in, UTF-8 out");
        let record = Record::from_fields([text.as_bytes(), b"<next>"], 1);
        let mut as_cell = Vec::new();
        escape_cell_into(&mut as_cell, record.cells().next().expect("a cell"));
        let askamas = askama::filters::escape(text, askama::filters::Html)
            .expect("escaping cannot fail")
            .to_string();
        // THEN the output is the same
        assert_eq!(ours, askamas, "for {text:?}");
        assert_eq!(as_cell, askamas.as_bytes(), "as a cell, for {text:?}");
    }
}

#[test]
fn given_quoted_fields_when_rendered_then_every_cell_is_one_escaped_td() {
    let (html, stats) =
        render(b"name,note\n\"Smith, J\",\"line1\nline2\"\n<b>x</b>,\"say \"\"hi\"\"\"\n").unwrap();
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
    let err = render(b"<!DOCTYPE html>\n<html><body>Internal error</body></html>\n").unwrap_err();
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
