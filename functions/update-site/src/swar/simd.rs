//! The per-cell tests 16 bytes at a time with the CPU's byte compares
//! (SSE2 on x86_64, NEON on arm64: `lanes`), exact (no borrow to test
//! again). The bytes after the last 16 go to the word tests.
//!
//! `lanes` gives a mask with one bit per matching byte, `LANE` bits apart
//! (SSE2's movemask: 1; NEON's narrowing shift: 4), so the place of a bit
//! is its position over `LANE`.

use super::lanes::{self, LANE};
use super::{bits, find_counting_words, find_words, html_places_words};

/// Where the first byte of `bytes` that is one of `set` is.
#[inline]
pub(crate) fn find<const N: usize>(bytes: &[u8], set: [u8; N]) -> Option<usize> {
    let chunks = bytes.chunks_exact(16);
    let rest = chunks.remainder();
    for (k, c) in chunks.enumerate() {
        let hits = lanes::eq(words(c), set);
        if hits != 0 {
            return Some(16 * k + place(hits));
        }
    }
    find_words(rest, set).map(|p| bytes.len() - rest.len() + p)
}

/// Where the first `b` in `bytes` is, and how many `count` bytes come
/// before it (or in all of `bytes`, without a `b`): a quoted field's end
/// and its line breaks in one read.
#[inline]
pub(crate) fn find_counting(bytes: &[u8], b: u8, count: u8) -> (Option<usize>, u64) {
    let chunks = bytes.chunks_exact(16);
    let rest = chunks.remainder();
    let mut counted = 0;
    for (k, c) in chunks.enumerate() {
        let (hits, counts) = (lanes::eq(words(c), [b]), lanes::eq(words(c), [count]));
        if hits != 0 {
            let before = (1u64 << hits.trailing_zeros()) - 1;
            return (
                Some(16 * k + place(hits)),
                counted + u64::from((counts & before).count_ones()),
            );
        }
        counted += u64::from(counts.count_ones());
    }
    let (at, n) = find_counting_words(rest, b, count);
    (at.map(|p| bytes.len() - rest.len() + p), counted + n)
}

/// The places in `bytes` of every byte HTML escapes, lowest first (and,
/// after the last 16 bytes, perhaps a byte just after one, as the word
/// tests flag it: the caller tests each place again).
#[inline]
pub(crate) fn html_places(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let chunks = bytes.chunks_exact(16);
    let rest = chunks.remainder();
    let base = bytes.len() - rest.len();
    chunks
        .enumerate()
        .flat_map(|(k, c)| bits(lanes::html(words(c)), 16 * k, LANE))
        .chain(html_places_words(rest).map(move |i| base + i))
}

/// The bytes HTML escapes among the first `len` (≤ 16) of `window`.
#[inline]
pub(crate) fn short_html_flags(window: &[u8; 16], len: usize) -> Flags {
    let field = match len.min(16) as u32 * LANE {
        64 => u64::MAX,
        bits => (1u64 << bits) - 1,
    };
    Flags(lanes::html(words(window)) & field)
}

/// Where a short field holds a byte HTML escapes: one bit per byte.
#[derive(Clone, Copy)]
pub(crate) struct Flags(u64);

impl Flags {
    /// No byte is special.
    #[inline]
    pub(crate) fn none(self) -> bool {
        self.0 == 0
    }

    /// The places of the special bytes in the field, lowest first.
    #[inline]
    pub(crate) fn places(self) -> impl Iterator<Item = usize> {
        bits(self.0, 0, LANE)
    }
}

/// The place of a mask's lowest bit.
#[inline]
fn place(mask: u64) -> usize {
    (mask.trailing_zeros() / LANE) as usize
}

/// 16 bytes as two little-endian words: the lanes' intrinsics then take
/// no pointers, and the compiler makes it one unaligned 16-byte load.
#[inline]
fn words(c: &[u8]) -> (u64, u64) {
    let word = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&c[i..i + 8]);
        u64::from_le_bytes(w)
    };
    (word(0), word(8))
}
