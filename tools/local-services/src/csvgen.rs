//! A deterministic CSV generator: the body the simulator serves.
//!
//! The same [`CsvSpec`] always yields the same bytes, so a test can ask for
//! any cell with [`CsvSpec::cell`] and look for it in what the pipeline
//! published, without keeping the (possibly 1 GB) CSV around.
//!
//! Cells are picked from small pools of awkward values: quotes, commas and
//! newlines inside quoted fields, non-ASCII text, emoji and HTML
//! metacharacters. Each pool entry is CSV-encoded once up front, so emitting a
//! row is a handful of `memcpy`s and the length of the whole body can be
//! computed from entry lengths without generating it (for Content-Length).

use bytes::{Bytes, BytesMut};
use std::io::{self, Read};
use std::sync::OnceLock;

/// The columns, in order.
pub(crate) const COLUMNS: [&str; 6] = ["id", "name", "city", "amount", "note", "date"];

const NAMES: &[&str] = &[
    "Alice Martin",
    "José \"Pepe\" García",
    "Zoë O'Brien",
    "Smith, John",
    "山田 太郎",
    "<script>alert(1)</script>",
    "Tom & Jerry &amp; Co",
    "Ørjan Ødegård",
    "François Lefèvre",
    "O'Reilly \"The Boss\"",
    "Иван Петров",
    "محمد علي",
    "  padded  ",
    "Emoji Person 😀",
];

const CITIES: &[&str] = &[
    "Paris",
    "Montréal",
    "東京",
    "São Paulo",
    "Zürich",
    "New York, NY",
    "Kraków",
    "Reykjavík",
    "<b>Springfield</b>",
    "Washington, D.C.",
];

const NOTES: &[&str] = &[
    "",
    "plain note",
    "He said \"hi\", then left",
    "line one\nline two",
    "first line\r\nsecond line, with comma",
    "emoji 🎉🚀 party",
    "<b>bold</b> & <i>italic</i>",
    "'single' and \"double\" quotes",
    "a < b && c > d",
    "<img src=x onerror=alert(1)>",
    "tab\tseparated",
    "ends with a quote\"",
    "日本語のメモ",
    "&lt;already escaped&gt;",
    "\"fully quoted\"",
    "trailing comma,",
];

/// Size of the chunks yielded by [`CsvSpec::chunks`]: big enough that
/// per-chunk overhead vanishes, small enough to keep memory flat.
pub(crate) const DEFAULT_CHUNK: usize = 64 * 1024;

/// What to generate: `rows` data rows after the header, content picked by `seed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvSpec {
    pub rows: u64,
    pub seed: u64,
}

impl Default for CsvSpec {
    fn default() -> Self {
        CsvSpec {
            rows: 100,
            seed: 42,
        }
    }
}

/// The encoded pools, built once per process.
struct Pools {
    names: Vec<Vec<u8>>,
    cities: Vec<Vec<u8>>,
    notes: Vec<Vec<u8>>,
    dates: Vec<Vec<u8>>,
    header: Vec<u8>,
}

fn pools() -> &'static Pools {
    static POOLS: OnceLock<Pools> = OnceLock::new();
    POOLS.get_or_init(|| {
        let enc = |v: &[&str]| v.iter().map(|s| encode_field(s)).collect::<Vec<_>>();
        let mut header = COLUMNS.join(",").into_bytes();
        header.push(b'\n');
        Pools {
            names: enc(NAMES),
            cities: enc(CITIES),
            notes: enc(NOTES),
            dates: all_dates().iter().map(|d| d.clone().into_bytes()).collect(),
            header,
        }
    })
}

/// The 366 days of 2024 as `YYYY-MM-DD` (a leap year, so Feb 29 appears).
fn all_dates() -> &'static [String] {
    static DATES: OnceLock<Vec<String>> = OnceLock::new();
    DATES.get_or_init(|| {
        const DAYS: [u32; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        let mut out = Vec::with_capacity(366);
        for (m, &days) in DAYS.iter().enumerate() {
            for d in 1..=days {
                out.push(format!("2024-{:02}-{:02}", m + 1, d));
            }
        }
        out
    })
}

