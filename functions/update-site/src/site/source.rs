//! A stored report read as CSV, row by row, with the limits enforced as it
//! streams (bytes, rows, columns, field size; NUL bytes, ragged rows and bad
//! UTF-8 refused) and, optionally, every byte read copied to a writer (the
//! gzip download is made from the very bytes that are rendered).
//!
//! Rows are cut by [`Tokenizer`] (the csv crate's reading, a field at a
//! time) into a reused [`Record`]. A row the tokenizer found in input it
//! had checked in bulk is UTF-8 without NUL bytes already; any other is
//! checked here once, whole, then at its fields' (ASCII-delimited)
//! boundaries, which names the field at fault. (`StringRecord` checks field
//! by field whenever a row is not all ASCII: a tenth of the render by perf.)

use std::io::{self, Chain, Cursor, Read, Write};

use csv::StringRecord;

use super::record::{Cells, Record};
use super::tokenizer::Tokenizer;
use crate::render::{
    check_record, check_sizes, not_utf8, nul_byte, ragged, read_up_to, strip_bom, Counting, Limits,
    RenderError,
};

/// Copies what is read from `inner` into `copy`.
pub(crate) struct Tee<R, W> {
    inner: R,
    copy: W,
}

impl<R: Read, W: Write> Read for Tee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.copy.write_all(&buf[..n])?;
        Ok(n)
    }
}

impl<R, W> Tee<R, W> {
    pub(crate) fn new(inner: R, copy: W) -> Self {
        Tee { inner, copy }
    }
    pub(crate) fn into_copy(self) -> W {
        self.copy
    }
}

type Source<R> = Chain<Cursor<Vec<u8>>, Counting<R>>;

/// The report's rows after its header.
pub(crate) struct CsvRows<R: Read> {
    reader: Tokenizer<Source<R>>,
    pub(crate) header: StringRecord,
    record: Record,
    rows: u64,
    limits: Limits,
}

/// One row's fields, checked as UTF-8 text.
pub(crate) struct Row<'a> {
    record: &'a Record,
}

impl<'a> Row<'a> {
    /// `record` as text, if the whole row and each field is UTF-8; else the
    /// (0-based) field where the check failed.
    fn new(record: &'a Record, ascii: bool) -> Result<Self, usize> {
        let raw = record.as_slice();
        // An ASCII row (most rows of most reports) is UTF-8 whatever its cuts.
        if ascii {
            return Ok(Row { record });
        }
        let field_at = |offset: usize| {
            (0..record.len())
                .find(|&i| record.range(i).is_some_and(|r| offset < r.end))
                .unwrap_or(0)
        };
        // simdutf8's "compat" check gives where a bad byte is, as std's
        // does, at several times std's speed on text that is not ASCII.
        simdutf8::compat::from_utf8(raw).map_err(|e| field_at(e.valid_up_to()))?;
        // A whole row that is UTF-8 can still be cut inside a character
        // (one field ending in a lead byte, the next starting with the
        // rest): then the next field starts with a continuation byte.
        for i in 1..record.len() {
            let start = record.range(i).map_or(0, |r| r.start);
            if raw.get(start).is_some_and(|&b| (0x80..0xc0).contains(&b)) {
                return Err(i - 1);
            }
        }
        Ok(Row { record })
    }

    pub(crate) fn cells(&self) -> Cells<'a> {
        self.record.cells()
    }
}

impl<R: Read> CsvRows<R> {
    /// Reads the header; refuses what is not CSV text.
    pub(crate) fn open(input: R, limits: &Limits) -> Result<Self, RenderError> {
        let mut counted = Counting {
            inner: input,
            count: 0,
            max: limits.max_bytes,
        };
        let mut sniff = vec![0u8; 512];
        let sniffed = read_up_to(&mut counted, &mut sniff).map_err(RenderError::Read)?;
        sniff.truncate(sniffed);
        if let Some(kind) = shared::payload::sniff_non_csv(&sniff) {
            return Err(RenderError::Malformed(format!(
                "the body looks like {kind}, not CSV"
            )));
        }
        let mut reader = Tokenizer::new(Cursor::new(sniff).chain(counted), 256 * 1024);
        let mut first = Record::new();
        if !reader.read(&mut first).map_err(RenderError::Read)? {
            return Err(RenderError::Malformed(
                "the report is empty: no header row".into(),
            ));
        }
        let header = StringRecord::from_byte_record(first.iter().collect())
            .map_err(|e| not_utf8(1, e.utf8_error().field()))?;
        let header = strip_bom(header);
        if header.len() > limits.max_columns {
            return Err(RenderError::Limit(format!(
                "{} columns, more than the limit of {}",
                header.len(),
                limits.max_columns
            )));
        }
        check_record(&Record::from_fields(header.as_byte_record(), 1), limits)?;
        Ok(CsvRows {
            reader,
            header,
            record: Record::new(),
            rows: 0,
            limits: limits.clone(),
        })
    }

