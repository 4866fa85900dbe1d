//! 16 byte compares with NEON, for `simd`: one bit per byte, 4 apart.
//! NEON has no movemask; a narrowing shift right by 4 of the compare's
//! 16-bit lanes leaves a nibble per byte (as memchr's arm64 search does),
//! and its top bit is kept.
//!
//! `unsafe` only to call the `#[target_feature]` functions: NEON is part
//! of every arm64 target (this module is compiled only where
//! `target_feature = "neon"` is on), but calling such a function from one
//! without the attribute is unsafe all the same. No intrinsic here takes a
//! pointer.

use std::arch::aarch64::*;

/// A matching byte's bit is 4 times its place (plus 3).
pub(super) const LANE: u32 = 4;

/// A bit for each of the 16 bytes that is one of `set`.
#[inline]
pub(super) fn eq<const N: usize>(bytes: (u64, u64), set: [u8; N]) -> u64 {
    // SAFETY: NEON is enabled (the module's cfg).
    unsafe { eq_neon(bytes, set) }
}

/// A bit for each of the 16 bytes that is `"` `&` `'` `<` or `>`.
#[inline]
pub(super) fn html(bytes: (u64, u64)) -> u64 {
    // SAFETY: as above.
    unsafe { html_neon(bytes) }
}

#[inline]
#[target_feature(enable = "neon")]
fn eq_neon<const N: usize>((lo, hi): (u64, u64), set: [u8; N]) -> u64 {
    let v = vcombine_u8(vcreate_u8(lo), vcreate_u8(hi));
    let hits = set.iter().fold(vdupq_n_u8(0), |m, &b| {
        vorrq_u8(m, vceqq_u8(v, vdupq_n_u8(b)))
    });
    mask(hits)
}

/// The pairs tested as [`super::super::html_word`] tests them: `&`/`'` and
/// `<`/`>` differ in one bit, set before the compare.
#[inline]
#[target_feature(enable = "neon")]
fn html_neon((lo, hi): (u64, u64)) -> u64 {
    let v = vcombine_u8(vcreate_u8(lo), vcreate_u8(hi));
    let quote = vceqq_u8(v, vdupq_n_u8(b'"'));
    let amp_apos = vceqq_u8(vorrq_u8(v, vdupq_n_u8(1)), vdupq_n_u8(b'\''));
    let lt_gt = vceqq_u8(vorrq_u8(v, vdupq_n_u8(2)), vdupq_n_u8(b'>'));
    mask(vorrq_u8(quote, vorrq_u8(amp_apos, lt_gt)))
}

/// Byte `i` of a compare (0 or 0xff) as bit `4i + 3`.
#[inline]
#[target_feature(enable = "neon")]
fn mask(cmp: uint8x16_t) -> u64 {
    let nibbles = vshrn_n_u16::<4>(vreinterpretq_u16_u8(cmp));
    vget_lane_u64::<0>(vreinterpret_u64_u8(nibbles)) & 0x8888_8888_8888_8888
}
