//! A stored report read as CSV, row by row, with the limits enforced as it
//! streams (bytes, rows, columns, field size; NUL bytes, ragged rows and bad
//! UTF-8 refused) and, optionally, every byte read copied to a writer (the
//! gzip download is made from the very bytes that are rendered).

use std::io::{self, Chain, Cursor, Read, Write};

use csv::StringRecord;

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
    rows: u64,
    limits: Limits,
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
        check_record(&header, 1, limits)?;
        Ok(CsvRows {
            reader,
            header,
            rows: 0,
            limits: limits.clone(),
        })
    }

    /// The next row into `record`; `false` at the end.
    pub(crate) fn next(&mut self, record: &mut StringRecord) -> Result<bool, RenderError> {
        if !self.reader.read_record(record).map_err(csv_error)? {
            return Ok(false);
        }
        self.rows += 1;
        if self.rows > self.limits.max_rows {
            return Err(RenderError::Limit(format!(
                "more than {} rows",
                self.limits.max_rows
            )));
        }
        let line = record.position().map_or(self.rows + 1, |p| p.line());
        check_record(record, line, &self.limits)?;
        Ok(true)
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
