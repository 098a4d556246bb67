//! Request heads: `httparse` on the connection's buffer, the size limits
//! checked as bytes arrive, and the framing read from the headers
//! (RFC 9112 section 6).

use ::http::header::{HeaderName, HeaderValue};
use ::http::{Method, StatusCode, Uri, Version};
use std::mem::MaybeUninit;
use std::ops::Range;

use super::date::HttpDate;
use super::inbuf::InBuf;
use super::limits::Settings;
use super::raw::{RawHandler, RawRequest, RawResponse};
use super::spares::Spares;
use super::target::{self, TargetForm};
use crate::hub::catch_user_panic;

/// How the request body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    Length(u64),
    Chunked,
}

/// What a complete head came to.
// Moved once per request; boxing the head would cost an allocation each time.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Parsed {
    /// A request for the handler.
    Request(Head),
    /// The borrowed handler answered it in place; close after it or not.
    Answered { close: bool },
}

/// What the borrowed handler needs to answer a head in place.
pub(crate) struct RawCall<'a> {
    pub(crate) handler: &'a RawHandler,
    /// The connection's output batch.
    pub(crate) out: &'a mut Vec<u8>,
    pub(crate) date: &'a HttpDate,
    /// False while the server shuts down: every answer closes.
    pub(crate) may_keep_alive: bool,
}

/// A complete, valid request head.
pub(crate) struct Head {
    pub(crate) request: ::http::Request<()>,
    pub(crate) framing: Framing,
    pub(crate) keep_alive: bool,
    pub(crate) expect_continue: bool,
}

/// A connection's request-head parser: what has been seen of a head still
/// arriving, and the memory one request leaves for the next to reuse.
#[derive(Default)]
pub(crate) struct HeadParser {
    scan: HeadScan,
    /// Each header's name and where its value lies in the head.
    fields: Vec<(HeaderName, Range<usize>)>,
}

/// What has been seen of a head that is still arriving, so that each byte is
/// looked at once for the limits and `httparse` runs only when a line ends.
#[derive(Default)]
struct HeadScan {
    scanned: usize,
    line_start: usize,
    request_line_done: bool,
}

/// What a head says besides its headers, read while it is still in the buffer.
struct HeadLine {
    method: Method,
    /// Where the request target lies in the head.
    target: Range<usize>,
    version: Version,
    target_form: TargetForm,
    framing: Framing,
    keep_alive: bool,
    expect_continue: bool,
}

/// Header arrays up to this size live on the stack.
const STACK_HEADERS: usize = 100;

impl HeadParser {
    /// The head at the start of `input` (not empty), taken out of it:
    /// `Ok(None)` while it is incomplete, or the status to refuse it with.
    /// With `raw`, the borrowed handler may answer it in place first. A
    /// request's header map comes from `spares`.
    pub(crate) fn parse(
        &mut self,
        input: &mut InBuf,
        settings: &Settings,
        spares: &Spares,
        raw: Option<RawCall<'_>>,
    ) -> Result<Option<Parsed>, StatusCode> {
        let fresh = self.scan.scanned == 0;
        if !fresh && !self.scan.scan(input.data(), settings)? && self.scan.request_line_done {
            return Ok(None); // no line ended: nothing new for httparse
        }
        match self.parse_with_httparse(input, settings, spares, raw)? {
            Some(head) => {
                self.scan = HeadScan::default();
                Ok(Some(head))
            }
            None => {
                if fresh {
                    self.scan.scan(input.data(), settings)?;
                }
                Ok(None)
            }
        }
    }

