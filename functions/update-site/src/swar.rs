//! Byte tests many bytes at a time: the checks every byte of a report
//! goes through in the second pass. A byte at a time, a table lookup and a
//! branch per byte were a fifth of the render time by perf.
//!
//! Here a word (8 bytes) at a time, in safe, portable code. The four that
//! run per cell ([`find`], [`find_counting`], [`html_places`],
//! [`Short::html_flags`]) take 16 bytes per step with the CPU's byte
//! compares where it has them (`swar/simd.rs`: SSE2 on x86_64, NEON on the
//! arm64 Lambda), and the word tests take the bytes after the last 16:
//! the render about 8% faster by `render_pass` on x86_64 (arm64 not
//! measured: no arm64 machine here; its tests run under qemu,
//! `make test-arm64`).
//!
//! `(w - 0x01…01) & !w & 0x80…80` flags every zero byte of `w` (its high
//! bit), and perhaps a byte just above one (the borrow), never a byte of a
//! word without one: exact as a test of the word, and the lowest flag is
//! exact too.

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[path = "swar/sse2.rs"]
mod lanes;
#[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
#[path = "swar/neon.rs"]
mod lanes;
#[cfg(any(
    all(target_arch = "x86_64", target_feature = "sse2"),
    all(target_arch = "aarch64", target_feature = "neon")
))]
mod simd;
#[cfg(any(
    all(target_arch = "x86_64", target_feature = "sse2"),
    all(target_arch = "aarch64", target_feature = "neon")
))]
pub(crate) use simd::{find, find_counting, html_places, Flags};

#[cfg(not(any(
    all(target_arch = "x86_64", target_feature = "sse2"),
    all(target_arch = "aarch64", target_feature = "neon")
)))]
pub(crate) use {
    find_counting_words as find_counting, find_words as find, html_places_words as html_places,
    WordFlags as Flags,
};

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `w` that may be zero.
#[inline]
fn zeros(w: u64) -> u64 {
    w.wrapping_sub(LO) & !w & HI
}

/// `bytes` in words of 8, and the bytes left over.
#[inline]
fn words(bytes: &[u8]) -> (impl Iterator<Item = u64> + '_, &[u8]) {
    let chunks = bytes.chunks_exact(8);
    let rest = chunks.remainder();
    let words = chunks.map(|c| {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        u64::from_le_bytes(w)
    });
    (words, rest)
}

/// The high bit of each byte of `w` that may be `b`.
#[inline]
fn matches(w: u64, b: u8) -> u64 {
    zeros(w ^ (LO * u64::from(b)))
}

/// The high bits of the first `n` bytes of a word (n ≤ 8).
#[inline]
fn mask(n: usize) -> u64 {
    match n {
        0 => 0,
        8.. => HI,
        n => HI & ((1u64 << (8 * n)) - 1),
    }
}

/// The high bit of each byte of `w` that may be one HTML escapes (`"` `&`
/// `'` `<` `>`). `&` and `'` are 0x26 and 0x27, `<` and `>` 0x3c and 0x3e:
/// one test for each pair with the bit that tells them apart set.
#[inline]
pub(crate) fn html_word(w: u64) -> u64 {
    matches(w, b'"') | matches(w | LO, b'\'') | matches(w | (LO * 2), b'>')
}

/// The places of the set bits of `mask`, one per byte `lane` bits apart
/// (8 for the word tests' high bits), `base` added, lowest first.
#[inline]
fn bits(mask: u64, base: usize, lane: u32) -> impl Iterator<Item = usize> {
    std::iter::successors(Some(mask).filter(|&m| m != 0), |&m| {
        Some(m & (m - 1)).filter(|&m| m != 0)
    })
    .map(move |m| base + (m.trailing_zeros() / lane) as usize)
}

/// The places in `bytes` that [`html_word`] may flag, lowest first: every
/// byte HTML escapes, and perhaps a byte just after one, so the caller
/// tests each again. A word at a time; the bytes past the last whole word
/// are shifted into one more, masked.
#[inline]
pub(crate) fn html_places_words(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let (words, rest) = words(bytes);
    let tail = rest.iter().rev().fold(0, |w, &b| (w << 8) | u64::from(b));
    words
        .map(html_word)
        .chain(std::iter::once(html_word(tail) & mask(rest.len())))
        .enumerate()
        .flat_map(|(k, flags)| bits(flags, 8 * k, 8))
}

