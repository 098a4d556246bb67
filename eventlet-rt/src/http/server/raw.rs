//! The borrowed handler form for hot routes (may_minihttp's `HttpService`):
//! the request head read in place in the connection's buffer, the response
//! written straight into its output batch. No `http::Request`, no
//! `HeaderMap`, no allocation per request.

use std::fmt;

use ::http::{StatusCode, Version};

use super::batch;
use super::date::HttpDate;
use super::grammar;

/// A request head as the borrowed handler sees it: views into the
/// connection's read buffer, valid for the call. Only requests without a
/// body and with an origin-form target (`/path?query`) reach it, already
/// checked as every request is (`Host`, framing, limits).
///
/// See [`Server::borrowed`](super::Server::borrowed) for an example.
pub struct RawRequest<'a> {
    pub(crate) method: &'a str,
    pub(crate) target: &'a str,
    /// Where the target's `?` is.
    pub(crate) query_at: Option<usize>,
    pub(crate) version: Version,
    pub(crate) headers: &'a [httparse::Header<'a>],
}

impl<'a> RawRequest<'a> {
    /// The method, as sent (`"GET"`, `"HEAD"`...).
    ///
    /// See [`Server::borrowed`](super::Server::borrowed) for an example.
    pub fn method(&self) -> &'a str {
        self.method
    }

    /// The request target: the path and the query, as sent.
    ///
    /// See [`Server::borrowed`](super::Server::borrowed) for an example.
    pub fn target(&self) -> &'a str {
        self.target
    }

    /// The path: the target up to its `?`.
    ///
    /// See [`Server::borrowed`](super::Server::borrowed) for an example.
    pub fn path(&self) -> &'a str {
        match self.query_at {
            Some(at) => &self.target[..at],
            None => self.target,
        }
    }

    /// The query: the target after its `?`, if any.
    ///
    /// See [`Server::borrowed`](super::Server::borrowed) for an example.
    pub fn query(&self) -> Option<&'a str> {
        self.query_at.map(|at| &self.target[at + 1..])
    }

    /// `HTTP/1.0` or `HTTP/1.1`.
    ///
    /// See [`Server::borrowed`](super::Server::borrowed) for an example.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The value of the first header field named `name` (any case).
    ///
    /// See [`Server::borrowed`](super::Server::borrowed) for an example.
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        self.headers
            .iter()
            .find(|field| field.name.eq_ignore_ascii_case(name))
            .map(|field| field.value)
    }

    /// Every header field, names as sent, in order.
    ///
    /// See [`Server::borrowed`](super::Server::borrowed) for an example.
    pub fn headers(&self) -> impl Iterator<Item = (&'a str, &'a [u8])> + '_ {
        self.headers.iter().map(|field| (field.name, field.value))
    }
}

impl fmt::Debug for RawRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawRequest")
            .field("method", &self.method)
            .field("target", &self.target)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// A response written straight into the connection's output: set the status
/// (default `200 OK`), add headers, then give the body. The server writes
/// `Content-Length`, `Date` and `Connection` itself; a header that names one
/// of those or `Transfer-Encoding`, or a name or value that could split the
/// response (CR, LF, NUL), panics, and the client gets `500`.
///
/// See [`Server::borrowed`](super::Server::borrowed) for an example.
pub struct RawResponse<'a> {
    out: &'a mut Vec<u8>,
    /// Where this response's status line starts in `out`.
    mark: usize,
    status: StatusCode,
    head_request: bool,
    version: Version,
    keep_alive: bool,
    date: &'a HttpDate,
    finished: bool,
}

const OK_LINE: &[u8] = b"HTTP/1.1 200 OK\r\n";

