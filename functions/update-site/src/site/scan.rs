//! The first pass over a report: its header, row count and size, each
//! column's type, and, for a report small enough, a fingerprint of every row
//! by its key column (the first), from which the archive says what changed
//! since the report before. Memory: one row, plus 16 bytes per row for the
//! fingerprints, which stop past `diff_max_bytes`.

use std::io::Read;

use super::columns::{ColumnType, Inference};
use super::source::CsvRows;
use crate::render::{Limits, RenderError};

/// What the first pass learned.
#[derive(Debug, Clone)]
pub struct Scan {
    pub header: Vec<String>,
    pub types: Vec<ColumnType>,
    pub rows: u64,
    pub bytes: u64,
    /// `(key hash, row hash)` of every row, sorted; `None` for a report
    /// over the size for a row-level comparison.
    pub fingerprints: Option<Vec<(u64, u64)>>,
}

/// FNV-1a, 64 bits: stable across builds, as stored fingerprints must be.
pub(crate) fn fnv(parts: impl IntoIterator<Item = impl AsRef<[u8]>>) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for p in parts {
        for b in p.as_ref() {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        // A separator, so ("ab", "c") and ("a", "bc") differ.
        h = (h ^ 0xff).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The first pass. Every row is checked as the second pass checks it
/// (limits, UTF-8, NUL bytes), so a report it accepts, the second pass
/// reads without an error of its own, and a bad report is refused before
/// any page of it is written. (The UTF-8 check costs little: the tokenizer
/// checks its input in bulk.)
pub fn scan<R: Read>(input: R, limits: &Limits, diff_max_bytes: u64) -> Result<Scan, RenderError> {
    let mut csv = CsvRows::open(input, limits)?;
    let header: Vec<String> = csv.header.iter().map(str::to_string).collect();
    let mut inference = vec![Inference::default(); header.len()];
    let mut fingerprints = Some(Vec::new());
    let mut rows = 0u64;
    let mut past_diff_size = false;
    loop {
        past_diff_size |= csv.bytes() > diff_max_bytes;
        if csv.next()?.is_none() {
            break;
        }
        let row = csv.record();
        rows += 1;
        for (i, cell) in row.iter().enumerate() {
            inference[i].observe_bytes(cell);
        }
        if past_diff_size {
            fingerprints = None;
        }
        if let Some(f) = fingerprints.as_mut() {
            f.push((fnv([row.get(0).unwrap_or_default()]), fnv(row.iter())));
        }
    }
    if csv.bytes() > diff_max_bytes {
        fingerprints = None;
    }
    if let Some(f) = fingerprints.as_mut() {
        f.sort_unstable();
    }
    Ok(Scan {
        types: inference.iter().map(Inference::result).collect(),
        header,
        rows,
        bytes: csv.bytes(),
        fingerprints,
    })
}

/// Rows added, removed and changed between two reports, by key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RowChanges {
    pub added: u64,
    pub removed: u64,
    pub changed: u64,
}

/// Compares sorted fingerprints. A key that repeats counts once per row.
pub fn compare(before: &[(u64, u64)], after: &[(u64, u64)]) -> RowChanges {
    let (mut i, mut j) = (0, 0);
    let mut c = RowChanges {
        added: 0,
        removed: 0,
        changed: 0,
    };
    while i < before.len() || j < after.len() {
        match (before.get(i), after.get(j)) {
            (Some(b), Some(a)) if b.0 == a.0 => {
                if b.1 != a.1 {
                    c.changed += 1;
                }
                i += 1;
                j += 1;
            }
            (Some(b), Some(a)) if b.0 < a.0 => {
                c.removed += 1;
                i += 1;
            }
            (Some(_), Some(_)) | (None, Some(_)) => {
                c.added += 1;
                j += 1;
            }
            (Some(_), None) => {
                c.removed += 1;
                i += 1;
            }
            (None, None) => break,
        }
    }
    c
}

/// Fingerprints as stored beside a report (`rows.bin`): little-endian pairs.
pub fn encode(f: &[(u64, u64)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + f.len() * 16);
    out.extend_from_slice(b"RPFP0001");
    for (k, v) in f {
        out.extend_from_slice(&k.to_le_bytes());
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

pub fn decode(bytes: &[u8]) -> Option<Vec<(u64, u64)>> {
    let body = bytes.strip_prefix(b"RPFP0001")?;
    if body.len() % 16 != 0 {
        return None;
    }
    Some(
        body.chunks_exact(16)
            .map(|c| {
                let (k, v) = c.split_at(8);
                (
                    u64::from_le_bytes(k.try_into().unwrap_or_default()),
                    u64::from_le_bytes(v.try_into().unwrap_or_default()),
                )
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_a_csv_when_scanned_then_types_rows_and_bytes_are_known() {
        let csv = "id,amount,day,name\n1,9.5,2026-01-01,a\n2,10,2026-01-02,b\n";
        let s = scan(csv.as_bytes(), &Limits::default(), u64::MAX).unwrap();
        assert_eq!(s.rows, 2);
        assert_eq!(s.bytes, csv.len() as u64);
        assert_eq!(
            s.types,
            [
                ColumnType::Integer,
                ColumnType::Decimal,
                ColumnType::Date,
                ColumnType::Text
            ]
        );
    }

    #[test]
    fn given_two_reports_when_compared_by_key_then_added_removed_and_changed_are_counted() {
        let a = scan(
            "k,v\n1,a\n2,b\n3,c\n".as_bytes(),
            &Limits::default(),
            u64::MAX,
        )
        .unwrap();
        let b = scan(
            "k,v\n2,b\n3,x\n4,d\n5,e\n".as_bytes(),
            &Limits::default(),
            u64::MAX,
        )
        .unwrap();
        let c = compare(
            a.fingerprints.as_ref().unwrap(),
            b.fingerprints.as_ref().unwrap(),
        );
        assert_eq!(
            c,
            RowChanges {
                added: 2,
                removed: 1,
                changed: 1
            }
        );
        let f = b.fingerprints.unwrap();
        assert_eq!(decode(&encode(&f)), Some(f));
    }

    #[test]
    fn given_a_report_over_the_diff_size_when_scanned_then_no_fingerprints_are_kept() {
        let s = scan("k\n1\n2\n".as_bytes(), &Limits::default(), 3).unwrap();
        assert!(s.fingerprints.is_none());
    }
}