    fn parse_with_httparse(
        &mut self,
        input: &mut InBuf,
        settings: &Settings,
        spares: &Spares,
        raw: Option<RawCall<'_>>,
    ) -> Result<Option<Parsed>, StatusCode> {
        // Uninitialised slots: filling 100 empty headers per request would cost
        // more than parsing a short head.
        let mut on_stack = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; STACK_HEADERS];
        let mut on_heap = Vec::new();
        let slots = if settings.max_headers <= STACK_HEADERS {
            &mut on_stack[..settings.max_headers]
        } else {
            on_heap.resize_with(settings.max_headers, MaybeUninit::uninit);
            &mut on_heap[..]
        };
        let mut parsed = httparse::Request::new(&mut []);
        let len = match parsed.parse_with_uninit_headers(input.data(), slots) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(httparse::Error::TooManyHeaders) => {
                return Err(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
            }
            Err(httparse::Error::Version) => {
                return match read_version(input.data()) {
                    VersionLine::Incomplete => Ok(None),
                    VersionLine::LaterMinor(at) => {
                        // `HTTP/1.2` and up are answered as 1.1 (RFC 9110 2.5):
                        // the minor digit becomes 1 and the head is parsed again.
                        input.data_mut()[at] = b'1';
                        self.parse_with_httparse(input, settings, spares, raw)
                    }
                    VersionLine::Refused(status) => Err(status),
                };
            }
            Err(_) => return Err(StatusCode::BAD_REQUEST),
        };
        let buf = input.data();
        let line = read_head(&parsed, buf, len, settings)?;
        if let Some(raw) = raw
            && line.framing == Framing::Length(0)
            && line.target_form == TargetForm::Origin
        {
            let request = RawRequest {
                method: parsed.method.unwrap_or_default(),
                target: parsed.path.unwrap_or_default(),
                version: line.version,
                headers: parsed.headers,
            };
            let keep_alive = line.keep_alive && raw.may_keep_alive;
            let head_request = line.method == Method::HEAD;
            let mut response =
                RawResponse::new(raw.out, head_request, line.version, keep_alive, raw.date);
            match catch_user_panic(|| (raw.handler)(&request, &mut response)) {
                Ok(true) => {
                    response.finish();
                    input.consume(len);
                    return Ok(Some(Parsed::Answered { close: !keep_alive }));
                }
                Ok(false) => response.retract(),
                Err(_) => {
                    response.retract();
                    return Err(StatusCode::INTERNAL_SERVER_ERROR);
                }
            }
        }
        let bad = StatusCode::BAD_REQUEST;
        self.fields.clear();
        for field in parsed.headers.iter() {
            let name = HeaderName::from_bytes(field.name.as_bytes()).map_err(|_| bad)?;
            // An empty value may lie anywhere: give it an empty span.
            let value = if field.value.is_empty() {
                0..0
            } else {
                span(buf, field.value)
            };
            self.fields.push((name, value));
        }
        // The head leaves the buffer as shared bytes: the URI and the header
        // values point into it, uncopied.
        let head = input.take_head(len);
        let uri = Uri::from_maybe_shared(head.slice(line.target)).map_err(|_| bad)?;
        if !target::uri_fits(line.target_form, &uri) {
            return Err(bad);
        }
        let mut headers = spares.headers();
        headers.reserve(self.fields.len());
        for (name, value) in self.fields.drain(..) {
            let value = HeaderValue::from_maybe_shared(head.slice(value)).map_err(|_| bad)?;
            headers.append(name, value);
        }
        if line.target_form == TargetForm::Absolute
            && let Some(authority) = uri.authority()
        {
            // RFC 9112 3.2.2: the target's host, not the `Host` field, names the host.
            let host = HeaderValue::from_str(authority.as_str()).map_err(|_| bad)?;
            headers.insert(::http::header::HOST, host);
        }
        let mut request = ::http::Request::new(());
        *request.method_mut() = line.method;
        *request.uri_mut() = uri;
        *request.version_mut() = line.version;
        *request.headers_mut() = headers;
        Ok(Some(Parsed::Request(Head {
            request,
            framing: line.framing,
            keep_alive: line.keep_alive,
            expect_continue: line.expect_continue,
        })))
    }
}

