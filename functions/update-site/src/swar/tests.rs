use super::*;

/// The places a test flags for `bytes` hold every byte HTML escapes, lowest
/// first, and none past the bytes.
fn assert_html_places(bytes: &[u8], places: impl Iterator<Item = usize>) {
    let places = places.collect::<Vec<_>>();
    for (i, &c) in bytes.iter().enumerate() {
        if b"\"&'<>".contains(&c) {
            assert!(places.contains(&i), "{bytes:?}");
        }
    }
    assert!(places.iter().all(|&i| i < bytes.len()), "{bytes:?}");
    assert!(places.windows(2).all(|w| w[0] < w[1]), "{bytes:?}");
}

#[test]
fn given_every_byte_at_every_place_then_each_test_is_the_bytewise_one() {
    // GIVEN each byte value at each position of 1 to 19 bytes of filler
    // (words and leftovers) and of lengths around one, two and three
    // 16-byte steps, with filler that sits next to the special bytes:
    // 0x21, 0x25, 0x3d, 0x1f, 0x7f, 0x80; and LF, which one test counts
    for filler in [b'a', 0x21, 0x25, 0x3d, 0x7f, b' ', b'\n'] {
        for len in (1..20).chain([31, 32, 33, 47, 48, 49]) {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut bytes = vec![filler; len];
                    bytes[at] = b;
                    let html = bytes.iter().any(|c| b"\"&'<>".contains(c));
                    let first = |set: &[u8]| bytes.iter().position(|c| set.contains(c));
                    // THEN each test, the one the build uses (SSE2 on
                    // x86_64) and the word one (arm64), agrees with a
                    // plain one
                    assert_eq!(html_places(&bytes).next().is_some(), html);
                    assert_eq!(html_places_words(&bytes).next().is_some(), html);
                    assert_html_places(&bytes, html_places(&bytes));
                    assert_html_places(&bytes, html_places_words(&bytes));
                    for find in [find::<3>, find_words::<3>] {
                        assert_eq!(find(&bytes, [b',', b'\n', b'\r']), first(b",\n\r"));
                    }
                    for find_counting in [find_counting, find_counting_words] {
                        let at = first(b"\"");
                        let before = &bytes[..at.unwrap_or(len)];
                        let lf = before.iter().filter(|&&c| c == b'\n').count() as u64;
                        assert_eq!(find_counting(&bytes, b'"', b'\n'), (at, lf), "{bytes:?}");
                    }
                    for find in [find::<1>, find_words::<1>] {
                        assert_eq!(find(&bytes, [b'"']), first(b"\""));
                        assert_eq!(find(&bytes, [b]), first(&[b]));
                    }
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
                        // THEN the short test is the field's own, as the
                        // build makes it and from two words alike
                        let short = Short::new(&window, len);
                        let html = field.iter().any(|c| b"\"&'<>".contains(c));
                        assert_eq!(!short.html_flags().none(), html, "{window:?} {len}");
                        let words = short.html_flags_words();
                        assert_eq!(!words.none(), html, "{window:?} {len}");
                        // AND its flags hold every special byte's
                        // place, and none past the field
                        assert_html_places(field, short.html_flags().places());
                        assert_html_places(field, words.places());
                    }
                }
            }
        }
    }
}
