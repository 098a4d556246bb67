//! Byte scans eight bytes at a time in a `u64` ("SIMD within a register"),
//! for the short strings of a request or response head: a target, a header
//! value, a header name. No SIMD instructions, no `unsafe`.

const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);

/// The eight bytes of `bytes` from `at`, the first in the low byte; past the
/// end, `pad` bytes.
#[inline]
pub(crate) fn word_at(bytes: &[u8], at: usize, pad: u8) -> u64 {
    let len = bytes.len();
    if let Some(word) = bytes.get(at..at + 8) {
        return u64::from_le_bytes(word.try_into().unwrap_or_default());
    }
    let left = len.saturating_sub(at);
    if left == 0 {
        return ONES * u64::from(pad);
    }
    let past = 8 * (8 - left) as u32; // bits of padding, 8 to 56
    match len.checked_sub(8).and_then(|start| bytes.get(start..)) {
        // The last eight bytes, shifted down past the ones before `at`.
        Some(last) => {
            let last = u64::from_le_bytes(last.try_into().unwrap_or_default());
            (last >> past) | (ONES * u64::from(pad)) << (64 - past)
        }
        // Fewer than eight bytes in all: shifted in under the padding, the
        // last first (a copy into an array would be a `memcpy` call).
        None => bytes[at..]
            .iter()
            .rev()
            .fold(ONES * u64::from(pad), |word, &b| (word << 8) | u64::from(b)),
    }
}

/// Marks (high bit set) the bytes of `word` equal to `byte`: the lowest mark
/// is exact, higher ones may be false (a borrow), and the result is nonzero
/// exactly when some byte is equal.
#[inline]
pub(crate) fn marks(word: u64, byte: u8) -> u64 {
    let zeroed = word ^ (ONES * u64::from(byte));
    zeroed.wrapping_sub(ONES) & !zeroed & HIGHS
}

/// Nonzero exactly when some byte of `word` is below `limit` (at most 128).
#[inline]
pub(crate) fn below(word: u64, limit: u8) -> u64 {
    word.wrapping_sub(ONES * u64::from(limit)) & !word & HIGHS
}

/// Whether `name` is `lower` in any case, for a name made of token bytes (as
/// `httparse` checks header names) and a `lower` of lowercase letters, digits
/// and `-`: a token byte ORed with `0x20` is a lowercase letter only when it
/// is that letter in either case, and `-` or a digit only when it is that
/// byte, so whole words compare at once.
#[inline]
pub(crate) fn token_is(name: &[u8], lower: &[u8]) -> bool {
    if name.len() != lower.len() {
        return false;
    }
    let case = ONES * 0x20;
    let mut at = 0;
    while at < name.len() {
        if word_at(name, at, 0) | case != word_at(lower, at, 0) | case {
            return false;
        }
        at += 8;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_padded_past_the_end() {
        let bytes = b"0123456789abcdefXYZ";
        for len in 0..=bytes.len() {
            for at in 0..len + 8 {
                let mut expected = [b'.'; 8];
                for (i, slot) in expected.iter_mut().enumerate() {
                    if at + i < len {
                        *slot = bytes[at + i];
                    }
                }
                let expected = u64::from_le_bytes(expected);
                assert_eq!(
                    word_at(&bytes[..len], at, b'.'),
                    expected,
                    "len {len} at {at}"
                );
            }
        }
    }

    #[test]
    fn words_and_marks() {
        let text = b"abc?def#ghij";
        assert_eq!(marks(word_at(text, 0, 0), b'?').trailing_zeros(), 3 * 8 + 7);
        assert_ne!(marks(word_at(text, 0, 0), b'#'), 0);
        assert_eq!(marks(word_at(text, 0, 0), b'!'), 0);
        assert_eq!(marks(word_at(text, 8, 0), b'?'), 0, "padded past the end");
        assert_eq!(
            word_at(b"ab", 0, b' ') >> 16,
            u64::from_le_bytes(*b"      \0\0")
        );
        // A byte just above a match is not taken for another match first.
        let marked = marks(u64::from_le_bytes(*b"x?\x40?yyyy"), b'?');
        assert_eq!(marked.trailing_zeros(), 8 + 7);
        assert_eq!(marks(u64::from_le_bytes(*b"xxxx\x40yyy"), b'?'), 0);
        assert_ne!(below(u64::from_le_bytes(*b"abcd\tfgh"), 0x0e), 0);
        assert_eq!(below(u64::from_le_bytes(*b"abcd efg"), 0x0e), 0);
        assert_eq!(
            below(
                u64::from_le_bytes([0x80, 0xff, 0x0e, 0x7f, 0x20, 0x41, 0x90, 0xfe]),
                0x0e
            ),
            0
        );
    }

    #[test]
    fn token_names_in_any_case() {
        assert!(token_is(b"Content-Length", b"content-length"));
        assert!(token_is(b"HOST", b"host"));
        assert!(token_is(b"transfer-ENCODING", b"transfer-encoding"));
        assert!(!token_is(b"Content-Lengths", b"content-length"));
        assert!(!token_is(b"Content_Length", b"content-length"));
        assert!(!token_is(b"hosu", b"host"));
        assert!(
            !token_is(b"Content-Lengtx", b"content-length"),
            "the last word counts"
        );
    }
}
