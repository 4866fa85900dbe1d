//! A stored report read as CSV, row by row, with the limits enforced as it
//! streams (bytes, rows, columns, field size; NUL bytes, ragged rows and bad
//! UTF-8 refused) and, optionally, every byte read copied to a writer (the
//! gzip download is made from the very bytes that are rendered).
//!
//! Rows are read as bytes (`read_byte_record`, the csv crate's fastest
//! reader) and each row is checked as UTF-8 once, whole, then cut into
//! fields at their (ASCII-delimited) boundaries: `StringRecord` checks field
//! by field whenever a row is not all ASCII, which was a tenth of the
//! render time by perf.

use std::io::{self, Chain, Cursor, Read, Write};

use csv::{ByteRecord, StringRecord};

use crate::render::{
    check_record, csv_error, read_up_to, strip_bom, Counting, Limits, RenderError,
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
    reader: csv::Reader<Source<R>>,
    pub(crate) header: StringRecord,
    record: ByteRecord,
    rows: u64,
    limits: Limits,
}

/// One row's fields as text.
pub(crate) struct Row<'a> {
    text: &'a str,
    record: &'a ByteRecord,
}

impl<'a> Row<'a> {
    /// `record` as text, if the whole row and each field is UTF-8; else the
    /// (0-based) field where the check failed.
    fn new(record: &'a ByteRecord) -> Result<Self, usize> {
        let field_at = |offset: usize| {
            (0..record.len())
                .find(|&i| record.range(i).is_some_and(|r| offset < r.end))
                .unwrap_or(0)
        };
        let text = std::str::from_utf8(record.as_slice()).map_err(|e| field_at(e.valid_up_to()))?;
        // A whole row that is UTF-8 can still be cut inside a character
        // (one field ending in a lead byte, the next starting with the rest).
        for i in 0..record.len() {
            if let Some(r) = record.range(i) {
                if text.get(r.clone()).is_none() {
                    return Err(i);
                }
            }
        }
        Ok(Row { text, record })
    }

    pub(crate) fn len(&self) -> usize {
        self.record.len()
    }

    /// Field `i` (checked in [`Row::new`]).
    pub(crate) fn get(&self, i: usize) -> Option<&'a str> {
        self.record.range(i).and_then(|r| self.text.get(r))
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &'a str> + '_ {
        (0..self.len()).map(|i| self.get(i).unwrap_or(""))
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
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(false)
            .buffer_capacity(256 * 1024)
            .from_reader(Cursor::new(sniff).chain(counted));
        let mut header = StringRecord::new();
        if !reader.read_record(&mut header).map_err(csv_error)? {
            return Err(RenderError::Malformed(
                "the report is empty: no header row".into(),
            ));
        }
        let header = strip_bom(header);
        if header.len() > limits.max_columns {
            return Err(RenderError::Limit(format!(
                "{} columns, more than the limit of {}",
                header.len(),
                limits.max_columns
            )));
        }
        check_record(header.as_byte_record(), 1, limits)?;
        Ok(CsvRows {
            reader,
            header,
            record: ByteRecord::new(),
            rows: 0,
            limits: limits.clone(),
        })
    }

    /// The next row's fields as bytes, every limit checked but not yet
    /// UTF-8: the first pass only learns the report's shape, and the
    /// second checks every byte it shows (see [`CsvRows::next`]).
    pub(crate) fn next_record(&mut self) -> Result<Option<&ByteRecord>, RenderError> {
        if !self
            .reader
            .read_byte_record(&mut self.record)
            .map_err(csv_error)?
        {
            return Ok(None);
        }
        self.rows += 1;
        if self.rows > self.limits.max_rows {
            return Err(RenderError::Limit(format!(
                "more than {} rows",
                self.limits.max_rows
            )));
        }
        check_record(&self.record, self.line(), &self.limits)?;
        Ok(Some(&self.record))
    }

    /// The next row; `None` at the end.
    pub(crate) fn next(&mut self) -> Result<Option<Row<'_>>, RenderError> {
        if self.next_record()?.is_none() {
            return Ok(None);
        }
        let line = self.line();
        Row::new(&self.record)
            .map(Some)
            .map_err(|field| crate::render::not_utf8(line, field))
    }

    /// The line the last row read starts on.
    fn line(&self) -> u64 {
        self.record.position().map_or(self.rows + 1, |p| p.line())
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
