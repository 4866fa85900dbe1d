//! Byte tests a word (8 bytes) at a time, in safe, portable code (x86_64
//! and the arm64 Lambda alike): the checks every byte of a report goes
//! through in the second pass. A byte at a time, a table lookup and a
//! branch per byte were a fifth of the render time by perf.
//!
//! `(w - 0x01…01) & !w & 0x80…80` flags every zero byte of `w` (its high
//! bit), and perhaps a byte just above one (the borrow), never a byte of a
//! word without one: exact as a test of the word, and the lowest flag is
//! exact too.

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

/// The flagged places of one word whose first byte is at `base`, lowest
/// first.
#[inline]
fn bits(word: u64, base: usize) -> impl Iterator<Item = usize> {
    std::iter::successors(Some(word).filter(|&w| w != 0), |&w| {
        Some(w & (w - 1)).filter(|&w| w != 0)
    })
    .map(move |w| base + (w.trailing_zeros() / 8) as usize)
}

/// The places in `bytes` that [`html_word`] may flag, lowest first: every
/// byte HTML escapes, and perhaps a byte just after one, so the caller
/// tests each again. A word at a time; the bytes past the last whole word
/// are shifted into one more, masked.
#[inline]
pub(crate) fn html_places(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let (words, rest) = words(bytes);
    let tail = rest.iter().rev().fold(0, |w, &b| (w << 8) | u64::from(b));
    words
        .map(html_word)
        .chain(std::iter::once(html_word(tail) & mask(rest.len())))
        .enumerate()
        .flat_map(|(k, flags)| bits(flags, 8 * k))
}

/// A field of at most 16 bytes, read as two words from 16 bytes that start
/// with it (what follows it in its record fills the rest): one test per
/// word, with no loop and no padding. Flags are kept only for the field's
/// own bytes; a byte past it can flag only bytes above itself, never one
/// of the field's.
#[derive(Clone, Copy)]
pub(crate) struct Short {
    words: [u64; 2],
    masks: [u64; 2],
}

impl Short {
    #[inline]
    pub(crate) fn new(window: &[u8; 16], len: usize) -> Self {
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&window[i * 8..i * 8 + 8]);
            u64::from_le_bytes(w)
        };
        Short {
            words: [word(0), word(1)],
            masks: [mask(len.min(8)), mask(len.saturating_sub(8).min(8))],
        }
    }

    /// The field's bytes [`html_word`] looks for, as [`Flags`].
    #[inline]
    pub(crate) fn html_flags(&self) -> Flags {
        Flags([
            html_word(self.words[0]) & self.masks[0],
            html_word(self.words[1]) & self.masks[1],
        ])
    }
}

/// Where a [`Short`] field may hold a special byte: the high bit of each
/// such byte, per word. Every special byte is flagged; a byte just after
/// one may be flagged too ([`zeros`]' borrow), so the caller tests each
/// flagged byte again.
#[derive(Clone, Copy)]
pub(crate) struct Flags([u64; 2]);

impl Flags {
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
        bits(lo, 0).chain(bits(hi, 8))
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
pub(crate) fn find<const N: usize>(bytes: &[u8], set: [u8; N]) -> Option<usize> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_every_byte_at_every_place_of_a_word_then_each_test_is_the_bytewise_one() {
        // GIVEN each byte value at each position of 1 to 19 bytes of filler
        // (words and leftovers), with filler that sits next to the special
        // bytes: 0x21, 0x25, 0x3d, 0x1f, 0x7f, 0x80
        for filler in [b'a', 0x21, 0x25, 0x3d, 0x7f, b' '] {
            for len in 1..20 {
                for at in 0..len {
                    for b in 0..=255u8 {
                        let mut bytes = vec![filler; len];
                        bytes[at] = b;
                        // THEN each word-at-a-time test agrees with a plain one
                        let html = bytes.iter().any(|c| b"\"&'<>".contains(c));
                        assert_eq!(html_places(&bytes).next().is_some(), html);
                        // AND the places flagged hold every special byte's
                        // place, lowest first, and none past the bytes
                        let html_at = html_places(&bytes).collect::<Vec<_>>();
                        for (i, &c) in bytes.iter().enumerate() {
                            if b"\"&'<>".contains(&c) {
                                assert!(html_at.contains(&i), "{bytes:?}");
                            }
                        }
                        assert!(html_at.iter().all(|&i| i < len));
                        assert!(html_at.windows(2).all(|w| w[0] < w[1]));
                        let first = |set: &[u8]| bytes.iter().position(|c| set.contains(c));
                        assert_eq!(find(&bytes, [b',', b'\n', b'\r']), first(b",\n\r"));
                        assert_eq!(find(&bytes, [b'"']), first(b"\""));
                        assert_eq!(find(&bytes, [b]), first(&[b]));
                        assert_eq!(
                            ascii_and_nul(&bytes),
                            (bytes.is_ascii(), bytes.contains(&0)),
                            "{bytes:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn given_a_short_field_and_any_bytes_after_it_then_its_tests_are_the_fields_own() {
        // GIVEN each byte value at each of 16 places, fields of 0 to 16
        // bytes, and after the field filler or bytes that are special
        for filler in [b'a', 0x21, 0x25, 0x3d, 0x7f, 0x80] {
            for after in [filler, b'"', 0, 0x1f, b'<', b'\\'] {
                for len in 0..=16 {
                    for at in 0..16 {
                        for b in 0..=255u8 {
                            let mut window = [filler; 16];
                            window[len..].fill(after);
                            window[at] = b;
                            let field = &window[..len];
                            // THEN the short test is the field's own
                            let short = Short::new(&window, len);
                            let html = field.iter().any(|c| b"\"&'<>".contains(c));
                            assert_eq!(!short.html_flags().none(), html, "{window:?} {len}");
                            // AND its flags hold every special byte's
                            // place, and none past the field
                            let html = short.html_flags().places().collect::<Vec<_>>();
                            for (i, &c) in field.iter().enumerate() {
                                if b"\"&'<>".contains(&c) {
                                    assert!(html.contains(&i), "{window:?} {len}");
                                }
                            }
                            assert!(html.iter().all(|&i| i < len));
                        }
                    }
                }
            }
        }
    }
}