/// RFC 4180 quoting: quote when the field holds a comma, quote, CR or LF, or
/// leading/trailing spaces (some readers trim those), doubling inner quotes.
pub(crate) fn encode_field(s: &str) -> Vec<u8> {
    let needs = s.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
        || s.starts_with(' ')
        || s.ends_with(' ');
    if !needs {
        return s.as_bytes().to_vec();
    }
    let mut out = Vec::with_capacity(s.len() + 2);
    out.push(b'"');
    for b in s.bytes() {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
    out
}

/// splitmix64: a fast, well-mixed hash so neighbouring rows look unrelated.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn digits(mut n: u64) -> u64 {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

impl CsvSpec {
    pub fn new(rows: u64, seed: u64) -> Self {
        CsvSpec { rows, seed }
    }

    /// The smallest spec whose body is at least `bytes` long (the header
    /// alone when `bytes` is that small).
    pub fn for_size(bytes: u64, seed: u64) -> Self {
        let p = pools();
        let mut total = p.header.len() as u64;
        let mut rows = 0;
        while total < bytes {
            total += Self::new(0, seed).row_len(rows);
            rows += 1;
        }
        CsvSpec { rows, seed }
    }

    /// The header row's cells.
    pub fn header(&self) -> Vec<String> {
        COLUMNS.iter().map(|s| s.to_string()).collect()
    }

    fn h(&self, row: u64, col: usize) -> u64 {
        mix(self.seed ^ mix(row.wrapping_mul(8).wrapping_add(col as u64)))
    }

    /// The amount in cents, possibly negative.
    fn amount_cents(&self, row: u64) -> i64 {
        let h = self.h(row, 3);
        let cents = (h % 10_000_000) as i64;
        if h & (1 << 40) != 0 {
            -cents
        } else {
            cents
        }
    }

    fn amount_len(&self, row: u64) -> u64 {
        let c = self.amount_cents(row);
        // "-"? + integer part + "." + 2 decimals
        (c < 0) as u64 + digits(c.unsigned_abs() / 100) + 3
    }

    fn pick(&self, row: u64, col: usize, len: usize) -> usize {
        (self.h(row, col) % len as u64) as usize
    }

    /// The unescaped value of data row `row` (0-based), column `col`.
    ///
    /// # Panics
    /// When `col` is not a column index.
    pub fn cell(&self, row: u64, col: usize) -> String {
        match col {
            0 => (row + 1).to_string(),
            1 => NAMES[self.pick(row, 1, NAMES.len())].to_string(),
            2 => CITIES[self.pick(row, 2, CITIES.len())].to_string(),
            3 => {
                let c = self.amount_cents(row);
                let sign = if c < 0 { "-" } else { "" };
                let a = c.unsigned_abs();
                format!("{sign}{}.{:02}", a / 100, a % 100)
            }
            4 => NOTES[self.pick(row, 4, NOTES.len())].to_string(),
            5 => all_dates()[self.pick(row, 5, 366)].clone(),
            _ => panic!("column {col} out of range 0..{}", COLUMNS.len()),
        }
    }

    /// All cells of data row `row`.
    pub fn row(&self, row: u64) -> Vec<String> {
        (0..COLUMNS.len()).map(|c| self.cell(row, c)).collect()
    }

    /// Encoded length of data row `row`, its newline included.
    fn row_len(&self, row: u64) -> u64 {
        let p = pools();
        digits(row + 1)
            + p.names[self.pick(row, 1, p.names.len())].len() as u64
            + p.cities[self.pick(row, 2, p.cities.len())].len() as u64
            + self.amount_len(row)
            + p.notes[self.pick(row, 4, p.notes.len())].len() as u64
            + 10
            + 6 // five commas and the newline
    }

    /// Appends data row `row`, encoded, to `out`. No allocation: this is
    /// the hot loop of a 1 GB download.
    fn write_row(&self, row: u64, out: &mut BytesMut) {
        let p = pools();
        write_u64(out, row + 1);
        out.extend_from_slice(b",");
        out.extend_from_slice(&p.names[self.pick(row, 1, p.names.len())]);
        out.extend_from_slice(b",");
        out.extend_from_slice(&p.cities[self.pick(row, 2, p.cities.len())]);
        out.extend_from_slice(b",");
        let c = self.amount_cents(row);
        if c < 0 {
            out.extend_from_slice(b"-");
        }
        let a = c.unsigned_abs();
        write_u64(out, a / 100);
        out.extend_from_slice(&[
            b'.',
            b'0' + (a % 100 / 10) as u8,
            b'0' + (a % 10) as u8,
            b',',
        ]);
        out.extend_from_slice(&p.notes[self.pick(row, 4, p.notes.len())]);
        out.extend_from_slice(b",");
        out.extend_from_slice(&p.dates[self.pick(row, 5, 366)]);
        out.extend_from_slice(b"\n");
    }

    /// The exact byte length of the whole body (header included). Costs a
    /// few nanoseconds per row, no generation: about 0.1 s for 1 GB.
    pub fn exact_len(&self) -> u64 {
        let p = pools();
        p.header.len() as u64 + (0..self.rows).map(|r| self.row_len(r)).sum::<u64>()
    }

    /// The body as an iterator of chunks of about `chunk` bytes (whole rows).
    pub fn chunks(&self, chunk: usize) -> CsvChunks {
        CsvChunks {
            spec: *self,
            next_row: 0,
            header_done: false,
            chunk: chunk.max(1),
        }
    }

    /// The body as a [`Read`].
    pub fn reader(&self) -> CsvReader {
        CsvReader {
            chunks: self.chunks(DEFAULT_CHUNK),
            current: Bytes::new(),
        }
    }

    /// The body as a `futures` stream (what an HTTP body wants).
    pub fn stream(&self) -> impl futures::Stream<Item = io::Result<Bytes>> + Send + 'static {
        futures::stream::iter(self.chunks(DEFAULT_CHUNK).map(Ok))
    }

    /// The whole body in memory. For small specs in tests only.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for c in self.chunks(DEFAULT_CHUNK) {
            out.extend_from_slice(&c);
        }
        out
    }
}

