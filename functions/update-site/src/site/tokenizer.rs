//! The report's bytes cut into records exactly as the csv crate cuts them
//! with its defaults (`,` between fields, `"` quoting with `""` for a quote,
//! CR, LF or CRLF ending a record, empty lines skipped), but a field at a
//! time instead of a byte at a time.
//!
//! Why our own: csv-core walks a DFA byte by byte; that walk was the largest
//! part of the render (perf: a third of its thread), as much as the whole
//! `ByteRecord` floor it is measured against. Here [`crate::swar::find`]
//! looks for the next byte that matters (`,` CR LF in a plain field, `"` in
//! a quoted one, counting the LF bytes on the way) 16 bytes at a time with
//! SSE2 on x86_64 and NEON on arm64. (memchr's SIMD searches lost
//! to csv-core on this: a field is a dozen bytes, shorter than a search's
//! set-up, which these inline compares do not have.)
//! simd-csv searches with SIMD too, but
//! documents that it reads some input differently from the csv crate (a
//! quote inside a plain field, a CR at the start of a record), and the
//! passes (DownloadReport's profile, UpdateSite's scan and pages) must read
//! every report as the csv crate does, byte for byte, record for record.
//!
//! Each buffer of input is also checked as UTF-8 without NUL bytes in bulk
//! as it is read (simdutf8, memchr), and a record that lies wholly in
//! checked input says so: its fields need no check of their own. Only a
//! record that does not (input that is not UTF-8, or a record longer than
//! the buffer) is checked row by row, by `source`, which names the field
//! at fault.
//!
//! A record longer than the buffer is handed to csv-core itself, streaming,
//! so a huge field costs what it cost before. The tests compare every record,
//! field and line number with the csv crate on generated inputs cut into
//! every buffer size.

use std::io::{self, Read};
use std::ops::Range;

use csv_core::ReadRecordResult;

use super::record::Record;
use crate::swar::{find, find_counting};

/// Reads records from `input` through a buffer of its own.
pub(crate) struct Tokenizer<R> {
    input: R,
    buf: Vec<u8>,
    /// Unread bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    eof: bool,
    /// As csv-core counts it: 1 + the LF bytes consumed so far.
    line: u64,
    /// Whether anything was read (a BOM counts only before).
    started: bool,
    /// A field being put together (it holds `""` or text after its quote).
    scratch: Vec<u8>,
    /// `buf[utf8]` is UTF-8 without a NUL byte, and starts where a
    /// character does.
    utf8: Range<usize>,
}

/// How a record ended in the buffer.
enum Parsed {
    /// A whole record: this many bytes (up to and including its terminator)
    /// and LF bytes among them.
    Record { len: usize, newlines: u64 },
    /// The buffer ends inside the record: more input is needed.
    More,
}

impl<R: Read> Tokenizer<R> {
    pub(crate) fn new(input: R, capacity: usize) -> Self {
        Tokenizer {
            input,
            // Room for a BOM at least (see `read`).
            buf: vec![0; capacity.max(3)],
            start: 0,
            end: 0,
            eof: false,
            line: 1,
            started: false,
            scratch: Vec::new(),
            utf8: 0..0,
        }
    }

    /// The next record into `record`, its line the csv crate's (the line
    /// after the record before); false at the end.
    pub(crate) fn read(&mut self, record: &mut Record) -> io::Result<bool> {
        record.clear(self.line);
        if !self.started {
            // csv-core drops a UTF-8 BOM before its first record (when its
            // first input holds 3 bytes; here it always does, the buffer is
            // filled first).
            self.started = true;
            self.fill()?;
            if self.buf[self.start..self.end].starts_with(b"\xef\xbb\xbf") {
                self.consume(3, 0);
            }
        }
        if !self.skip_empty_lines()? {
            return Ok(false);
        }
        loop {
            let unread = &self.buf[self.start..self.end];
            match parse(unread, self.eof, record, &mut self.scratch) {
                Parsed::Record { len, newlines } => {
                    // It starts after a terminator (or at the start), so
                    // where a character does: in checked input, it is UTF-8.
                    let span = self.start..self.start + len;
                    record
                        .set_known_utf8(self.utf8.start <= span.start && span.end <= self.utf8.end);
                    self.consume(len, newlines);
                    break;
                }
                Parsed::More if self.start > 0 || self.end < self.buf.len() => {
                    record.truncate_fields();
                    self.fill()?;
                }
                Parsed::More => {
                    record.truncate_fields();
                    self.read_long(record)?;
                    break;
                }
            }
        }
        record.seal();
        Ok(true)
    }

