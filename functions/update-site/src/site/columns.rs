//! Column types, inferred while the CSV streams: a column is a number only
//! if every non-empty cell is one, a date only if every non-empty cell is a
//! date, and so on; the most specific type that fits every cell wins
//! (integer before decimal). Numbers are shown with thousands separators,
//! their raw text kept for sorting.

use serde::{Deserialize, Serialize};

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    Integer,
    Decimal,
    Date,
    #[serde(rename = "datetime")]
    DateTime,
    Boolean,
    Text,
}

impl ColumnType {
    /// The name the pages and the manifest use.
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::Integer => "integer",
            ColumnType::Decimal => "decimal",
            ColumnType::Date => "date",
            ColumnType::DateTime => "datetime",
            ColumnType::Boolean => "boolean",
            ColumnType::Text => "text",
        }
    }

    pub fn is_number(self) -> bool {
        matches!(self, ColumnType::Integer | ColumnType::Decimal)
    }
}

/// What every non-empty cell seen so far could be, as bits.
const INTEGER: u8 = 1;
const DECIMAL: u8 = 2;
const DATE: u8 = 4;
const DATETIME: u8 = 8;
const BOOLEAN: u8 = 16;
const ALL: u8 = INTEGER | DECIMAL | DATE | DATETIME | BOOLEAN;

/// The inference for one column.
#[derive(Debug, Clone, Copy)]
pub struct Inference {
    possible: u8,
    seen: bool,
}

impl Default for Inference {
    fn default() -> Self {
        Inference {
            possible: ALL,
            seen: false,
        }
    }
}

impl Inference {
    /// Takes one cell into account.
    pub fn observe(&mut self, cell: &str) {
        if cell.is_empty() || self.possible == 0 {
            return;
        }
        self.seen = true;
        self.possible &= kinds(cell.trim(), self.possible);
    }

    /// [`Inference::observe`] for a cell not yet checked as UTF-8: only a
    /// column that could still be typed looks at it (a cell that is not
    /// UTF-8 is text; the second pass refuses it anyway).
    pub fn observe_bytes(&mut self, cell: &[u8]) {
        if cell.is_empty() || self.possible == 0 {
            return;
        }
        match std::str::from_utf8(cell) {
            Ok(text) => self.observe(text),
            Err(_) => {
                self.seen = true;
                self.possible = 0;
            }
        }
    }

    /// The column's type after every cell.
    pub fn result(&self) -> ColumnType {
        let p = self.possible;
        match () {
            _ if !self.seen => ColumnType::Text,
            _ if p & INTEGER != 0 => ColumnType::Integer,
            _ if p & DECIMAL != 0 => ColumnType::Decimal,
            _ if p & DATE != 0 => ColumnType::Date,
            _ if p & DATETIME != 0 => ColumnType::DateTime,
            _ if p & BOOLEAN != 0 => ColumnType::Boolean,
            _ => ColumnType::Text,
        }
    }
}

/// Every type of those still `possible` that `cell` (trimmed, non-empty)
/// is a value of (a type already ruled out is not checked again).
fn kinds(cell: &str, possible: u8) -> u8 {
    let b = cell.as_bytes();
    let mut k = 0;
    if possible & (INTEGER | DECIMAL) != 0 {
        if is_integer(b) {
            k |= INTEGER | DECIMAL;
        } else if is_decimal(b) {
            k |= DECIMAL;
        }
    }
    if possible & (DATE | DATETIME) != 0 {
        if b.len() == 10 && is_date(b) {
            k |= DATE;
        } else if b.len() > 10
            && is_date(&b[..10])
            && matches!(b[10], b'T' | b't' | b' ')
            && is_datetime(cell)
        {
            k |= DATETIME;
        }
    }
    if possible & BOOLEAN != 0
        && (cell.eq_ignore_ascii_case("true") || cell.eq_ignore_ascii_case("false"))
    {
        k |= BOOLEAN;
    }
    k
}

