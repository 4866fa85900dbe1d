//! One CSV record as the tokenizer cuts it: its fields end to end in one
//! buffer and where each ends, reused from record to record.
//!
//! Why not the csv crate's `ByteRecord`: its `push_field` is out of line
//! and checks its two buffers' room field by field (behind a `Box`); with
//! the copy it makes, that was a tenth of the render time (perf). Here a
//! field is one `extend_from_slice` and one `push`, inlined into the
//! tokenizer's loop.

use std::ops::Range;

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
        const SHORT: usize = 16;
        let len = range.len();
        match buf.get(range.start..range.start + SHORT) {
            Some(word) if len <= SHORT => {
                let end = self.bytes.len() + len;
                let word: &[u8; SHORT] = word.try_into().unwrap_or(&[0; SHORT]);
                self.bytes.extend_from_slice(word);
                self.bytes.truncate(end);
                self.ends.push(end);
            }
            _ => self.push_field(&buf[range]),
        }
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
        &self.bytes
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
}
