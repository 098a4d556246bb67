//! What a request head that `httparse` parsed says (RFC 9112): the limits it
//! must keep, its target's form, its `Host`, and the framing of its body, read
//! in one pass over its header fields.

use ::http::{StatusCode, Version};

use super::limits::Settings;
use super::swar;
use super::target::{self, TargetForm};

/// How the request body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    Length(u64),
    Chunked,
}

/// What a head says besides its headers, read while it is still in the buffer.
pub(crate) struct HeadLine {
    pub(crate) head_request: bool,
    pub(crate) version: Version,
    pub(crate) target_form: TargetForm,
    /// Where the target's query starts (its `?`).
    pub(crate) query_at: Option<usize>,
    pub(crate) framing: Framing,
    pub(crate) keep_alive: bool,
    pub(crate) expect_continue: bool,
}

/// Checks a parsed head of `len` bytes against the limits and the rules of
/// RFC 9112 (target form, `Host`, framing) and reads what it says.
pub(crate) fn read_head(
    parsed: &httparse::Request<'_, '_>,
    len: usize,
    settings: &Settings,
) -> Result<HeadLine, StatusCode> {
    let bad = StatusCode::BAD_REQUEST;

    let method = parsed.method.ok_or(bad)?.as_bytes();
    if method.len() > settings.max_request_line {
        return Err(StatusCode::NOT_IMPLEMENTED);
    }
    let path = parsed.path.ok_or(bad)?.as_bytes();
    if method.len() + path.len() > settings.max_request_line {
        return Err(StatusCode::URI_TOO_LONG);
    }
    if len > settings.max_header_bytes {
        return Err(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    }
    let (target_form, query_at) = target::read_target(method, path)?;
    let version = match parsed.version {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    };

    let mut fields = FramingFields::default();
    for field in parsed.headers.iter() {
        if field.name.len() + field.value.len() + 2 > settings.max_header_line {
            return Err(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        }
        fields.note(field.name.as_bytes(), field.value)?;
    }

    // RFC 9112 3.2: no `Host` in HTTP/1.1, more than one, or an invalid one is 400.
    match fields.host {
        HostField::Missing if version == Version::HTTP_11 => return Err(bad),
        HostField::Many | HostField::Invalid => return Err(bad),
        _ => {}
    }
    let framing = fields.framing(version)?;
    if let (Framing::Length(n), Some(max)) = (framing, settings.max_body_bytes)
        && n > max
    {
        return Err(StatusCode::PAYLOAD_TOO_LARGE);
    }
    let keep_alive = !fields.close && (version == Version::HTTP_11 || fields.keep_alive);
    let expect_continue = match fields.expect {
        None => false,
        Some(value) if value.eq_ignore_ascii_case(b"100-continue") => {
            version == Version::HTTP_11 && framing != Framing::Length(0)
        }
        Some(_) => return Err(StatusCode::EXPECTATION_FAILED),
    };
    Ok(HeadLine {
        head_request: method == b"HEAD",
        version,
        target_form,
        query_at,
        framing,
        keep_alive,
        expect_continue,
    })
}

/// What the headers say about framing and the connection.
#[derive(Default)]
struct FramingFields<'a> {
    length: Option<u64>,
    transfer_encoding: bool,
    chunked: bool,
    other_coding: bool,
    close: bool,
    keep_alive: bool,
    expect: Option<&'a [u8]>,
    host: HostField,
}

/// What the request's `Host` fields were.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum HostField {
    #[default]
    Missing,
    Valid,
    Invalid,
    Many,
}

