//! Chunked transfer coding of request bodies (RFC 9112 section 7.1): the
//! framing between the data, parsed from the connection's buffer with every
//! part bounded, so that a hostile client gets an error, never a hang.

use super::grammar::{is_field_byte, is_tchar};
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
    /// After the last chunk: trailer fields (discarded) up to an empty line;
    /// what has been seen of them, so each byte is looked at once.
    Trailers(TrailerScan),
    Done,
}

/// How far the trailers have been read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TrailerScan {
    /// Bytes of whole trailer lines already consumed.
    consumed: usize,
    /// Bytes of the current line already searched for its end.
    scanned: usize,
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
            Chunked::Trailers(scan) => trailer_line(input, scan, max_trailer_bytes),
            Chunked::Data(_) | Chunked::Done => Ok(Some((0, self))),
        }
    }
}

/// `chunk-size [ chunk-ext ] CRLF` (RFC 9112 7.1): 1 to 16 hex digits, then
/// extensions, which are checked and skipped. Nothing else: no sign, no
/// `0x`, no whitespace but before a `;`, no bare CR or LF.
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
    if digits == 0 || digits > 16 || !extensions(&line[digits..]) {
        return Err(ChunkError::Malformed);
    }
    let size = line[..digits].iter().fold(0u64, |size, &b| {
        // 16 hex digits fit in a u64.
        size << 4 | u64::from((b as char).to_digit(16).unwrap_or(0))
    });
    let next = if size == 0 {
        Chunked::Trailers(TrailerScan::default())
    } else {
        Chunked::Data(size)
    };
    Ok(Some((lf + 1, next)))
}

/// `*( BWS ";" BWS ext-name [ BWS "=" BWS ( token / quoted-string ) ] )`.
fn extensions(mut rest: &[u8]) -> bool {
    let skip_space = |bytes: &[u8]| bytes.trim_ascii_start().len();
    while !rest.is_empty() {
        rest = &rest[rest.len() - skip_space(rest)..];
        let Some(after) = rest.strip_prefix(b";") else {
            return false;
        };
        rest = &after[after.len() - skip_space(after)..];
        let name = rest.iter().take_while(|&&b| is_tchar(b)).count();
        if name == 0 {
            return false;
        }
        rest = &rest[name..];
        let spaced = &rest[rest.len() - skip_space(rest)..];
        if let Some(after) = spaced.strip_prefix(b"=") {
            rest = &after[after.len() - skip_space(after)..];
            let value = match rest.first() {
                Some(b'"') => quoted_string(rest),
                _ => Some(rest.iter().take_while(|&&b| is_tchar(b)).count()).filter(|&n| n > 0),
            };
            let Some(value) = value else {
                return false;
            };
            rest = &rest[value..];
        }
    }
    true
}

/// The length of the quoted string at the start of `bytes` (RFC 9110 5.6.4).
fn quoted_string(bytes: &[u8]) -> Option<usize> {
    let mut at = 1;
    while at < bytes.len() {
        match bytes[at] {
            b'"' => return Some(at + 1),
            b'\\' if bytes.get(at + 1).is_some_and(|&b| is_field_byte(b)) => at += 2,
            b if is_field_byte(b) && b != b'\\' => at += 1,
            _ => return None,
        }
    }
    None
}

/// One trailer line: a header field (discarded), or the empty line that
/// ends the body. A line is searched for its end once, however many reads
/// it arrives in; the trailers together are bounded by `max`.
fn trailer_line(
    input: &[u8],
    scan: TrailerScan,
    max: usize,
) -> Result<Option<(usize, Chunked)>, ChunkError> {
    let room = max.saturating_sub(scan.consumed);
    let window = &input[..input.len().min(room + 1)];
    let Some(lf) = window[scan.scanned.min(window.len())..]
        .iter()
        .position(|&b| b == b'\n')
        .map(|at| at + scan.scanned)
    else {
        if input.len() > room {
            return Err(ChunkError::TrailersTooLarge);
        }
        // Nothing to consume yet; what was searched is remembered.
        let scanned = window.len();
        return Ok((scanned > scan.scanned)
            .then_some((0, Chunked::Trailers(TrailerScan { scanned, ..scan }))));
    };
    let line = match &input[..lf] {
        [line @ .., b'\r'] => line,
        _ => return Err(ChunkError::Malformed),
    };
    if line.is_empty() {
        return Ok(Some((lf + 1, Chunked::Done)));
    }
    if !field_line(line) {
        return Err(ChunkError::Malformed);
    }
    let consumed = scan.consumed + lf + 1;
    Ok(Some((
        lf + 1,
        Chunked::Trailers(TrailerScan {
            consumed,
            scanned: 0,
        }),
    )))
}

