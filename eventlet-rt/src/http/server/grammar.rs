//! RFC 9110's byte classes of a message head: the bytes of a token (field
//! names, chunk extensions) and those a field value may hold, and the table
//! form such classes are built in.

/// Whether `b` may appear in a token (RFC 9110 5.6.2).
#[inline]
pub(crate) fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

/// HTAB, SP, VCHAR or obs-text: what a field value may hold (RFC 9110 5.5).
#[inline]
pub(crate) fn is_field_byte(b: u8) -> bool {
    b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80
}

/// The bytes of a token, by value.
const TCHAR: ByteClass = alphanumeric_and(b"!#$%&'*+-.^_`|~");

/// A set of bytes, looked up by value.
pub(crate) type ByteClass = [bool; 256];

/// The ASCII letters and digits and the bytes of `extra`, as a table built
/// at compile time (one look-up per byte where it is used).
pub(crate) const fn alphanumeric_and(extra: &[u8]) -> ByteClass {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        table[extra[i] as usize] = true;
        i += 1;
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_table_holds_exactly_rfc_9110s_tchars() {
        let listed = b"!#$%&'*+-.^_`|~";
        for b in 0..=255u8 {
            let expected = b.is_ascii_alphanumeric() || listed.contains(&b);
            assert_eq!(is_tchar(b), expected, "byte {b:#04x}");
        }
    }
}