impl HeadScan {
    /// Checks the bytes not seen yet against the line and size limits; says
    /// whether a line ended among them.
    fn scan(&mut self, buf: &[u8], settings: &Settings) -> Result<bool, StatusCode> {
        let mut line_ended = false;
        for (at, _) in buf[self.scanned..]
            .iter()
            .enumerate()
            .filter(|&(_, &b)| b == b'\n')
        {
            let end = self.scanned + at;
            let line = end - self.line_start;
            if !self.request_line_done {
                // Empty lines before the request line are allowed (RFC 9112 2.2).
                if line > 1 || (line == 1 && buf[self.line_start] != b'\r') {
                    self.request_line_done = true;
                    if line > settings.max_request_line {
                        return Err(line_too_long(&buf[self.line_start..end]));
                    }
                }
            } else if line > settings.max_header_line {
                return Err(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
            }
            self.line_start = end + 1;
            line_ended = true;
        }
        self.scanned = buf.len();
        let open_line = buf.len() - self.line_start;
        if !self.request_line_done && open_line > settings.max_request_line {
            return Err(line_too_long(&buf[self.line_start..]));
        }
        if self.request_line_done && open_line > settings.max_header_line {
            return Err(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        }
        if buf.len() > settings.max_header_bytes {
            return Err(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        }
        Ok(line_ended)
    }
}

/// A request line over the limit: `501` while it is still the method (no
/// method that long is implemented), `414` once the target has begun.
fn line_too_long(line: &[u8]) -> StatusCode {
    let line = line.trim_ascii_start();
    if line.contains(&b' ') {
        StatusCode::URI_TOO_LONG
    } else {
        StatusCode::NOT_IMPLEMENTED
    }
}

/// What a request line that `httparse` refused for its version says.
#[derive(Debug, PartialEq, Eq)]
enum VersionLine {
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
fn read_version(buf: &[u8]) -> VersionLine {
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

/// Checks a parsed head of `len` bytes at the start of `buf` against the
/// limits and reads its framing.
fn read_head(
    parsed: &httparse::Request<'_, '_>,
    buf: &[u8],
    len: usize,
    settings: &Settings,
) -> Result<HeadLine, StatusCode> {
    let bad = StatusCode::BAD_REQUEST;

    let method = parsed.method.ok_or(bad)?;
    if method.len() > settings.max_request_line {
        return Err(StatusCode::NOT_IMPLEMENTED);
    }
    let path = parsed.path.ok_or(bad)?;
    if method.len() + path.len() > settings.max_request_line {
        return Err(StatusCode::URI_TOO_LONG);
    }
    if len > settings.max_header_bytes {
        return Err(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    }
    let method = Method::from_bytes(method.as_bytes()).map_err(|_| bad)?;
    let target_form = target::target_form(&method, path.as_bytes())?;
    let version = match parsed.version {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    };

    let mut framing_fields = FramingFields::default();
    for field in parsed.headers.iter() {
        if field.name.len() + field.value.len() + 2 > settings.max_header_line {
            return Err(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        }
        framing_fields.note(field.name.as_bytes(), field.value)?;
    }

    // RFC 9112 3.2: no `Host` in HTTP/1.1, more than one, or an invalid one is 400.
    match framing_fields.host {
        HostField::Missing if version == Version::HTTP_11 => return Err(bad),
        HostField::Many | HostField::Invalid => return Err(bad),
        _ => {}
    }
    let framing = framing_fields.framing(version)?;
    if let (Framing::Length(n), Some(max)) = (framing, settings.max_body_bytes)
        && n > max
    {
        return Err(StatusCode::PAYLOAD_TOO_LARGE);
    }
    let keep_alive =
        !framing_fields.close && (version == Version::HTTP_11 || framing_fields.keep_alive);
    let expect_continue = match framing_fields.expect {
        None => false,
        Some(value) if value.eq_ignore_ascii_case(b"100-continue") => {
            version == Version::HTTP_11 && framing != Framing::Length(0)
        }
        Some(_) => return Err(StatusCode::EXPECTATION_FAILED),
    };
    Ok(HeadLine {
        method,
        target: span(buf, path.as_bytes()),
        target_form,
        version,
        framing,
        keep_alive,
        expect_continue,
    })
}

/// Where `part` (a slice of `buf`) lies in `buf`.
fn span(buf: &[u8], part: &[u8]) -> Range<usize> {
    let at = part.as_ptr() as usize - buf.as_ptr() as usize;
    at..at + part.len()
}

/// What the headers say about framing and the connection, gathered in the
/// one pass that builds the header map.
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
    fn note(&mut self, name: &[u8], value: &'a [u8]) -> Result<(), StatusCode> {
        let bad = StatusCode::BAD_REQUEST;
        let elements = || value.split(|&b| b == b',').map(<[u8]>::trim_ascii);
        if name.eq_ignore_ascii_case(b"content-length") {
            for part in elements() {
                let n = decimal(part).ok_or(bad)?;
                if self.length.is_some_and(|seen| seen != n) {
                    return Err(bad);
                }
                self.length = Some(n);
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
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
        } else if name.eq_ignore_ascii_case(b"connection") {
            for token in elements() {
                self.close |= token.eq_ignore_ascii_case(b"close");
                self.keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if name.eq_ignore_ascii_case(b"expect") {
            self.expect = Some(value);
        } else if name.eq_ignore_ascii_case(b"host") {
            self.host = match self.host {
                HostField::Missing if target::valid_host(value) => HostField::Valid,
                HostField::Missing => HostField::Invalid,
                _ => HostField::Many,
            };
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

#[cfg(test)]
mod tests {
    use super::*;
    use ::http::header::HeaderMap;

    impl HeadParser {
        /// `parse` with no borrowed handler: a request or nothing.
        fn request(
            &mut self,
            input: &mut InBuf,
            settings: &Settings,
        ) -> Result<Option<Head>, StatusCode> {
            Ok(self
                .parse(input, settings, &Spares::default(), None)?
                .map(|parsed| match parsed {
                    Parsed::Request(head) => head,
                    Parsed::Answered { .. } => unreachable!("no borrowed handler"),
                }))
        }
    }

    fn parse(input: &[u8]) -> Result<Option<Head>, StatusCode> {
        HeadParser::default().request(&mut InBuf::from(input), &Settings::default())
    }

    fn status(input: &[u8]) -> StatusCode {
        parse(input).err().expect("refused")
    }

    #[test]
    fn a_simple_head() {
        let mut input =
            InBuf::from(&b"GET /a?b=c HTTP/1.1\r\nHost: x\r\nX-Y: z\r\nX-Empty:\r\n\r\nnext"[..]);
        let head = HeadParser::default()
            .request(&mut input, &Settings::default())
            .unwrap()
            .unwrap();
        assert_eq!(head.request.uri().path(), "/a");
        assert_eq!(head.request.uri().query(), Some("b=c"));
        assert_eq!(head.request.headers()["x-y"], "z");
        assert_eq!(head.request.headers()["x-empty"], "");
        assert_eq!(head.request.headers().len(), 3);
        assert_eq!(head.framing, Framing::Length(0));
        assert!(head.keep_alive);
        assert_eq!(
            input.data(),
            b"next",
            "the head left the buffer, the rest stayed"
        );
    }

    #[test]
    fn a_recycled_header_map_comes_back_empty() {
        let spares = Spares::default();
        let mut used = HeaderMap::new();
        used.insert("x-old", HeaderValue::from_static("stale"));
        spares.give_headers(used);
        let mut input = InBuf::from(&b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"[..]);
        let Parsed::Request(head) = HeadParser::default()
            .parse(&mut input, &Settings::default(), &spares, None)
            .unwrap()
            .unwrap()
        else {
            unreachable!("no borrowed handler")
        };
        let headers = head.request.headers();
        assert_eq!(headers.len(), 1);
        assert_eq!(headers["host"], "h");
        assert!(headers.get("x-old").is_none());
    }

    #[test]
    fn framing_from_headers() {
        let framing = |h: &str| {
            let text = format!("POST / HTTP/1.1\r\nHost: h\r\n{h}\r\n\r\n");
            parse(text.as_bytes()).map(|head| head.unwrap().framing)
        };
        assert_eq!(framing("Content-Length: 12"), Ok(Framing::Length(12)));
        assert_eq!(
            framing("Content-Length: 5\r\nContent-Length: 5"),
            Ok(Framing::Length(5))
        );
        assert_eq!(framing("Transfer-Encoding: chunked"), Ok(Framing::Chunked));
        for refused in [
            "Content-Length: argh",
            "Content-Length: ",
            "Content-Length: -10",
            "Content-Length: 5\r\nContent-Length: 6",
            "Content-Length: 5, 6",
            "Content-Length: 5\r\nTransfer-Encoding: chunked",
            "Transfer-Encoding: chunked, identity",
            "Transfer-Encoding: identity",
        ] {
            assert_eq!(
                framing(refused).err(),
                Some(StatusCode::BAD_REQUEST),
                "{refused}"
            );
        }
        assert_eq!(
            framing("Transfer-Encoding: gzip, chunked").err(),
            Some(StatusCode::NOT_IMPLEMENTED)
        );
    }

    #[test]
    fn bad_request_lines() {
        assert_eq!(status(b"GET / HTTP %\r\n\r\n"), StatusCode::BAD_REQUEST);
        assert_eq!(status(b"\x00\x01\xff\xfe garbage"), StatusCode::BAD_REQUEST);
        assert_eq!(
            status(b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n"),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status(b"GET / HTTP/2.0\r\n\r\n"),
            StatusCode::HTTP_VERSION_NOT_SUPPORTED
        );
        assert_eq!(
            status(b"GET / HTTP/1.1\r\nHost: h\r\nExpect: magic\r\n\r\n"),
            StatusCode::EXPECTATION_FAILED
        );
    }

    #[test]
    fn request_lines_versions_and_targets() {
        // RFC 9112 3: three parts, single spaces; a later 1.x minor is 1.1.
        assert_eq!(
            status(b"GET /x y HTTP/1.1\r\nHost: h\r\n\r\n"),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status(b"GET  / HTTP/1.1\r\nHost: h\r\n\r\n"),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status(b"GET / HTTP/1.10\r\nHost: h\r\n\r\n"),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status(b"GET / HTTP/0.9\r\n\r\n"),
            StatusCode::HTTP_VERSION_NOT_SUPPORTED
        );
        let head = parse(b"GET / HTTP/1.2\r\nHost: h\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(head.request.version(), Version::HTTP_11);
        assert!(
            parse(b"GET / HTTP/1.2").unwrap().is_none(),
            "waits for the line's end"
        );
        // RFC 9112 3.2: the four target forms, each with its methods.
        assert_eq!(
            status(b"GET ! HTTP/1.1\r\nHost: h\r\n\r\n"),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status(b"GET /p#frag HTTP/1.1\r\nHost: h\r\n\r\n"),
            StatusCode::BAD_REQUEST
        );
        let head = parse(b"GET http://real:81/a HTTP/1.1\r\nHost: other\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(head.request.uri().path(), "/a");
        assert_eq!(
            head.request.headers()["host"],
            "real:81",
            "the target names the host"
        );
        assert_eq!(
            status(b"GET http://real/a HTTP/1.1\r\n\r\n"),
            StatusCode::BAD_REQUEST,
            "absolute-form still needs Host in 1.1"
        );
        // A method past the request-line limit is one nobody implements.
        let method = "M".repeat(65_536);
        assert_eq!(status(method.as_bytes()), StatusCode::NOT_IMPLEMENTED);
        let whole = format!("{method} / HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(status(whole.as_bytes()), StatusCode::NOT_IMPLEMENTED);
    }

    #[test]
    fn host_rules() {
        assert_eq!(status(b"GET / HTTP/1.1\r\n\r\n"), StatusCode::BAD_REQUEST);
        assert_eq!(
            status(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status(b"GET / HTTP/1.0\r\nHost: a b\r\n\r\n"),
            StatusCode::BAD_REQUEST
        );
        assert!(parse(b"GET / HTTP/1.0\r\n\r\n").unwrap().is_some());
        assert!(parse(b"GET / HTTP/1.1\r\nHost:\r\n\r\n").unwrap().is_some());
    }

    #[test]
    fn limits_hold_while_the_head_arrives() {
        let long_url = format!("GET /{} HTTP/1.1\r\n", "a".repeat(20_000));
        assert_eq!(
            status(&long_url.as_bytes()[..9000]),
            StatusCode::URI_TOO_LONG
        );
        assert_eq!(status(long_url.as_bytes()), StatusCode::URI_TOO_LONG);
        let long_header = format!("GET / HTTP/1.1\r\nX: {}", "b".repeat(10_000));
        assert_eq!(
            status(long_header.as_bytes()),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
        );
        let many: String = (0..20)
            .map(|i| format!("X-{i}: {}\r\n", "c".repeat(7000)))
            .collect();
        let many = format!("GET / HTTP/1.1\r\n{many}\r\n");
        assert_eq!(
            status(many.as_bytes()),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
        );
    }

    #[test]
    fn a_head_in_pieces() {
        let settings = Settings::default();
        let mut parser = HeadParser::default();
        let whole = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        for end in 1..whole.len() {
            let mut input = InBuf::from(&whole[..end]);
            assert!(
                parser.request(&mut input, &settings).unwrap().is_none(),
                "{end}"
            );
            assert_eq!(input.data(), &whole[..end], "a partial head stays");
        }
        let mut input = InBuf::from(&whole[..]);
        assert!(parser.request(&mut input, &settings).unwrap().is_some());
        assert!(input.is_empty());
    }
}
