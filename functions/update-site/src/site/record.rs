//! One CSV record as the tokenizer cuts it: its fields end to end in one
//! buffer and where each ends, reused from record to record.
//!
//! Why not the csv crate's `ByteRecord`: its `push_field` is out of line
//! and checks its two buffers' room field by field (behind a `Box`); with
//! the copy it makes, that was a tenth of the render time (perf). Here a
//! field is one `extend_from_slice` and one `push`, inlined into the
//! tokenizer's loop.
//!
//! Once the tokenizer has pushed a record's fields it seals it: 16 zero
//! bytes after the last field give every field a [`Cell`] window, so that
//! the page tests and copies a short cell as two words.
//! Fields are pushed only between `clear` and `seal`.

use std::ops::Range;

use crate::swar::Short;

/// Zero bytes kept after a sealed record's fields, so that every field has
/// 16 bytes from its start (a [`Cell`]'s window).
const PAD: [u8; 16] = [0; 16];

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Record {
    bytes: Vec<u8>,
    /// Where each field ends in `bytes`.
    ends: Vec<usize>,
    /// The line the record starts on, as the csv crate counts it.
    line: u64,
    /// Whether the tokenizer found the record's bytes in input it had
    /// already checked as UTF-8 without a NUL byte (false: not known
    /// either way).
    utf8: bool,
}

impl Record {
    pub(crate) fn new() -> Self {
        Record::default()
    }

    /// A record of `fields`, on `line`.
    pub(crate) fn from_fields<'a>(fields: impl IntoIterator<Item = &'a [u8]>, line: u64) -> Self {
        let mut record = Record::new();
        for f in fields {
            record.push_field(f);
        }
        record.line = line;
        record.seal();
        record
    }

    /// Empties the record for the one starting on `line`.
    pub(crate) fn clear(&mut self, line: u64) {
        self.bytes.clear();
        self.ends.clear();
        self.line = line;
        self.utf8 = false;
    }

    /// Whether the record's input is known to be UTF-8 without a NUL byte:
    /// then so is each field, as its bytes are that input's cut at (and
    /// less) ASCII bytes.
    pub(crate) fn known_utf8(&self) -> bool {
        self.utf8
    }

    pub(crate) fn set_known_utf8(&mut self, utf8: bool) {
        self.utf8 = utf8;
    }

    #[inline]
    pub(crate) fn push_field(&mut self, field: &[u8]) {
        self.bytes.extend_from_slice(field);
        self.ends.push(self.bytes.len());
    }

    /// Pushes `buf[range]`. Most fields are short, and a short one is
    /// copied as 16 bytes (what follows it in `buf` included, then cut
    /// off): one vector move where a copy of its own length is a call.
    #[inline]
    pub(crate) fn push_field_of(&mut self, buf: &[u8], range: Range<usize>) {
        let len = range.len();
        let window = buf.get(range.start..range.start + 16);
        match window.and_then(|w| <&[u8; 16]>::try_from(w).ok()) {
            Some(window) if len <= 16 => {
                copy_short(&mut self.bytes, window, len);
                self.ends.push(self.bytes.len());
            }
            _ => self.push_field(&buf[range]),
        }
    }

    /// Ends the record: pads it so that every field has a window.
    pub(crate) fn seal(&mut self) {
        self.bytes.truncate(self.data_end());
        self.bytes.extend_from_slice(&PAD);
    }

    fn data_end(&self) -> usize {
        self.ends.last().copied().unwrap_or(0)
    }

    /// Drops the fields pushed so far, keeping the line.
    pub(crate) fn truncate_fields(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    pub(crate) fn line(&self) -> u64 {
        self.line
    }

    /// Every field's bytes, end to end.
    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.data_end()]
    }

    /// Where field `i` is in [`Record::as_slice`].
    pub(crate) fn range(&self, i: usize) -> Option<Range<usize>> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(start..end)
    }

    pub(crate) fn get(&self, i: usize) -> Option<&[u8]> {
        self.range(i).map(|r| &self.bytes[r])
    }

    pub(crate) fn iter(&self) -> Fields<'_> {
        Fields {
            bytes: &self.bytes,
            ends: self.ends.iter(),
            start: 0,
        }
    }

    pub(crate) fn cells(&self) -> Cells<'_> {
        Cells {
            fields: self.iter(),
        }
    }
}

/// A field, and the 16 bytes from its start where the record holds them
/// (a sealed record always does): a field of up to 16 bytes is then tested
/// and copied as two words, not byte by byte and by a call.
#[derive(Clone, Copy)]
pub(crate) struct Cell<'a> {
    pub(crate) text: &'a [u8],
    window: Option<&'a [u8; 16]>,
}

