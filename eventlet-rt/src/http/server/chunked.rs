//! Chunked transfer coding of request bodies (RFC 9112 section 7.1): the
//! framing between the data, parsed from the connection's buffer with every
//! part bounded, so that a hostile client gets an error, never a hang.

use super::limits::MAX_CHUNK_LINE;

/// Where a chunked body is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Chunked {
    /// Before a chunk-size line.
    Size,
    /// Inside a chunk's data, with this many bytes left.
    Data(u64),
    /// After a chunk's data, before its CRLF.
    DataEnd,
    /// After the last chunk: trailer fields (discarded) up to an empty line.
    Trailers,
    Done,
}

/// Why a chunked body is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChunkError {
    /// Framing that is not chunked coding: a bad size, a missing CRLF, a
    /// line too long, a trailer that is not a header field.
    Malformed,
    /// Trailers past the header size limit.
    TrailersTooLarge,
}

impl Chunked {
    /// Parses the framing at the start of `input` in this state (not
    /// `Data`): `Ok(Some((consumed, next)))`, or `Ok(None)` when `input`
    /// holds too little to decide.
    pub(crate) fn advance(
        self,
        input: &[u8],
        max_trailer_bytes: usize,
    ) -> Result<Option<(usize, Chunked)>, ChunkError> {
        match self {
            Chunked::Size => size_line(input),
            Chunked::DataEnd => match input {
                [b'\r', b'\n', ..] => Ok(Some((2, Chunked::Size))),
                [] | [b'\r'] => Ok(None),
                _ => Err(ChunkError::Malformed),
            },
            Chunked::Trailers => trailers(input, max_trailer_bytes),
            Chunked::Data(_) | Chunked::Done => Ok(Some((0, self))),
        }
    }
}

/// `chunk-size [ chunk-ext ] CRLF`: at most 16 hex digits, then optional
/// whitespace and `;`-extensions, which are skipped.
fn size_line(input: &[u8]) -> Result<Option<(usize, Chunked)>, ChunkError> {
    let window = &input[..input.len().min(MAX_CHUNK_LINE)];
    let Some(lf) = window.iter().position(|&b| b == b'\n') else {
        return if input.len() >= MAX_CHUNK_LINE {
            Err(ChunkError::Malformed)
        } else {
            Ok(None)
        };
    };
    let line = match &window[..lf] {
        [line @ .., b'\r'] => line,
        _ => return Err(ChunkError::Malformed),
    };
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 || digits > 16 {
        return Err(ChunkError::Malformed);
    }
    let size = line[..digits].iter().fold(0u64, |size, &b| {
        // 16 hex digits fit in a u64.
        size << 4 | u64::from((b as char).to_digit(16).unwrap_or(0))
    });
    let rest = &line[digits..];
    let after_space = rest.iter().position(|&b| b != b' ' && b != b'\t');
    let extension_ok = match after_space {
        None => true,
        Some(at) => rest[at] == b';' && rest[at..].iter().all(|&b| b == b'\t' || b >= b' '),
    };
    if !extension_ok {
        return Err(ChunkError::Malformed);
    }
    let next = if size == 0 {
        Chunked::Trailers
    } else {
        Chunked::Data(size)
    };
    Ok(Some((lf + 1, next)))
}

/// Trailer fields up to the empty line, parsed as header fields (so that a
/// request line hidden there is refused, never taken as the next request).
fn trailers(input: &[u8], max: usize) -> Result<Option<(usize, Chunked)>, ChunkError> {
    let mut fields = [httparse::EMPTY_HEADER; 32];
    match httparse::parse_headers(input, &mut fields) {
        Ok(httparse::Status::Complete((consumed, _))) if consumed <= max => {
            Ok(Some((consumed, Chunked::Done)))
        }
        Ok(httparse::Status::Complete(_)) => Err(ChunkError::TrailersTooLarge),
        Ok(httparse::Status::Partial) if input.len() > max => Err(ChunkError::TrailersTooLarge),
        Ok(httparse::Status::Partial) => Ok(None),
        Err(httparse::Error::TooManyHeaders) => Err(ChunkError::TrailersTooLarge),
        Err(_) => Err(ChunkError::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_lines() {
        assert_eq!(
            Chunked::Size.advance(b"1a\r\n", 99),
            Ok(Some((4, Chunked::Data(26))))
        );
        assert_eq!(
            Chunked::Size.advance(b"0\r\n", 99),
            Ok(Some((3, Chunked::Trailers)))
        );
        assert_eq!(
            Chunked::Size.advance(b"5 ; name=value\r\nhello", 99),
            Ok(Some((16, Chunked::Data(5))))
        );
        assert_eq!(Chunked::Size.advance(b"1a", 99), Ok(None));
        assert_eq!(
            Chunked::Size.advance(b"zz\r\n", 99),
            Err(ChunkError::Malformed)
        );
        assert_eq!(
            Chunked::Size.advance(b"5\n", 99),
            Err(ChunkError::Malformed)
        );
        assert_eq!(
            Chunked::Size.advance(b"5 x\r\n", 99),
            Err(ChunkError::Malformed)
        );
        assert_eq!(
            Chunked::Size.advance(b"10000000000000000\r\n", 99),
            Err(ChunkError::Malformed),
            "17 digits overflow"
        );
        let long = [b"5;".as_slice(), &[b'x'; MAX_CHUNK_LINE]].concat();
        assert_eq!(Chunked::Size.advance(&long, 99), Err(ChunkError::Malformed));
    }

    #[test]
    fn data_end_needs_crlf() {
        assert_eq!(
            Chunked::DataEnd.advance(b"\r\n5", 99),
            Ok(Some((2, Chunked::Size)))
        );
        assert_eq!(Chunked::DataEnd.advance(b"\r", 99), Ok(None));
        assert_eq!(
            Chunked::DataEnd.advance(b"XX", 99),
            Err(ChunkError::Malformed)
        );
    }

    #[test]
    fn trailers_are_header_fields() {
        assert_eq!(
            Chunked::Trailers.advance(b"\r\n", 99),
            Ok(Some((2, Chunked::Done)))
        );
        assert_eq!(
            Chunked::Trailers.advance(b"X-Sum: 1\r\n\r\nGET", 99),
            Ok(Some((12, Chunked::Done)))
        );
        assert_eq!(Chunked::Trailers.advance(b"X-Sum: 1\r\n", 99), Ok(None));
        assert_eq!(
            Chunked::Trailers.advance(b"GET /admin HTTP/1.1\r\n\r\n", 99),
            Err(ChunkError::Malformed)
        );
        assert_eq!(
            Chunked::Trailers.advance(b"X-Sum: 1234567890\r\n", 8),
            Err(ChunkError::TrailersTooLarge)
        );
    }
}