/// `field-name ":" OWS field-value OWS` (RFC 9112 5): no whitespace before
/// the colon or at the line's start (obsolete line folding is refused).
fn field_line(line: &[u8]) -> bool {
    let name = line.iter().take_while(|&&b| is_tchar(b)).count();
    name > 0 && line.get(name) == Some(&b':') && line[name + 1..].iter().all(|&b| is_field_byte(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRAILERS: Chunked = Chunked::Trailers(TrailerScan {
        consumed: 0,
        scanned: 0,
    });

    #[test]
    fn size_lines() {
        assert_eq!(
            Chunked::Size.advance(b"1a\r\n", 99),
            Ok(Some((4, Chunked::Data(26))))
        );
        assert_eq!(Chunked::Size.advance(b"0\r\n", 99), Ok(Some((3, TRAILERS))));
        assert_eq!(
            Chunked::Size.advance(b"5 ; name=value\r\nhello", 99),
            Ok(Some((16, Chunked::Data(5))))
        );
        assert_eq!(
            Chunked::Size.advance(b"5;a;b=\"q \\\" x\";c = d\r\n", 99),
            Ok(Some((22, Chunked::Data(5))))
        );
        assert_eq!(Chunked::Size.advance(b"1a", 99), Ok(None));
        let long = [b"5;".as_slice(), &[b'x'; MAX_CHUNK_LINE]].concat();
        // RFC 9112 7.1 and the HTTP Garden's chunk-size anomalies.
        for bad in [
            &b"zz\r\n"[..],
            b"5\n",
            b"5 x\r\n",
            b"5 \r\n",
            b"5\t\r\n",
            b"0x5\r\n",
            b"+5\r\n",
            b"-5\r\n",
            b"0_5\r\n",
            b"\r\n",
            b" 5\r\n",
            b"5\r\r\n",
            b"5;\r\n",
            b"5;a=\r\n",
            b"5;a=\"open\r\n",
            b"5;a\rb\r\n",
            b"5;a\x00\r\n",
            b"10000000000000005\r\n",
            &long,
        ] {
            assert_eq!(
                Chunked::Size.advance(bad, 99),
                Err(ChunkError::Malformed),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
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

    /// Feeds `input` through the trailer states as the wire does; the bytes
    /// consumed when the body ends.
    fn trailers(input: &[u8], max: usize) -> Result<Option<usize>, ChunkError> {
        let (mut state, mut used) = (TRAILERS, 0);
        loop {
            match state.advance(&input[used..], max)? {
                Some((n, Chunked::Done)) => return Ok(Some(used + n)),
                Some((n, next)) => (state, used) = (next, used + n),
                None => return Ok(None),
            }
        }
    }

    #[test]
    fn trailers_are_header_fields() {
        assert_eq!(trailers(b"\r\n", 99), Ok(Some(2)));
        assert_eq!(trailers(b"X-Sum: 1\r\n\r\nGET", 99), Ok(Some(12)));
        assert_eq!(trailers(b"X-Sum: 1\r\n", 99), Ok(None));
        for bad in [
            &b"GET /admin HTTP/1.1\r\n\r\n"[..],
            b"X-Sum : 1\r\n\r\n",
            b" folded\r\n\r\n",
            b"X: a\nY: b\r\n\r\n",
            b"X: a\x00\r\n\r\n",
        ] {
            assert_eq!(trailers(bad, 99), Err(ChunkError::Malformed), "{bad:?}");
        }
        assert_eq!(
            trailers(b"X-Sum: 1234567890\r\n", 8),
            Err(ChunkError::TrailersTooLarge)
        );
        assert_eq!(
            trailers(b"A: 1\r\nB: 2\r\nC: 3\r\n", 12),
            Err(ChunkError::TrailersTooLarge)
        );
    }

    #[test]
    fn a_trailer_line_arriving_a_byte_at_a_time_is_searched_once() {
        let line = [b"X: ".as_slice(), &[b'v'; 1000], b"\r\n\r\n"].concat();
        let mut state = TRAILERS;
        let mut used = 0;
        let mut searched = 0;
        for end in 1..=line.len() {
            while let Some((n, next)) = state.advance(&line[used..end], 1 << 16).unwrap() {
                if let (Chunked::Trailers(before), Chunked::Trailers(after)) = (state, next) {
                    searched += after.scanned.saturating_sub(before.scanned);
                }
                used += n;
                state = next;
                if state == Chunked::Done {
                    break;
                }
            }
        }
        assert_eq!(state, Chunked::Done);
        assert!(searched <= line.len(), "searched {searched} bytes");
    }
}
