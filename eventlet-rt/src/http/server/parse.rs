//! Request heads: `httparse` on the connection's buffer, the size limits
//! checked as bytes arrive, the head read ([`head`](super::head)), then either
//! answered in place by the borrowed handler or built into the parts of the
//! request for the handler, kept in the parser until the handler is called.

use ::http::header::{HeaderMap, HeaderName, HeaderValue};
use ::http::{Method, StatusCode, Uri, Version};
use std::ops::Range;

use super::Request;
use super::body::Body;
use super::date::HttpDate;
use super::head::{self, Framing, HeadLine, VersionLine};
use super::inbuf::InBuf;
use super::limits::Settings;
use super::raw::{RawHandler, RawRequest, RawResponse};
use super::spares::Spares;
use super::target::{self, TargetForm};
use crate::hub::catch_user_panic;

/// What a complete head came to.
pub(crate) enum Parsed {
    /// A request for the handler: [`HeadParser::take_request`].
    Request(Head),
    /// The borrowed handler answered it in place; close after it or not.
    Answered { close: bool },
}

/// What the connection needs of a request besides the request itself.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Head {
    pub(crate) framing: Framing,
    pub(crate) keep_alive: bool,
    pub(crate) expect_continue: bool,
    pub(crate) head_request: bool,
    pub(crate) version: Version,
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

/// A connection's request-head parser: what has been seen of a head still
/// arriving, the memory one request leaves for the next to reuse, and the
/// parts of the last head's request until the handler takes it: they move
/// into the request one by one where the handler is called (a whole request
/// is a few hundred bytes, each move of it a `memcpy` call).
#[derive(Default)]
pub(crate) struct HeadParser {
    scan: HeadScan,
    /// Each header's name and where its value lies in the head.
    fields: Vec<(HeaderName, Range<usize>)>,
    method: Method,
    uri: Uri,
    version: Version,
    headers: HeaderMap,
    /// The parts above are a parsed request's, not taken yet.
    built: bool,
    /// The green thread was told how deep parsing goes
    /// ([`mark_stack_reach`](crate::hub::mark_stack_reach)).
    reach_marked: bool,
}