/// Decimal digits of `n` without going through `fmt`.
fn write_u64(out: &mut BytesMut, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Iterator of body chunks; see [`CsvSpec::chunks`].
pub struct CsvChunks {
    spec: CsvSpec,
    next_row: u64,
    header_done: bool,
    chunk: usize,
}

impl Iterator for CsvChunks {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        if self.header_done && self.next_row >= self.spec.rows {
            return None;
        }
        let mut buf = BytesMut::with_capacity(self.chunk + 1024);
        if !self.header_done {
            buf.extend_from_slice(&pools().header);
            self.header_done = true;
        }
        while buf.len() < self.chunk && self.next_row < self.spec.rows {
            self.spec.write_row(self.next_row, &mut buf);
            self.next_row += 1;
        }
        Some(buf.freeze())
    }
}

/// [`Read`] over the body; see [`CsvSpec::reader`].
pub struct CsvReader {
    chunks: CsvChunks,
    current: Bytes,
}

impl Read for CsvReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.next() {
                Some(c) => self.current = c,
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.current.len());
        out[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(bytes);
        let header = rdr.headers().unwrap().iter().map(String::from).collect();
        let rows = rdr
            .records()
            .map(|r| r.unwrap().iter().map(String::from).collect())
            .collect();
        (header, rows)
    }

    #[test]
    fn given_a_spec_when_the_csv_crate_parses_the_body_then_it_reads_back_header_and_every_cell() {
        let spec = CsvSpec::new(2_000, 7);
        let (header, rows) = parse(&spec.to_bytes());
        assert_eq!(header, spec.header());
        assert_eq!(rows.len(), 2_000);
        for (r, row) in rows.iter().enumerate() {
            assert_eq!(row, &spec.row(r as u64), "row {r}");
        }
    }

    #[test]
    fn given_a_spec_when_generated_then_exact_len_is_the_body_length() {
        for rows in [0, 1, 9, 10, 11, 999, 12_345] {
            let spec = CsvSpec::new(rows, 3);
            assert_eq!(
                spec.exact_len(),
                spec.to_bytes().len() as u64,
                "rows {rows}"
            );
        }
    }

    #[test]
    fn given_the_same_spec_twice_then_the_bytes_are_identical_and_another_seed_differs() {
        let a = CsvSpec::new(500, 1).to_bytes();
        assert_eq!(a, CsvSpec::new(500, 1).to_bytes());
        assert_ne!(a, CsvSpec::new(500, 2).to_bytes());
    }

    #[test]
    fn given_enough_rows_then_the_body_holds_every_kind_of_awkward_cell() {
        let body = String::from_utf8(CsvSpec::new(3_000, 42).to_bytes()).unwrap();
        for needle in [
            "\"\"",
            "\n",
            "é",
            "日本",
            "😀",
            "<script>alert(1)</script>",
            "&amp;",
            "'",
            "\"Smith, John\"",
        ] {
            assert!(body.contains(needle), "missing {needle:?}");
        }
    }

    #[test]
    fn given_a_target_size_then_for_size_gives_the_fewest_rows_reaching_it() {
        let spec = CsvSpec::for_size(100_000, 5);
        assert!(spec.exact_len() >= 100_000);
        assert!(CsvSpec::new(spec.rows - 1, 5).exact_len() < 100_000);
    }

    #[test]
    fn given_a_reader_when_read_in_odd_sizes_then_it_yields_the_same_bytes_as_chunks() {
        let spec = CsvSpec::new(3_000, 9);
        let mut out = Vec::new();
        let mut r = spec.reader();
        let mut buf = [0u8; 777];
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        assert_eq!(out, spec.to_bytes());
    }

    #[test]
    fn given_small_chunks_then_every_chunk_ends_on_a_row_boundary() {
        let spec = CsvSpec::new(100, 1);
        let chunks: Vec<Bytes> = spec.chunks(10).collect();
        assert!(chunks.len() > 50);
        assert!(chunks.iter().all(|c| c.ends_with(b"\n")));
    }
}