/// A field of at most 16 bytes, read from 16 bytes that start with it
/// (what follows it in its record fills the rest): one test of the 16
/// bytes (two words without SSE2), with no loop and no padding. Flags are
/// kept only for the field's own bytes; a byte past it can flag only bytes
/// above itself, never one of the field's.
#[derive(Clone, Copy)]
pub(crate) struct Short<'a> {
    window: &'a [u8; 16],
    len: usize,
}

impl<'a> Short<'a> {
    #[inline]
    pub(crate) fn new(window: &'a [u8; 16], len: usize) -> Self {
        Short { window, len }
    }

    /// The field's bytes HTML escapes, as [`Flags`].
    #[inline]
    pub(crate) fn html_flags(&self) -> Flags {
        #[cfg(any(
            all(target_arch = "x86_64", target_feature = "sse2"),
            all(target_arch = "aarch64", target_feature = "neon")
        ))]
        return simd::short_html_flags(self.window, self.len);
        #[cfg(not(any(
            all(target_arch = "x86_64", target_feature = "sse2"),
            all(target_arch = "aarch64", target_feature = "neon")
        )))]
        return self.html_flags_words();
    }

    /// [`Short::html_flags`] from two words (with SSE2 or NEON, for the
    /// tests).
    #[cfg_attr(any(target_arch = "x86_64", target_arch = "aarch64"), allow(dead_code))]
    #[inline]
    pub(crate) fn html_flags_words(&self) -> WordFlags {
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&self.window[i * 8..i * 8 + 8]);
            u64::from_le_bytes(w)
        };
        let len = self.len;
        WordFlags([
            html_word(word(0)) & mask(len.min(8)),
            html_word(word(1)) & mask(len.saturating_sub(8).min(8)),
        ])
    }
}

/// Where a [`Short`] field may hold a special byte, from two words: the
/// high bit of each such byte, per word. Every special byte is flagged; a
/// byte just after one may be flagged too ([`zeros`]' borrow), so the
/// caller tests each flagged byte again.
#[derive(Clone, Copy)]
#[cfg_attr(any(target_arch = "x86_64", target_arch = "aarch64"), allow(dead_code))]
pub(crate) struct WordFlags([u64; 2]);

#[cfg_attr(any(target_arch = "x86_64", target_arch = "aarch64"), allow(dead_code))]
impl WordFlags {
    /// No byte is special.
    #[inline]
    pub(crate) fn none(self) -> bool {
        self.0[0] | self.0[1] == 0
    }

    /// The places of the flagged bytes in the field, lowest first: a
    /// special cell's specials found in two words, not byte by byte.
    #[inline]
    pub(crate) fn places(self) -> impl Iterator<Item = usize> {
        let [lo, hi] = self.0;
        bits(lo, 0, 8).chain(bits(hi, 8, 8))
    }
}

/// Whether `bytes` are all ASCII, and whether they hold a NUL, in one pass.
#[inline]
pub(crate) fn ascii_and_nul(bytes: &[u8]) -> (bool, bool) {
    let (words, rest) = words(bytes);
    let (mut high, mut zero) = (0u64, 0u64);
    for w in words {
        high |= w;
        zero |= zeros(w);
    }
    let rest_high = rest.iter().fold(0u8, |a, &b| a | b);
    let rest_zero = rest.contains(&0);
    (high & HI == 0 && rest_high < 0x80, zero != 0 || rest_zero)
}

/// Where the first byte of `bytes` that is one of `set` is. Lowest first:
/// [`zeros`] flags a false byte only above a true one, never below.
#[inline]
pub(crate) fn find_words<const N: usize>(bytes: &[u8], set: [u8; N]) -> Option<usize> {
    let mut at = 0;
    let (words, rest) = words(bytes);
    for w in words {
        let hits = set
            .iter()
            .fold(0, |m, &b| m | zeros(w ^ (LO * u64::from(b))));
        if hits != 0 {
            return Some(at + (hits.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    rest.iter().position(|b| set.contains(b)).map(|p| at + p)
}

/// Where the first `b` in `bytes` is, and how many `count` bytes come
/// before it (or in all of `bytes`, without a `b`).
#[inline]
pub(crate) fn find_counting_words(bytes: &[u8], b: u8, count: u8) -> (Option<usize>, u64) {
    let at = find_words(bytes, [b]);
    let before = &bytes[..at.unwrap_or(bytes.len())];
    (at, before.iter().filter(|&&c| c == count).count() as u64)
}

#[cfg(test)]
mod tests;
