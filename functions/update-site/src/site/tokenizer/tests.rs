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
    let mut tokenizer = Tokenizer::new(Trickle { data: input, step }, capacity);
    let mut record = Record::new();
    let mut out = Vec::new();
    while tokenizer.read(&mut record).expect("in memory") {
        out.push((record.line(), record.iter().map(<[u8]>::to_vec).collect()));
    }
    out
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
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..20_000 {
        let len = (next() % 40) as usize;
        let bom: &[u8] = if next() % 8 == 0 {
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
