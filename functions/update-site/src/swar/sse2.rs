//! The per-cell tests 16 bytes at a time with SSE2's byte compares: one
//! bit per byte, exact (no borrow to test again). The bytes after the last
//! 16 go to the word tests.
//!
//! The crate's only `unsafe`: SSE2 is part of every x86_64 target (this
//! module is compiled only where `target_feature = "sse2"` is on), but a
//! `#[target_feature]` function is unsafe to call from one without the
//! attribute all the same. The intrinsics take no pointers: the 16 bytes
//! come in as two words, which the compiler makes one unaligned load.

use std::arch::x86_64::*;

use super::{find_counting_words, find_words, html_places_words};

/// Where the first byte of `bytes` that is one of `set` is.
#[inline]
pub(crate) fn find<const N: usize>(bytes: &[u8], set: [u8; N]) -> Option<usize> {
    let chunks = bytes.chunks_exact(16);
    let rest = chunks.remainder();
    for (k, c) in chunks.enumerate() {
        // SAFETY: SSE2 is enabled (the module's cfg).
        let hits = unsafe { find16(words(c), set) };
        if hits != 0 {
            return Some(16 * k + hits.trailing_zeros() as usize);
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
        // SAFETY: as above.
        let (hits, counts) = unsafe { (find16(words(c), [b]), find16(words(c), [count])) };
        if hits != 0 {
            let before = (1u32 << hits.trailing_zeros()) - 1;
            let at = 16 * k + hits.trailing_zeros() as usize;
            return (
                Some(at),
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
        // SAFETY: as above.
        .flat_map(|(k, c)| places(unsafe { html16(words(c)) }, 16 * k))
        .chain(html_places_words(rest).map(move |i| base + i))
}

/// The bytes HTML escapes among the first `len` (≤ 16) of `window`.
#[inline]
pub(crate) fn short_html_flags(window: &[u8; 16], len: usize) -> Flags {
    let field = (1u32 << len.min(16)) - 1;
    // SAFETY: as above.
    Flags(unsafe { html16(words(window)) } & field)
}

/// Where a short field holds a byte HTML escapes: one bit per byte.
#[derive(Clone, Copy)]
pub(crate) struct Flags(u32);

impl Flags {
    /// No byte is special.
    #[inline]
    pub(crate) fn none(self) -> bool {
        self.0 == 0
    }

    /// The places of the special bytes in the field, lowest first.
    #[inline]
    pub(crate) fn places(self) -> impl Iterator<Item = usize> {
        places(self.0, 0)
    }
}

/// The places of `mask`'s bits, `base` added, lowest first.
#[inline]
fn places(mask: u32, base: usize) -> impl Iterator<Item = usize> {
    std::iter::successors(Some(mask).filter(|&m| m != 0), |&m| {
        Some(m & (m - 1)).filter(|&m| m != 0)
    })
    .map(move |m| base + m.trailing_zeros() as usize)
}

/// 16 bytes as two little-endian words.
#[inline]
fn words(c: &[u8]) -> (i64, i64) {
    let word = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&c[i..i + 8]);
        i64::from_le_bytes(w)
    };
    (word(0), word(8))
}

/// A bit for each of the 16 bytes that is one of `set`.
#[inline]
#[target_feature(enable = "sse2")]
fn find16<const N: usize>((lo, hi): (i64, i64), set: [u8; N]) -> u32 {
    let v = _mm_set_epi64x(hi, lo);
    let hits = set.iter().fold(_mm_setzero_si128(), |m, &b| {
        _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8)))
    });
    _mm_movemask_epi8(hits) as u32
}

/// A bit for each of the 16 bytes that is `"` `&` `'` `<` or `>`, the pairs
/// tested as [`super::html_word`] tests them (`&`/`'` and `<`/`>` differ in
/// one bit, set before the compare).
#[inline]
#[target_feature(enable = "sse2")]
fn html16((lo, hi): (i64, i64)) -> u32 {
    let v = _mm_set_epi64x(hi, lo);
    let is = |v, b: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8));
    let quote = is(v, b'"');
    let amp_apos = is(_mm_or_si128(v, _mm_set1_epi8(1)), b'\'');
    let lt_gt = is(_mm_or_si128(v, _mm_set1_epi8(2)), b'>');
    _mm_movemask_epi8(_mm_or_si128(quote, _mm_or_si128(amp_apos, lt_gt))) as u32
}