impl<'a> Cell<'a> {
    /// The field as a [`Short`] and its window, if it is 16 bytes or less.
    /// Made when asked for: a number cell never is.
    #[inline]
    pub(crate) fn short(&self) -> Option<(Short<'a>, &'a [u8; 16])> {
        let window = self.window.filter(|_| self.text.len() <= 16)?;
        Some((Short::new(window, self.text.len()), window))
    }
}

/// Appends the first `len` bytes of `window` to `out`: one 16-byte copy
/// (then cut back), where a copy of `len` bytes is a call to memcpy.
#[inline]
pub(crate) fn copy_short(out: &mut Vec<u8>, window: &[u8; 16], len: usize) {
    let end = out.len() + len.min(16);
    out.extend_from_slice(window);
    out.truncate(end);
}

/// A record's cells in order.
pub(crate) struct Cells<'a> {
    fields: Fields<'a>,
}

impl<'a> Iterator for Cells<'a> {
    type Item = Cell<'a>;

    #[inline]
    fn next(&mut self) -> Option<Cell<'a>> {
        let start = self.fields.start;
        let text = self.fields.next()?;
        let window = self
            .fields
            .bytes
            .get(start..start + 16)
            .and_then(|w| w.try_into().ok());
        Some(Cell { text, window })
    }
}

/// A record's fields in order.
#[derive(Clone)]
pub(crate) struct Fields<'a> {
    bytes: &'a [u8],
    ends: std::slice::Iter<'a, usize>,
    start: usize,
}

impl<'a> Iterator for Fields<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        let end = *self.ends.next()?;
        let field = self.bytes.get(self.start..end).unwrap_or_default();
        self.start = end;
        Some(field)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.ends.size_hint()
    }
}

impl ExactSizeIterator for Fields<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_fields_pushed_then_each_reads_back_with_its_range() {
        // GIVEN a record of an empty field, text and another empty field
        let record = Record::from_fields([&b""[..], b"ab", b"c", b""], 7);
        // THEN the fields, their ranges and the line read back
        assert_eq!(record.len(), 4);
        assert_eq!(record.line(), 7);
        assert_eq!(record.as_slice(), b"abc");
        let fields: Vec<&[u8]> = record.iter().collect();
        assert_eq!(fields, [&b""[..], b"ab", b"c", b""]);
        assert_eq!(record.range(1), Some(0..2));
        assert_eq!(record.range(3), Some(3..3));
        assert_eq!(record.get(2), Some(&b"c"[..]));
        assert_eq!(record.get(4), None);
        // AND cleared for the next line, it is empty
        let mut record = record;
        record.clear(8);
        assert_eq!(
            (record.len(), record.line(), record.iter().count()),
            (0, 8, 0)
        );
    }

    #[test]
    fn given_fields_cut_from_a_buffer_then_each_is_exactly_its_range() {
        // GIVEN a buffer, and ranges short and long, in it and at its end
        let buf: Vec<u8> = (0..40u8).collect();
        let ranges = [0..0, 0..3, 5..21, 3..19, 24..40, 30..40, 2..38, 40..40];
        let mut record = Record::new();
        for r in ranges.clone() {
            // WHEN each is pushed from the buffer
            record.push_field_of(&buf, r);
        }
        // THEN the record holds exactly those bytes, field by field
        let expected: Vec<&[u8]> = ranges.iter().map(|r| &buf[r.clone()]).collect();
        assert_eq!(record.iter().collect::<Vec<_>>(), expected);
        assert_eq!(record.as_slice(), expected.concat());
    }

    #[test]
    fn given_a_sealed_record_then_every_short_cell_has_a_window_starting_with_it() {
        // GIVEN fields short, empty and long, the last one short
        let long = [b'x'; 40];
        let record = Record::from_fields([&b"ab"[..], b"", &long, b"c"], 2);
        // WHEN read as cells
        let cells: Vec<Cell<'_>> = record.cells().collect();
        // THEN each is its field, and each short one has 16 bytes from its
        // start (the last one's are the padding)
        assert_eq!(cells.len(), 4);
        for (cell, field) in cells.iter().zip(record.iter()) {
            assert_eq!(cell.text, field);
            if field.len() <= 16 {
                let (_, window) = cell.short().expect("a sealed record pads its end");
                assert!(window.starts_with(cell.text));
            }
        }
        // AND the long one is not Short; the padding is not the record's
        assert!(cells[2].short().is_none());
        assert_eq!(record.as_slice().len(), 2 + 40 + 1);
        // AND a copy of a short cell is the cell, whatever is already there
        let mut out = b"<td>".to_vec();
        let (_, window) = cells[3].short().expect("short");
        copy_short(&mut out, window, cells[3].text.len());
        assert_eq!(out, b"<td>c");
    }
}