    /// Reads the next row and counts it; false at the end.
    fn read(&mut self) -> Result<bool, RenderError> {
        if !self
            .reader
            .read(&mut self.record)
            .map_err(RenderError::Read)?
        {
            return Ok(false);
        }
        self.rows += 1;
        // As the csv crate does (`flexible(false)`), before any limit.
        if self.record.len() != self.header.len() {
            return Err(ragged(self.line(), self.record.len(), self.header.len()));
        }
        if self.rows > self.limits.max_rows {
            return Err(RenderError::Limit(format!(
                "more than {} rows",
                self.limits.max_rows
            )));
        }
        Ok(true)
    }

    /// The last row read.
    pub(crate) fn record(&self) -> &Record {
        &self.record
    }

    /// The next row, every limit checked and every byte UTF-8; `None` at
    /// the end.
    pub(crate) fn next(&mut self) -> Result<Option<Row<'_>>, RenderError> {
        if !self.read()? {
            return Ok(None);
        }
        let line = self.line();
        check_sizes(&self.record, &self.limits)?;
        if self.record.known_utf8() {
            // The tokenizer checked its input in bulk: UTF-8, no NUL.
            return Ok(Some(Row {
                record: &self.record,
            }));
        }
        // ASCII and NUL in one pass over the row, a word at a time.
        let (ascii, nul) = crate::swar::ascii_and_nul(self.record.as_slice());
        if nul {
            return Err(nul_byte(line));
        }
        Row::new(&self.record, ascii)
            .map(Some)
            .map_err(|field| crate::render::not_utf8(line, field))
    }

    /// The line the last row read starts on.
    fn line(&self) -> u64 {
        self.record.line()
    }

    /// Bytes read so far (all of them, at the end).
    pub(crate) fn bytes(&self) -> u64 {
        self.reader.get_ref().get_ref().1.count
    }

    /// The input, to take back what wraps it.
    pub(crate) fn into_inner(self) -> R {
        self.reader.into_inner().into_inner().1.inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row of `csv` after its header, or the first error's message.
    fn rows(csv: &[u8]) -> Result<Vec<Vec<String>>, String> {
        let mut rows = CsvRows::open(csv, &Limits::default()).map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| e.to_string())? {
            out.push(
                row.cells()
                    .map(|c| String::from_utf8(c.text.to_vec()).expect("checked as UTF-8"))
                    .collect(),
            );
        }
        Ok(out)
    }

    #[test]
    fn given_ascii_and_other_utf8_rows_when_read_then_every_field_is_text() {
        assert_eq!(
            rows("a,b\nplain,1\nZoë,\"東京, 日本\"\n".as_bytes()),
            Ok(vec![
                vec!["plain".to_string(), "1".to_string()],
                vec!["Zoë".to_string(), "東京, 日本".to_string()],
            ])
        );
    }

    #[test]
    fn given_a_byte_that_is_not_utf8_when_read_then_its_line_and_field_are_named() {
        let err = rows(b"a,b,c\nok,fine,x\nok,b\xff,x\n").unwrap_err();
        assert!(err.contains("line 3: invalid UTF-8 in field 2"), "{err}");
    }

    #[test]
    fn given_a_character_cut_between_two_fields_when_read_then_the_first_is_refused() {
        // GIVEN "é" split by the comma: the row's bytes without their
        // delimiters are UTF-8, each field is not
        let err = rows(b"a,b\nx\xc3,\xa9y\n").unwrap_err();
        assert!(err.contains("line 2: invalid UTF-8 in field 1"), "{err}");
        // AND the same with an empty field between the halves
        let err = rows(b"a,b,c\nx\xc3,,\xa9y\n").unwrap_err();
        assert!(err.contains("line 2: invalid UTF-8 in field 1"), "{err}");
    }

    #[test]
    fn given_a_nul_byte_when_read_then_the_body_is_called_binary() {
        // (past the first bytes, which are sniffed for binary apart)
        let mut csv = b"a\n".to_vec();
        csv.extend(b"text\n".repeat(200));
        csv.extend(b"x\x00y\n");
        let err = rows(&csv).unwrap_err();
        assert!(err.contains("line 202: a NUL byte"), "{err}");
    }
}