/// RFC 3339, or a local date-time to the minute or the second (`T` or a space).
fn is_datetime(cell: &str) -> bool {
    let t = cell.replacen(' ', "T", 1);
    chrono::DateTime::parse_from_rfc3339(&t).is_ok()
        || chrono::NaiveDateTime::parse_from_str(&t, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
        || chrono::NaiveDateTime::parse_from_str(&t, "%Y-%m-%dT%H:%M").is_ok()
}

fn digits(b: &[u8]) -> bool {
    !b.is_empty() && b.iter().all(u8::is_ascii_digit)
}

fn unsigned(b: &[u8]) -> &[u8] {
    match b.first() {
        Some(b'+' | b'-') => &b[1..],
        _ => b,
    }
}

fn is_integer(b: &[u8]) -> bool {
    // Longer than an i64/f64 holds exactly: sorting by value would lie.
    let u = unsigned(b);
    digits(u) && u.len() <= 15
}

fn is_decimal(b: &[u8]) -> bool {
    let u = unsigned(b);
    let (mantissa, exponent) = match u.iter().position(|c| matches!(c, b'e' | b'E')) {
        Some(i) => (&u[..i], Some(&u[i + 1..])),
        None => (u, None),
    };
    let mantissa_ok = match mantissa.iter().position(|c| *c == b'.') {
        Some(i) => {
            let (int, frac) = (&mantissa[..i], &mantissa[i + 1..]);
            (digits(int) || int.is_empty())
                && (digits(frac) || frac.is_empty())
                && !(int.is_empty() && frac.is_empty())
        }
        None => digits(mantissa),
    };
    // More digits than a double holds are an identifier, not a quantity.
    let significant = mantissa.iter().filter(|c| c.is_ascii_digit()).count();
    mantissa_ok && significant <= 17 && exponent.is_none_or(|e| digits(unsigned(e)))
}

fn is_date(b: &[u8]) -> bool {
    // By hand: chrono's parse_from_str reads its format string per call,
    // and a date column asks for every cell.
    let num = |r: std::ops::Range<usize>| {
        b[r].iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && match (num(0..4), num(5..7), num(8..10)) {
            (Some(y), Some(m), Some(d)) => {
                chrono::NaiveDate::from_ymd_opt(y as i32, m, d).is_some()
            }
            _ => false,
        }
}

/// A number's text with thousands separators in its integer part:
/// `-1234567.50` → `-1,234,567.50`. Anything else is returned as it is.
pub fn format_number(raw: &str) -> std::borrow::Cow<'_, str> {
    let t = raw.trim();
    let b = t.as_bytes();
    if !(is_integer(b) || is_decimal(b)) || b.iter().any(|c| matches!(c, b'e' | b'E')) {
        return std::borrow::Cow::Borrowed(raw);
    }
    let (sign, rest) = match b.first() {
        Some(b'-') => ("-", &t[1..]),
        Some(b'+') => ("", &t[1..]),
        _ => ("", t),
    };
    let (int, frac) = match rest.find('.') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if int.len() <= 3 && sign.is_empty() && t.len() == raw.len() && !raw.starts_with('+') {
        return std::borrow::Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(t.len() + int.len() / 3 + 1);
    out.push_str(sign);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out.push_str(frac);
    std::borrow::Cow::Owned(out)
}

/// A number cell's parts, found in one pass: what [`format_number`] shows
/// for it, written without an allocation (a page's number columns go through
/// this for every cell; `format_number` checked, searched and allocated
/// apart, about a tenth of UpdateSite's time by perf).
pub(crate) struct Number<'a> {
    raw: &'a [u8],
    sign: &'static [u8],
    int: &'a [u8],
    frac: &'a [u8],
}

/// `raw` without the white space `str::trim` removes. Only a cell that
/// starts or ends outside ASCII needs the Unicode rules; ASCII white space
/// is `is_ascii_whitespace` and the vertical tab.
fn trim(raw: &[u8]) -> Option<&[u8]> {
    match (raw.first(), raw.last()) {
        (Some(&f), Some(&l)) if f >= 0x80 || l >= 0x80 => {
            std::str::from_utf8(raw).ok().map(|t| t.trim().as_bytes())
        }
        _ => {
            let space = |b: &u8| b.is_ascii_whitespace() || *b == 0x0b;
            let start = raw.iter().position(|b| !space(b)).unwrap_or(raw.len());
            let end = raw.iter().rposition(|b| !space(b)).map_or(start, |e| e + 1);
            Some(&raw[start..end])
        }
    }
}

impl<'a> Number<'a> {
    /// `raw` (UTF-8) as a plain number (an optional sign, digits, an
    /// optional fraction; no exponent; as many digits as `format_number`
    /// takes), or `None`. Its text then holds only digits, a sign, a point
    /// and white space: nothing HTML escapes.
    #[inline]
    pub(crate) fn parse(raw: &'a [u8]) -> Option<Self> {
        let t = trim(raw)?;
        let (sign, rest): (&'static [u8], _) = match t.first() {
            Some(b'-') => (b"-", &t[1..]),
            Some(b'+') => (b"", &t[1..]),
            _ => (b"", t),
        };
        let int_len = rest
            .iter()
            .position(|c| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (int, frac) = rest.split_at(int_len);
        let frac_digits = match frac.split_first() {
            None => 0,
            Some((b'.', d)) if d.iter().all(u8::is_ascii_digit) => d.len(),
            Some(_) => return None,
        };
        let digits = int.len() + frac_digits;
        // format_number's rules: at least one digit, at most 17 (a double).
        ((1..=17).contains(&digits)).then_some(Number {
            raw,
            sign,
            int,
            frac,
        })
    }

    /// The cell as it is in the CSV.
    pub(crate) fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Whether the text [`Number::push_to`] writes is `raw` with thousands
    /// separators put in (no `+` dropped, no white space trimmed): then the
    /// text minus its commas gives the raw value back, and the page needs no
    /// `data-v` for it.
    pub(crate) fn text_is_raw(&self) -> bool {
        self.raw.len() == self.sign.len() + self.int.len() + self.frac.len()
    }

    /// The text `format_number` gives, appended to `out`.
    #[inline]
    pub(crate) fn push_to(&self, out: &mut Vec<u8>) {
        let unchanged = self.int.len() <= 3
            && self.sign.is_empty()
            && !self.raw.starts_with(b"+")
            && !self.raw.starts_with(b"-")
            && self.text_is_raw();
        if unchanged {
            out.extend_from_slice(self.raw);
            return;
        }
        out.extend_from_slice(self.sign);
        // The first group has 1 to 3 digits, every later one 3.
        let n = self.int.len();
        let first = match n % 3 {
            0 => 3.min(n),
            r => r,
        };
        out.extend_from_slice(&self.int[..first]);
        for group in self.int[first..].chunks(3) {
            out.push(b',');
            out.extend_from_slice(group);
        }
        out.extend_from_slice(self.frac);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infer(cells: &[&str]) -> ColumnType {
        let mut i = Inference::default();
        for c in cells {
            i.observe(c);
        }
        i.result()
    }

    #[test]
    fn given_cells_when_inferring_then_the_most_specific_type_that_fits_all_wins() {
        assert_eq!(infer(&["1", "-20", "", "+3"]), ColumnType::Integer);
        assert_eq!(infer(&["1", "2.5", "1e3"]), ColumnType::Decimal);
        assert_eq!(infer(&["2026-01-02", ""]), ColumnType::Date);
        assert_eq!(
            infer(&["2026-01-02T03:04:05Z", "2026-01-02 03:04"]),
            ColumnType::DateTime
        );
        assert_eq!(infer(&["true", "FALSE"]), ColumnType::Boolean);
        assert_eq!(infer(&["1", "x"]), ColumnType::Text);
        assert_eq!(infer(&["", ""]), ColumnType::Text);
        assert_eq!(infer(&["2026-02-30"]), ColumnType::Text);
        assert_eq!(infer(&["1234567890123456789"]), ColumnType::Text);
        assert_eq!(infer(&["1.", ".5"]), ColumnType::Decimal);
        assert_eq!(infer(&["."]), ColumnType::Text);
    }

    #[test]
    fn given_cells_as_bytes_when_inferring_then_the_type_is_the_one_text_gives() {
        // GIVEN columns of cells, some padded with non-ASCII white space
        let columns: [&[&str]; 5] = [
            &["1", "\u{a0}20\u{3000}", ""],
            &["2026-01-02", " 2026-01-03 "],
            &["1", "x"],
            &["山田", "1"],
            &["true", "\u{2003}false"],
        ];
        for cells in columns {
            // WHEN they are observed as bytes
            let mut bytes = Inference::default();
            for c in cells {
                bytes.observe_bytes(c.as_bytes());
            }
            // THEN the column gets the type observing them as text gives
            assert_eq!(bytes.result(), infer(cells), "{cells:?}");
        }
        // AND a cell that is not UTF-8 makes the column text
        let mut i = Inference::default();
        i.observe_bytes(b"1");
        i.observe_bytes(b"2\xff");
        assert_eq!(i.result(), ColumnType::Text);
    }

    #[test]
    fn given_any_cell_when_parsed_as_a_number_then_it_shows_as_format_number_does() {
        // GIVEN cells that are numbers, nearly numbers and not numbers
        let cells = [
            "",
            "0",
            "12",
            "123",
            "1234",
            "-1234",
            "-12",
            "+12",
            "+1234",
            " 1234 ",
            " 12",
            "1234.5",
            ".5",
            "1.",
            ".",
            "-",
            "+",
            "-.5",
            "+.",
            "1e3",
            "1E3",
            "12345678901234567",
            "123456789012345678",
            "1234567890123456.7",
            "12345678901234567.8",
            "1,234",
            "abc",
            "١٢٣",
            "12 34",
            "-0.001234",
            "0001234",
            "1.2.3",
            "--1",
            "1-",
            "9\u{a0}",
            "\u{a0}1234",
            "1234\u{2003}",
            "\u{b}12345",
            " 1234 ",
            "\t-12\r",
            "1234567890",
        ];
        for cell in cells {
            // WHEN shown through Number (or escaped as text when it is none)
            let mut ours = Vec::new();
            match Number::parse(cell.as_bytes()) {
                Some(n) => n.push_to(&mut ours),
                None => ours.extend_from_slice(cell.as_bytes()),
            }
            let ours = String::from_utf8(ours).expect("UTF-8 in, UTF-8 out");
            // THEN it is what format_number gives
            assert_eq!(ours, format_number(cell), "for {cell:?}");
            if let Some(n) = Number::parse(cell.as_bytes()) {
                assert!(!n.raw.iter().any(|b| b"\"&'<>".contains(b)), "{cell:?}");
                // AND its text less its commas is the cell exactly when the
                // page may leave out data-v
                assert_eq!(n.text_is_raw(), ours.replace(',', "") == cell, "{cell:?}");
            }
        }
    }

    #[test]
    fn given_numbers_when_formatted_then_the_integer_part_is_grouped() {
        assert_eq!(format_number("1234567.5"), "1,234,567.5");
        assert_eq!(format_number("-1200"), "-1,200");
        assert_eq!(format_number("999"), "999");
        assert_eq!(format_number("0.001234"), "0.001234");
        assert_eq!(format_number("1e9"), "1e9");
        assert_eq!(format_number("abc"), "abc");
    }
}