impl<'a> FramingFields<'a> {
    /// Notes one header field (its name a token, as `httparse` checked). The
    /// length of the name picks the one name it can be, so most fields cost
    /// one comparison of lengths.
    fn note(&mut self, name: &[u8], value: &'a [u8]) -> Result<(), StatusCode> {
        let bad = StatusCode::BAD_REQUEST;
        let elements = || value.split(|&b| b == b',').map(<[u8]>::trim_ascii);
        match name.len() {
            4 if swar::token_is(name, b"host") => {
                self.host = match self.host {
                    HostField::Missing if target::valid_host(value) => HostField::Valid,
                    HostField::Missing => HostField::Invalid,
                    _ => HostField::Many,
                };
            }
            6 if swar::token_is(name, b"expect") => self.expect = Some(value),
            10 if swar::token_is(name, b"connection") => {
                for token in elements() {
                    self.close |= token.eq_ignore_ascii_case(b"close");
                    self.keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
                }
            }
            14 if swar::token_is(name, b"content-length") => {
                for part in elements() {
                    let n = decimal(part).ok_or(bad)?;
                    if self.length.is_some_and(|seen| seen != n) {
                        return Err(bad);
                    }
                    self.length = Some(n);
                }
            }
            17 if swar::token_is(name, b"transfer-encoding") => {
                self.transfer_encoding = true;
                // Empty list elements are ignored (RFC 9110 5.6.1).
                for coding in elements().filter(|coding| !coding.is_empty()) {
                    if self.chunked {
                        return Err(bad); // chunked must be the last coding, once
                    }
                    if coding.eq_ignore_ascii_case(b"chunked") {
                        self.chunked = true;
                    } else {
                        self.other_coding = true;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The body's framing (RFC 9112 6.3): `Transfer-Encoding` ending in
    /// `chunked`, or agreeing `Content-Length` values, or no body. Both at
    /// once, a bad length, or a coding we cannot undo is refused.
    fn framing(&self, version: Version) -> Result<Framing, StatusCode> {
        let bad = StatusCode::BAD_REQUEST;
        if !self.transfer_encoding {
            return Ok(Framing::Length(self.length.unwrap_or(0)));
        }
        if self.length.is_some() || version == Version::HTTP_10 {
            return Err(bad); // a smuggling attempt, or framing we cannot trust
        }
        match (self.chunked, self.other_coding) {
            (false, _) => Err(bad),
            (true, true) => Err(StatusCode::NOT_IMPLEMENTED),
            (true, false) => Ok(Framing::Chunked),
        }
    }
}

fn decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(digits.iter().fold(0, |n, &d| n * 10 + u64::from(d - b'0')))
}

/// A request line over the limit: `501` while it is still the method (no
/// method that long is implemented), `414` once the target has begun.
pub(crate) fn line_too_long(line: &[u8]) -> StatusCode {
    let line = line.trim_ascii_start();
    if line.contains(&b' ') {
        StatusCode::URI_TOO_LONG
    } else {
        StatusCode::NOT_IMPLEMENTED
    }
}

/// What a request line that `httparse` refused for its version says.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum VersionLine {
    /// The line has not ended yet.
    Incomplete,
    /// `HTTP/1.x` with `x` from 2 to 9: the position of `x`.
    LaterMinor(usize),
    /// `505` for another well-formed version, `400` for a malformed line.
    Refused(StatusCode),
}

/// Reads the version of the request line at the start of `buf` (after
/// empty lines): exactly three parts split by single spaces, the last
/// `HTTP/d.d` (RFC 9112 3), so `GET /x y HTTP/1.1` is a bad line, not a
/// bad version.
pub(crate) fn read_version(buf: &[u8]) -> VersionLine {
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let Some(end) = buf[start..].iter().position(|&b| b == b'\n') else {
        return VersionLine::Incomplete;
    };
    let line = &buf[start..start + end];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut parts = line.split(|&b| b == b' ');
    let (Some(_), Some(_), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return VersionLine::Refused(StatusCode::BAD_REQUEST);
    };
    match version {
        [b'H', b'T', b'T', b'P', b'/', b'1', b'.', b'2'..=b'9'] => {
            let at = start + (version.as_ptr() as usize - line.as_ptr() as usize) + 7;
            VersionLine::LaterMinor(at)
        }
        [
            b'H',
            b'T',
            b'T',
            b'P',
            b'/',
            b'0' | b'2'..=b'9',
            b'.',
            minor,
        ] if minor.is_ascii_digit() => VersionLine::Refused(StatusCode::HTTP_VERSION_NOT_SUPPORTED),
        _ => VersionLine::Refused(StatusCode::BAD_REQUEST),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_any_case_and_only_whole() {
        let mut fields = FramingFields::default();
        fields.note(b"CONTENT-length", b"12").unwrap();
        fields.note(b"Hosts", b"{").unwrap();
        fields.note(b"hOsT", b"a.b").unwrap();
        fields.note(b"Connection", b"keep-alive, Close").unwrap();
        fields.note(b"expect", b"100-continue").unwrap();
        fields.note(b"X-Transfer-Encoding", b"gzip").unwrap();
        assert_eq!(fields.length, Some(12));
        assert!(fields.host == HostField::Valid);
        assert!(fields.close && fields.keep_alive);
        assert_eq!(fields.expect, Some(&b"100-continue"[..]));
        assert!(!fields.transfer_encoding);
        assert_eq!(fields.framing(Version::HTTP_11), Ok(Framing::Length(12)));
    }

    #[test]
    fn version_lines() {
        assert_eq!(read_version(b"GET / HTTP/1.1"), VersionLine::Incomplete);
        assert_eq!(
            read_version(b"\r\nGET / HTTP/1.7\r\n"),
            VersionLine::LaterMinor(15)
        );
        assert_eq!(
            read_version(b"GET / HTTP/3.0\r\n"),
            VersionLine::Refused(StatusCode::HTTP_VERSION_NOT_SUPPORTED)
        );
        assert_eq!(
            read_version(b"GET /a b HTTP/1.1\r\n"),
            VersionLine::Refused(StatusCode::BAD_REQUEST)
        );
    }
}