/// What has been seen of a head that is still arriving, so that each byte is
/// looked at once for the limits and `httparse` runs only when a line ends.
#[derive(Default)]
struct HeadScan {
    scanned: usize,
    line_start: usize,
    request_line_done: bool,
}

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
            Some(parsed) => {
                self.scan = HeadScan::default();
                Ok(Some(parsed))
            }
            None => {
                if fresh {
                    self.scan.scan(input.data(), settings)?;
                }
                Ok(None)
            }
        }
    }

    /// The request of the head [`HeadParser::parse`] last gave as
    /// [`Parsed::Request`], with `body`.
    ///
    /// # Panics
    /// When there is none.
    pub(crate) fn take_request(&mut self, body: Body) -> Request {
        assert!(self.built, "eventlet-rt: no parsed request to take");
        self.built = false;
        let mut request = Request::new(body);
        *request.method_mut() = std::mem::take(&mut self.method);
        *request.uri_mut() = std::mem::take(&mut self.uri);
        *request.version_mut() = self.version;
        *request.headers_mut() = std::mem::take(&mut self.headers);
        request
    }

    fn parse_with_httparse(
        &mut self,
        input: &mut InBuf,
        settings: &Settings,
        spares: &Spares,
        raw: Option<RawCall<'_>>,
    ) -> Result<Option<Parsed>, StatusCode> {
        // The hub's slots, uninitialised: filling empty headers per request
        // would cost more than parsing a short head.
        let mut slots = spares.lend_header_slots();
        if !self.reach_marked {
            // Every request of the connection is parsed from here down, below
            // where it waits for bytes: its resumes should find these frames
            // in the cache too.
            self.reach_marked = true;
            crate::hub::mark_stack_reach();
        }
        let mut parsed = httparse::Request::new(&mut []);
        let outcome =
            parsed.parse_with_uninit_headers(input.data(), slots.for_head(settings.header_slots()));
        let len = match outcome {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(httparse::Error::TooManyHeaders) => {
                return Err(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
            }
            Err(httparse::Error::Version) => {
                return match head::read_version(input.data()) {
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
        let line = head::read_head(&parsed, len, settings)?;
        if let Some(raw) = raw
            && line.framing == Framing::Length(0)
            && line.target_form == TargetForm::Origin
        {
            let request = RawRequest {
                method: parsed.method.unwrap_or_default(),
                target: parsed.path.unwrap_or_default(),
                query_at: line.query_at,
                version: line.version,
                headers: parsed.headers,
            };
            let keep_alive = line.keep_alive && raw.may_keep_alive;
            let mut response = RawResponse::new(
                raw.out,
                line.head_request,
                line.version,
                keep_alive,
                raw.date,
            );
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
        // What the request needs of the head, read while `httparse` holds it.
        let bad = StatusCode::BAD_REQUEST;
        let buf = input.data();
        let method = parsed.method.unwrap_or_default().as_bytes();
        let method = Method::from_bytes(method).map_err(|_| bad)?;
        let target = span(buf, parsed.path.unwrap_or_default().as_bytes());
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
        self.build_request(input, method, target, len, &line, spares)?;
        Ok(Some(Parsed::Request(Head {
            framing: line.framing,
            keep_alive: line.keep_alive,
            expect_continue: line.expect_continue,
            head_request: line.head_request,
            version: line.version,
        })))
    }

    /// Builds the parts of the request of a checked head of `len` bytes: its
    /// `target` and the values of `self.fields` lie in the head.
    fn build_request(
        &mut self,
        input: &mut InBuf,
        method: Method,
        target: Range<usize>,
        len: usize,
        line: &HeadLine,
        spares: &Spares,
    ) -> Result<(), StatusCode> {
        let bad = StatusCode::BAD_REQUEST;
        // The head leaves the buffer as shared bytes: the URI and the header
        // values point into it, uncopied.
        let head = input.take_head(len);
        let uri = Uri::from_maybe_shared(head.slice(target)).map_err(|_| bad)?;
        if !target::uri_fits(line.target_form, &uri) {
            return Err(bad);
        }
        let host = match (line.target_form, uri.authority()) {
            // RFC 9112 3.2.2: the target's host, not the `Host` field, names the host.
            (TargetForm::Absolute, Some(authority)) => {
                Some(HeaderValue::from_str(authority.as_str()).map_err(|_| bad)?)
            }
            _ => None,
        };
        self.method = method;
        self.uri = uri;
        self.version = line.version;
        let headers = &mut self.headers;
        *headers = spares.headers();
        headers.reserve(self.fields.len());
        for (name, value) in self.fields.drain(..) {
            // SAFETY: `httparse` took these bytes for a field value only if
            // each is a tab, 0x20-0x7e or 0x80-0xff (RFC 9110 5.5's
            // field-vchar, SP and HTAB), the bytes `HeaderValue` allows, so
            // checking them again would only cost (debug builds of `http` do).
            let value = unsafe { HeaderValue::from_maybe_shared_unchecked(head.slice(value)) };
            headers.append(name, value);
        }
        if let Some(host) = host {
            headers.insert(::http::header::HOST, host);
        }
        self.built = true;
        Ok(())
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
                        return Err(head::line_too_long(&buf[self.line_start..end]));
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
            return Err(head::line_too_long(&buf[self.line_start..]));
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

/// Where `part` (a slice of `buf`) lies in `buf`.
fn span(buf: &[u8], part: &[u8]) -> Range<usize> {
    let at = part.as_ptr() as usize - buf.as_ptr() as usize;
    at..at + part.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A parsed request and what the connection learns with it.
    struct Parsed {
        request: Request,
        framing: Framing,
        keep_alive: bool,
    }

    impl HeadParser {
        /// `parse` with no borrowed handler: a request or nothing.
        fn request(
            &mut self,
            input: &mut InBuf,
            settings: &Settings,
        ) -> Result<Option<Parsed>, StatusCode> {
            self.request_with(input, settings, &Spares::default())
        }

        fn request_with(
            &mut self,
            input: &mut InBuf,
            settings: &Settings,
            spares: &Spares,
        ) -> Result<Option<Parsed>, StatusCode> {
            Ok(match self.parse(input, settings, spares, None)? {
                Some(super::Parsed::Request(head)) => Some(Parsed {
                    request: self.take_request(Body::empty()),
                    framing: head.framing,
                    keep_alive: head.keep_alive,
                }),
                Some(super::Parsed::Answered { .. }) => unreachable!("no borrowed handler"),
                None => None,
            })
        }
    }

    fn parse(input: &[u8]) -> Result<Option<Parsed>, StatusCode> {
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
        let head = HeadParser::default()
            .request_with(&mut input, &Settings::default(), &spares)
            .unwrap()
            .unwrap();
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