impl<'a> RawResponse<'a> {
    pub(crate) fn new(
        out: &'a mut Vec<u8>,
        head_request: bool,
        version: Version,
        keep_alive: bool,
        date: &'a HttpDate,
    ) -> RawResponse<'a> {
        let mark = out.len();
        out.extend_from_slice(OK_LINE);
        RawResponse {
            out,
            mark,
            status: StatusCode::OK,
            head_request,
            version,
            keep_alive,
            date,
            finished: false,
        }
    }

    /// Sets the status (before the body). `1xx` statuses cannot be final
    /// answers, so they panic.
    ///
    /// See [`Server::borrowed`](super::Server::borrowed) for an example.
    #[track_caller]
    pub fn status(&mut self, status: StatusCode) -> &mut Self {
        assert!(
            !status.is_informational(),
            "eventlet-rt: a response cannot have the 1xx status {status}"
        );
        self.assert_open();
        let mut line = Vec::with_capacity(40);
        line.extend_from_slice(b"HTTP/1.1 ");
        line.extend_from_slice(status.as_str().as_bytes());
        line.push(b' ');
        line.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
        line.extend_from_slice(b"\r\n");
        let end = self.mark + self.status_line_len();
        self.out.splice(self.mark..end, line);
        self.status = status;
        self
    }

    /// Adds the header field `name: value` (before the body).
    ///
    /// See [`Server::borrowed`](super::Server::borrowed) for an example.
    #[track_caller]
    pub fn header(&mut self, name: &str, value: &str) -> &mut Self {
        self.assert_open();
        assert!(
            !name.is_empty() && name.bytes().all(grammar::is_tchar),
            "eventlet-rt: {name:?} is not a header name"
        );
        assert!(
            !value.bytes().any(|b| b < b' ' && b != b'\t'),
            "eventlet-rt: the value of {name} holds CR, LF or NUL, which would split the response"
        );
        assert!(
            !is_servers_own(name),
            "eventlet-rt: the server writes {name} itself"
        );
        batch::put_field(self.out, name.as_bytes(), value.as_bytes());
        self
    }

    /// Adds a whole header line written into the program, such as
    /// `"Content-Type: text/plain"` (may_minihttp's form): copied as it is,
    /// its checks (those of [`header`](RawResponse::header)) made in debug
    /// builds only, since no request can change it.
    ///
    /// See [`Server::borrowed`](super::Server::borrowed) for an example.
    #[track_caller]
    #[inline]
    pub fn header_line(&mut self, line: &'static str) -> &mut Self {
        self.assert_open();
        debug_assert!(
            line.split_once(": ").is_some_and(|(name, value)| {
                !name.is_empty()
                    && name.bytes().all(grammar::is_tchar)
                    && !value.bytes().any(|b| b < b' ' && b != b'\t')
                    && !is_servers_own(name)
            }),
            "eventlet-rt: {line:?} is not a header line the server can send"
        );
        batch::put_line(self.out, line.as_bytes());
        self
    }

    /// Ends the head and sends `body` (not for `HEAD` requests, nor with
    /// `204` or `304`, which get the head alone). Nothing can be added after.
    ///
    /// See [`Server::borrowed`](super::Server::borrowed) for an example.
    #[track_caller]
    pub fn body(&mut self, body: &[u8]) {
        self.assert_open();
        self.finished = true;
        let bodiless =
            self.status == StatusCode::NO_CONTENT || self.status == StatusCode::NOT_MODIFIED;
        if self.status != StatusCode::NO_CONTENT {
            batch::put_length(self.out, body.len() as u64);
        }
        if !self.keep_alive {
            self.out.extend_from_slice(b"Connection: close\r\n");
        } else if self.version == Version::HTTP_10 {
            self.out.extend_from_slice(b"Connection: keep-alive\r\n");
        }
        batch::put_date_and_end(self.out, self.date);
        if !self.head_request && !bodiless {
            self.out.extend_from_slice(body);
        }
    }

    /// Ends a response whose handler gave no body: an empty one.
    pub(crate) fn finish(mut self) {
        if !self.finished {
            self.body(b"");
        }
    }

    /// Takes back what this response wrote (its handler declined, or panicked).
    pub(crate) fn retract(self) {
        self.out.truncate(self.mark);
    }

    fn status_line_len(&self) -> usize {
        self.out[self.mark..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(OK_LINE.len(), |lf| lf + 1)
    }

    #[track_caller]
    fn assert_open(&self) {
        assert!(
            !self.finished,
            "eventlet-rt: the response's body is already written; set the status and headers first"
        );
    }
}

impl fmt::Debug for RawResponse<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawResponse")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// Whether `name` is one of the fields the server writes itself; the
/// length decides first, so most names cost one comparison.
fn is_servers_own(name: &str) -> bool {
    let own = match name.len() {
        4 => "date",
        10 => "connection",
        14 => "content-length",
        17 => "transfer-encoding",
        _ => return false,
    };
    name.eq_ignore_ascii_case(own)
}

/// A borrowed handler, shared by the hubs that serve it.
pub(crate) type RawHandler = dyn Fn(&RawRequest<'_>, &mut RawResponse<'_>) -> bool + Send + Sync;

#[cfg(test)]
mod tests {
    use super::*;

    const DATE: &HttpDate = b"Sun, 06 Nov 1994 08:49:37 GMT";

    fn written(head: bool, keep_alive: bool, f: impl FnOnce(&mut RawResponse<'_>)) -> String {
        let mut out = b"earlier".to_vec();
        let mut response = RawResponse::new(&mut out, head, Version::HTTP_11, keep_alive, DATE);
        f(&mut response);
        response.finish();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_response_in_place() {
        let text = written(false, true, |r| {
            r.header("Content-Type", "text/plain").body(b"hi");
        });
        assert_eq!(
            text,
            "earlierHTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\
             Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\nhi"
        );
        let text = written(true, false, |r| {
            r.header("x", "1")
                .status(StatusCode::NOT_FOUND)
                .body(b"gone");
        });
        assert_eq!(
            text,
            "earlierHTTP/1.1 404 Not Found\r\nx: 1\r\nContent-Length: 4\r\n\
             Connection: close\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n",
            "HEAD: the length, no body"
        );
        assert!(written(false, true, |_| {}).contains("Content-Length: 0\r\n"));
    }

    #[test]
    fn header_lines_are_copied() {
        let text = written(false, true, |r| {
            r.header_line("Content-Type: text/plain").body(b"");
        });
        assert!(
            text.contains("OK\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n"),
            "{text}"
        );
    }

    #[test]
    fn a_retracted_response_leaves_nothing() {
        let mut out = b"earlier".to_vec();
        let mut response = RawResponse::new(&mut out, false, Version::HTTP_11, true, DATE);
        response.header("x", "y");
        response.retract();
        assert_eq!(out, b"earlier");
    }

    #[test]
    #[should_panic(expected = "would split the response")]
    fn a_split_value_panics() {
        written(false, true, |r| {
            r.header("x", "a\r\nSet-Cookie: b");
        });
    }

    #[test]
    #[should_panic(expected = "writes Content-Length itself")]
    fn the_servers_own_headers_panic() {
        written(false, true, |r| {
            r.header("Content-Length", "5");
        });
    }
}
