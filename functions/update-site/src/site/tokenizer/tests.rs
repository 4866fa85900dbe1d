//! The tokenizer against the csv crate: records, fields and line numbers.

use super::*;
use csv::{ByteRecord, Position};

/// Hands the input over at most `step` bytes per read.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// (line, fields) of every record, as the csv crate reads them.
fn expected(input: &[u8]) -> Vec<(u64, Vec<Vec<u8>>)> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut record = ByteRecord::new();
    let mut out = Vec::new();
    while reader
        .read_byte_record(&mut record)
        .expect("csv reads bytes")
    {
        let line = record.position().map(Position::line).unwrap_or(0);
        out.push((line, record.iter().map(<[u8]>::to_vec).collect()));
    }
    out
}

fn tokenized(input: &[u8], capacity: usize, step: usize) -> Vec<(u64, Vec<Vec<u8>>)> {
    read_all(input, capacity, step)
        .into_iter()
        .map(|(line, _, fields)| (line, fields))
        .collect()
}

/// (line, known UTF-8, fields) of every record, as the tokenizer reads them.
fn read_all(input: &[u8], capacity: usize, step: usize) -> Vec<(u64, bool, Vec<Vec<u8>>)> {
    let mut tokenizer = Tokenizer::new(Trickle { data: input, step }, capacity);
    let mut record = Record::new();
    let mut out = Vec::new();
    while tokenizer.read(&mut record).expect("in memory") {
        let fields = record.iter().map(<[u8]>::to_vec).collect();
        out.push((record.line(), record.known_utf8(), fields));
    }
    out
}

/// A seeded xorshift64: the same random inputs on every run.
fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}

#[test]
fn given_awkward_csv_when_tokenized_then_records_fields_and_lines_are_the_csv_crates() {
    // GIVEN the cases each rule of csv-core's reading is about
    let cases: [&[u8]; 20] = [
        b"\xef\xbb\xbf\n",
        b"\xef\xbb\xbf\"a,b\",c\n",
        b"\xef\xbb\xbf\xef\xbb\xbfx,a\xef\xbb\xbf\n",
        b"\xef\xbb",
        b"a,b\nc,d\n",
        b"a,b\r\nc,d\r\n\r\n",
        b"a\rb\r\rc",
        b"\n\n\r\na,,\n,\n",
        b"\"q,\"\"uo\"\"te\nd\",x\n",
        b"\"closed\"after,y\n",
        b"\"closed\"after\"quote\"\n",
        b"plain\"quote,\"x\"\n",
        b"\"unclosed,at\nend",
        b"\"\"\n\"\"\"\",\n",
        b"last,field,",
        b"\"ends\"",
        b"\"ends\"\r",
        b"a,\"\"\r\n\"b\"\n",
        "Zoë,\"東京, 日本\"\n".as_bytes(),
        b"",
    ];
    for input in cases {
        let want = expected(input);
        // WHEN read through buffers of every size, whole or a byte at a time
        for capacity in 3..=input.len() + 3 {
            for step in [1, 3, usize::MAX] {
                // THEN each record, field and line is the csv crate's
                assert_eq!(
                    tokenized(input, capacity, step),
                    want,
                    "{:?} capacity {capacity} step {step}",
                    String::from_utf8_lossy(input)
                );
            }
        }
    }
}

#[test]
fn given_random_csv_when_tokenized_then_it_reads_as_the_csv_crate_reads_it() {
    // GIVEN inputs made of the bytes that matter to CSV
    let alphabet: [&[u8]; 8] = [b"a", b"bc", "é".as_bytes(), b",", b"\"", b"\r", b"\n", b" "];
    let mut next = xorshift(0x9e37_79b9_7f4a_7c15u64);
    for _ in 0..20_000 {
        let len = (next() % 40) as usize;
        let bom: &[u8] = if next().is_multiple_of(8) {
            b"\xef\xbb\xbf"
        } else {
            b""
        };
        let input: Vec<u8> = bom
            .iter()
            .copied()
            .chain((0..len).flat_map(|_| alphabet[(next() % 8) as usize].iter().copied()))
            .collect();
        let want = expected(&input);
        let capacity = 3 + (next() % 48) as usize;
        let step = 1 + (next() % 16) as usize;
        // WHEN tokenized THEN the csv crate's records, fields and lines
        assert_eq!(
            tokenized(&input, capacity, step),
            want,
            "{:?} capacity {capacity} step {step}",
            String::from_utf8_lossy(&input)
        );
        assert_eq!(tokenized(&input, 256, usize::MAX), want);
    }
}

#[test]
fn given_a_record_longer_than_the_buffer_when_read_then_it_is_whole() {
    // GIVEN a quoted field of 10,000 bytes and a 64-byte buffer
    let field = "x\"\"y,\n".repeat(2_000);
    let input = format!("h\n\"{field}\"\nnext\n");
    // WHEN read THEN csv-core's streaming read gives the same records
    assert_eq!(
        tokenized(input.as_bytes(), 64, 7),
        expected(input.as_bytes())
    );
    assert_eq!(tokenized(input.as_bytes(), 64, 7).len(), 3);
}

#[test]
fn given_bytes_that_may_not_be_text_when_tokenized_then_only_utf8_records_without_nul_are_known_utf8(
) {
    // GIVEN inputs with characters whole, cut, or misplaced (a lead byte
    // alone, a continuation byte alone, a 4-byte character), and NUL bytes
    let alphabet: [&[u8]; 10] = [
        b"a",
        b"\0",
        "é".as_bytes(),
        b"\xc3",
        b"\xa9",
        "😀".as_bytes(),
        b",",
        b"\"",
        b"\n",
        b"\r",
    ];
    let mut next = xorshift(0x2545_f491_4f6c_dd1du64);
    let mut known = 0;
    for _ in 0..20_000 {
        let len = (next() % 40) as usize;
        let input: Vec<u8> = (0..len)
            .flat_map(|_| alphabet[(next() % 10) as usize].iter().copied())
            .collect();
        let capacity = 3 + (next() % 48) as usize;
        let step = 1 + (next() % 16) as usize;
        // WHEN tokenized through small buffers and one that holds it all
        for (capacity, step) in [(capacity, step), (512, usize::MAX)] {
            for (line, utf8, fields) in read_all(&input, capacity, step) {
                // THEN a record said to be UTF-8 is, field by field,
                // without a NUL byte
                if utf8 {
                    known += 1;
                    for f in &fields {
                        assert!(
                            std::str::from_utf8(f).is_ok() && !f.contains(&0),
                            "line {line} of {:?} capacity {capacity}",
                            String::from_utf8_lossy(&input)
                        );
                    }
                }
            }
        }
        // AND in a buffer that holds all of a UTF-8 input without NUL,
        // every record is known to be (the bulk check is what the render
        // relies on)
        if std::str::from_utf8(&input).is_ok() && !input.contains(&0) {
            assert!(
                read_all(&input, 512, usize::MAX).iter().all(|r| r.1),
                "{:?}",
                String::from_utf8_lossy(&input)
            );
        }
    }
    assert!(known > 5_000, "only {known} records known to be UTF-8");
}
