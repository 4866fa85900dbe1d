//! What every pass over a report shares: its [`Limits`], the errors of
//! reading it ([`RenderError`]) and their names, the cell escaper
//! ([`escape_into`]), and the CSV reading helpers `site::source` builds on.

use std::io::{self, Read, Write};

use csv::StringRecord;
use shared::errors::ErrorName;

use crate::site::record::{copy_short, Cell, Record};
use crate::swar;

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
    // Found a word at a time; a cell without any is one copy. (No test
    // first for whether there are any: it read each long cell twice.)
    escape_at(out, cell, swar::html_places(cell));
}

/// [`escape_into`] for a record's cell: a short one (most) is tested and
/// copied as two words, and a special one escaped where its flags point.
#[inline(always)]
pub(crate) fn escape_cell_into(out: &mut Vec<u8>, cell: Cell<'_>) {
    match cell.short() {
        Some((short, window)) => {
            let flags = short.html_flags();
            if flags.none() {
                copy_short(out, window, cell.text.len());
            } else {
                escape_at(out, cell.text, flags.places());
            }
        }
        None => escape_into(out, cell.text),
    }
}

/// The entity askama writes for `b`, if `b` is one it escapes.
#[inline]
fn entity(b: u8) -> Option<&'static [u8]> {
    Some(match b {
        b'"' => b"&#34;",
        b'&' => b"&#38;",
        b'\'' => b"&#39;",
        b'<' => b"&#60;",
        b'>' => b"&#62;",
        _ => return None,
    })
}

/// `cell` with each byte at `places` that askama escapes escaped; `places`
/// must hold every such byte's place, lowest first. A short cell's come
/// from its [`swar::Flags`].
#[inline]
fn escape_at(out: &mut Vec<u8>, cell: &[u8], places: impl Iterator<Item = usize>) {
    let mut done = 0;
    for i in places {
        let Some(entity) = cell.get(i).copied().and_then(entity) else {
            continue;
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
    if record.as_slice().contains(&0) {
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
mod tests;
