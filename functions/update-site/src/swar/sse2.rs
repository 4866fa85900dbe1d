//! 16 byte compares with SSE2, for `simd`: one bit per byte (movemask).
//!
//! `unsafe` only to call the `#[target_feature]` functions: SSE2 is part
//! of every x86_64 target (this module is compiled only where
//! `target_feature = "sse2"` is on), but calling such a function from one
//! without the attribute is unsafe all the same. No intrinsic here takes a
//! pointer.

use std::arch::x86_64::*;

/// A matching byte's bit is its place.
pub(super) const LANE: u32 = 1;

/// A bit for each of the 16 bytes that is one of `set`.
#[inline]
pub(super) fn eq<const N: usize>(bytes: (u64, u64), set: [u8; N]) -> u64 {
    // SAFETY: SSE2 is enabled (the module's cfg).
    unsafe { eq_sse2(bytes, set) }
}

/// A bit for each of the 16 bytes that is `"` `&` `'` `<` or `>`.
#[inline]
pub(super) fn html(bytes: (u64, u64)) -> u64 {
    // SAFETY: as above.
    unsafe { html_sse2(bytes) }
}

#[inline]
#[target_feature(enable = "sse2")]
fn eq_sse2<const N: usize>((lo, hi): (u64, u64), set: [u8; N]) -> u64 {
    let v = _mm_set_epi64x(hi as i64, lo as i64);
    let hits = set.iter().fold(_mm_setzero_si128(), |m, &b| {
        _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8)))
    });
    _mm_movemask_epi8(hits) as u32 as u64
}

/// The pairs tested as [`super::super::html_word`] tests them: `&`/`'` and
/// `<`/`>` differ in one bit, set before the compare.
#[inline]
#[target_feature(enable = "sse2")]
fn html_sse2((lo, hi): (u64, u64)) -> u64 {
    let v = _mm_set_epi64x(hi as i64, lo as i64);
    let is = |v, b: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8));
    let quote = is(v, b'"');
    let amp_apos = is(_mm_or_si128(v, _mm_set1_epi8(1)), b'\'');
    let lt_gt = is(_mm_or_si128(v, _mm_set1_epi8(2)), b'>');
    _mm_movemask_epi8(_mm_or_si128(quote, _mm_or_si128(amp_apos, lt_gt))) as u32 as u64
}
