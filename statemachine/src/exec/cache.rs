//! Parse results of the definition's texts (JSONPaths, intrinsic calls),
//! memoised per execution by where the text lives.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

/// Hashes a text's address (two words) with one multiply each, where
/// SipHash's DoS resistance buys nothing.
#[derive(Default)]
struct AddrHasher(u64);

impl std::hash::Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

/// Parse results of the definition's texts (JSONPaths, intrinsic calls),
/// each parsed once per execution; parse errors are kept too, since parsing
/// is pure. Keyed by where the text lives: the texts are the definition's,
/// which outlives the execution, so the address names the text without
/// hashing its bytes. The text is still compared on a hit, in case a text
/// from elsewhere comes to occupy an address another one had.
pub(super) struct ParseCache<T> {
    map: HashMap<TextAddr, (Box<str>, Parsed<T>), BuildHasherDefault<AddrHasher>>,
}

/// A text's address and length.
type TextAddr = (usize, usize);
type Parsed<T> = Arc<Result<T, String>>;

impl<T> Default for ParseCache<T> {
    fn default() -> Self {
        ParseCache {
            map: HashMap::default(),
        }
    }
}

impl<T> ParseCache<T> {
    pub(super) fn get_or_parse(
        &mut self,
        text: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Arc<Result<T, String>> {
        let key = (text.as_ptr() as usize, text.len());
        if let Some((seen, parsed)) = self.map.get(&key) {
            if **seen == *text {
                return parsed.clone();
            }
        }
        let parsed = Arc::new(parse(text));
        self.map.insert(key, (text.into(), parsed.clone()));
        parsed
    }
}