    /// Skips CR and LF before a record, as csv-core does; false at the end.
    fn skip_empty_lines(&mut self) -> io::Result<bool> {
        loop {
            let unread = &self.buf[self.start..self.end];
            let skip = unread
                .iter()
                .position(|&b| b != b'\n' && b != b'\r')
                .unwrap_or(unread.len());
            let newlines = newlines(&unread[..skip]);
            self.consume(skip, newlines);
            if self.start < self.end {
                return Ok(true);
            }
            if self.eof {
                return Ok(false);
            }
            self.fill()?;
        }
    }

    fn consume(&mut self, n: usize, newlines: u64) {
        self.start += n;
        self.line += newlines;
    }

    /// Moves the unread bytes to the front and reads until the buffer is
    /// full or the input ends; then checks what is new as UTF-8.
    fn fill(&mut self) -> io::Result<()> {
        let shift = self.start;
        self.buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        while self.end < self.buf.len() && !self.eof {
            match self.input.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.check_utf8(shift);
        Ok(())
    }

    /// Extends the checked span over the bytes just read. Where the span
    /// was consumed whole, it starts again from the unread bytes, which
    /// start a record (only a long record's csv-core reading can leave them
    /// inside a character: then the check fails at once and nothing counts
    /// as checked until the next fill).
    fn check_utf8(&mut self, shift: usize) {
        let end = self.utf8.end.saturating_sub(shift);
        self.utf8 = if end == 0 {
            0..0
        } else {
            self.utf8.start.saturating_sub(shift)..end
        };
        // A character cut by the buffer's end is checked whole next time.
        let new = &self.buf[self.utf8.end..self.end];
        let mut valid = match simdutf8::compat::from_utf8(new) {
            Ok(_) => new.len(),
            Err(e) => e.valid_up_to(),
        };
        // Nor a NUL byte (rare: the body is binary), so that a row known
        // to be UTF-8 needs no look for one either.
        if new[..valid].contains(&0) {
            valid = new.iter().position(|&b| b == 0).unwrap_or(valid);
        }
        self.utf8.end += valid;
    }

    /// A record longer than the buffer, read by csv-core as it streams.
    fn read_long(&mut self, record: &mut Record) -> io::Result<()> {
        let mut core = csv_core::Reader::new();
        let mut out = vec![0u8; self.buf.len()];
        let mut ends = vec![0usize; 64];
        let (mut outlen, mut endlen) = (0, 0);
        let mut first = true;
        loop {
            if self.start == self.end && !self.eof {
                self.fill()?;
            }
            let mut unread = &self.buf[self.start..self.end];
            if first {
                // A new csv-core drops a BOM its first input starts with;
                // ours is mid-file. An input under 3 bytes is never one.
                unread = &unread[..unread.len().min(2)];
                first = false;
            }
            let (res, nin, nout, nend) =
                core.read_record(unread, &mut out[outlen..], &mut ends[endlen..]);
            let newlines = newlines(&unread[..nin]);
            self.consume(nin, newlines);
            outlen += nout;
            endlen += nend;
            match res {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => out.resize(out.len() * 2, 0),
                ReadRecordResult::OutputEndsFull => ends.resize(ends.len() * 2, 0),
                ReadRecordResult::Record | ReadRecordResult::End => break,
            }
        }
        let mut from = 0;
        for &to in &ends[..endlen] {
            record.push_field(&out[from..to]);
            from = to;
        }
        Ok(())
    }

    pub(crate) fn get_ref(&self) -> &R {
        &self.input
    }

    pub(crate) fn into_inner(self) -> R {
        self.input
    }
}

fn newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

/// One record from the start of `buf` (which is not CR or LF), its fields
/// pushed onto `record`. At the end of the input (`eof`) the buffer's end
/// ends the record, as it does for csv-core.
fn parse(buf: &[u8], eof: bool, record: &mut Record, scratch: &mut Vec<u8>) -> Parsed {
    let mut i = 0;
    let mut lf = 0u64;
    // One field per turn; `i` is where it starts.
    loop {
        scratch.clear();
        let mut assembled = false;
        if buf.get(i) == Some(&b'"') {
            match quoted(buf, i + 1, eof, record, scratch, &mut lf) {
                Quoted::Next(next) => {
                    i = next;
                    continue;
                }
                Quoted::Plain(from) => {
                    assembled = true;
                    i = from;
                }
                Quoted::End(parsed) => return parsed,
            }
        }
        // A plain field (or the rest of a quoted one): up to `,` CR or LF;
        // a quote here is text.
        match find(&buf[i..], [b',', b'\n', b'\r']).map(|p| i + p) {
            None if !eof => return Parsed::More,
            None => {
                push(record, scratch, assembled, &buf[i..]);
                return Parsed::Record {
                    len: buf.len(),
                    newlines: lf,
                };
            }
            Some(p) => {
                if assembled {
                    push(record, scratch, assembled, &buf[i..p]);
                } else {
                    record.push_field_of(buf, i..p);
                }
                if buf[p] != b',' {
                    return end_record(buf, p + 1, lf);
                }
                i = p + 1;
            }
        }
    }
}

/// How a quoted field ended.
enum Quoted {
    /// Pushed; the next field starts here.
    Next(usize),
    /// Text follows its closing quote: `scratch` holds the field so far,
    /// and it goes on as a plain field from here (csv-core's `InField`).
    Plain(usize),
    /// The record ended with it (or more input is needed).
    End(Parsed),
}

/// A quoted field whose text starts at `from`: it runs to a quote that is
/// not doubled. LF bytes inside are counted into `lf`.
fn quoted(
    buf: &[u8],
    mut from: usize,
    eof: bool,
    record: &mut Record,
    scratch: &mut Vec<u8>,
    lf: &mut u64,
) -> Quoted {
    let mut assembled = false;
    loop {
        // LF bytes up to the closing quote (or the buffer's end) counted
        // in the same read.
        let (q, newlines) = find_counting(&buf[from..], b'"', b'\n');
        *lf += newlines;
        let Some(q) = q.map(|q| from + q) else {
            if !eof {
                return Quoted::End(Parsed::More);
            }
            // Unclosed at the end of the input: the rest is the field.
            push(record, scratch, assembled, &buf[from..]);
            return Quoted::End(Parsed::Record {
                len: buf.len(),
                newlines: *lf,
            });
        };
        match buf.get(q + 1) {
            Some(b'"') => {
                // `""`: one quote, and the field goes on.
                scratch.extend_from_slice(&buf[from..=q]);
                assembled = true;
                from = q + 2;
            }
            None if !eof => return Quoted::End(Parsed::More),
            None => {
                push(record, scratch, assembled, &buf[from..q]);
                return Quoted::End(Parsed::Record {
                    len: q + 1,
                    newlines: *lf,
                });
            }
            Some(b',') => {
                push(record, scratch, assembled, &buf[from..q]);
                return Quoted::Next(q + 2);
            }
            Some(b'\n' | b'\r') => {
                push(record, scratch, assembled, &buf[from..q]);
                return Quoted::End(end_record(buf, q + 2, *lf));
            }
            Some(_) => {
                scratch.extend_from_slice(&buf[from..q]);
                return Quoted::Plain(q + 1);
            }
        }
    }
}

/// The record ends with the terminator just before `after`.
fn end_record(buf: &[u8], after: usize, lf: u64) -> Parsed {
    Parsed::Record {
        len: after,
        newlines: lf + u64::from(buf[after - 1] == b'\n'),
    }
}

/// Pushes a field: `tail` alone, or `tail` after what `scratch` holds.
fn push(record: &mut Record, scratch: &mut Vec<u8>, assembled: bool, tail: &[u8]) {
    if assembled {
        scratch.extend_from_slice(tail);
        record.push_field(scratch);
    } else {
        record.push_field(tail);
    }
}

#[cfg(test)]
mod tests;
