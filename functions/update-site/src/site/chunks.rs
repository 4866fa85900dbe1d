//! The data chunks: the report's rows again as JSON (`{"rows":[[…],…]}`),
//! a chunk every `chunk_rows` rows, which the page's script loads to sort
//! and filter the whole report in the browser.

use std::io;

use super::layout;
use super::pages::SiteObject;
use super::record::{copy_short, Cell};
use crate::render::RenderError;
use crate::swar;

/// `text` as a JSON string, exactly as serde_json writes it (a test
/// compares the two on every byte): most cells hold no quote, backslash or
/// control character and are one copy between quotes. Our own rather than
/// serde_json's for the others, which wants a `&str` and so a second UTF-8
/// check of text the row has already passed (4% of the render time, perf).
fn push_json_str(out: &mut Vec<u8>, text: &[u8]) {
    out.push(b'"');
    push_escaped(out, text, swar::places(text, swar::json_word));
    out.push(b'"');
}

/// `text` with each byte at `places` that JSON escapes escaped; `places`
/// must hold every such byte's place, lowest first.
#[inline]
fn push_escaped(out: &mut Vec<u8>, text: &[u8], places: impl Iterator<Item = usize>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut done = 0;
    for i in places {
        let Some(&b) = text.get(i) else { continue };
        let short: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..0x20 => &[],
            _ => continue,
        };
        out.extend_from_slice(&text[done..i]);
        if short.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.extend_from_slice(&[HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]]);
        } else {
            out.extend_from_slice(short);
        }
        done = i + 1;
    }
    out.extend_from_slice(&text[done..]);
}

/// The next data chunk, `{"rows":[["a","b"],…]}` (what serde_json writes
/// for it), built row by row as they are read: no copy of a cell but the
/// escaped one.
pub(crate) struct ChunkBuf {
    body: Vec<u8>,
    pub(crate) rows: usize,
}

impl ChunkBuf {
    const OPEN: &'static [u8] = b"{\"rows\":[";

    pub(crate) fn new() -> Self {
        ChunkBuf {
            body: Self::OPEN.to_vec(),
            rows: 0,
        }
    }

    #[cfg(test)]
    pub(crate) fn push(&mut self, row: &super::source::Row<'_>) {
        self.open_row();
        for (i, cell) in row.cells().enumerate() {
            self.push_cell(i, cell);
        }
        self.close_row();
    }

    /// Starts the next row; then [`ChunkBuf::push_cell`] for each cell and
    /// [`ChunkBuf::close_row`], so that the page can write the same cell
    /// in the same loop.
    #[inline]
    pub(crate) fn open_row(&mut self) {
        if self.rows > 0 {
            self.body.push(b',');
        }
        self.body.push(b'[');
    }

    /// The row's cell `i` (0-based).
    #[inline]
    pub(crate) fn push_cell(&mut self, i: usize, cell: Cell<'_>) {
        if i > 0 {
            self.body.push(b',');
        }
        match cell.short() {
            // Most cells: tested and copied as two words; a special one
            // escaped where its flags point.
            Some((short, window)) => {
                self.body.push(b'"');
                let flags = short.json_flags();
                if flags.none() {
                    copy_short(&mut self.body, window, cell.text.len());
                } else {
                    push_escaped(&mut self.body, cell.text, flags.places());
                }
                self.body.push(b'"');
            }
            None => push_json_str(&mut self.body, cell.text),
        }
    }

    #[inline]
    pub(crate) fn close_row(&mut self) {
        self.body.push(b']');
        self.rows += 1;
    }
}

/// Emits the rows gathered so far as the next data chunk.
pub(crate) fn flush_chunk(
    emit: &mut dyn FnMut(SiteObject) -> io::Result<()>,
    folder: &str,
    chunk: &mut ChunkBuf,
    chunks: &mut Vec<String>,
) -> Result<(), RenderError> {
    // The next chunk is about as long as this one: one allocation for it.
    let mut next = Vec::with_capacity(chunk.body.capacity());
    next.extend_from_slice(ChunkBuf::OPEN);
    let mut body = std::mem::replace(&mut chunk.body, next);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site::source::CsvRows;
    use crate::Limits;

    #[test]
    fn given_any_text_when_written_as_json_then_it_matches_serde_json() {
        // GIVEN every byte (and char) alone and around text, and plain text
        let mut texts = vec![
            String::new(),
            "plain".to_string(),
            "é😀 \"q\" \\".to_string(),
        ];
        for c in (0u32..0x100).chain([0x2028, 0xfeff]) {
            let c = char::from_u32(c).expect("a char");
            texts.push(format!("{c}"));
            texts.push(format!("a{c}b"));
        }
        for text in &texts {
            // WHEN written by push_json_str and by serde_json
            let mut ours = Vec::new();
            push_json_str(&mut ours, text.as_bytes());
            let theirs = serde_json::to_vec(text).expect("serializes");
            // THEN the bytes are the same
            assert_eq!(ours, theirs, "for {text:?}");
        }
    }

    #[test]
    fn given_rows_with_any_byte_when_chunked_then_the_chunk_is_serde_jsons() {
        // GIVEN a CSV whose cells hold each byte JSON escapes (and others),
        // at each place of short cells and in long ones
        let mut cells: Vec<String> = vec!["plain".into(), String::new(), "x".repeat(40)];
        for c in (1u8..0x80).map(char::from).chain(['é', '😀']) {
            for at in [0, 7, 15] {
                cells.push(format!("{}{c}{}", "a".repeat(at), "b".repeat(15 - at)));
            }
            cells.push(format!("{}{c}", "y".repeat(30)));
        }
        // (and two, or one and the byte after it, at any two places)
        for x in "\"#\\]\t\u{1f} ".chars() {
            for y in "\"#\\]\t\u{1f} ".chars() {
                for len in [16, 19] {
                    for i in 0..len {
                        for j in i + 1..len {
                            let mut t = vec!['a'; len];
                            (t[i], t[j]) = (x, y);
                            cells.push(t.into_iter().collect());
                        }
                    }
                }
            }
        }
        let mut csv = csv::Writer::from_writer(Vec::new());
        csv.write_record(["text", "next"]).expect("in memory");
        for cell in &cells {
            csv.write_record([cell.as_str(), "<after>"])
                .expect("in memory");
        }
        let csv = csv.into_inner().expect("in memory");
        // WHEN read and pushed into a chunk
        let mut rows = CsvRows::open(&csv[..], &Limits::default()).expect("CSV");
        let mut chunk = ChunkBuf::new();
        while let Some(row) = rows.next().expect("a row") {
            chunk.push(&row);
        }
        let mut emitted = Vec::new();
        let mut emit = |o: SiteObject| {
            emitted.push(o.body);
            Ok(())
        };
        flush_chunk(&mut emit, "r/", &mut chunk, &mut Vec::new()).expect("emits");
        // THEN it is what serde_json writes for those rows
        let rows: Vec<[&str; 2]> = cells.iter().map(|c| [c.as_str(), "<after>"]).collect();
        let theirs = serde_json::to_vec(&serde_json::json!({ "rows": rows })).expect("JSON");
        assert_eq!(emitted, [theirs]);
    }
}
