//! Response heads into the connection's output batch, and the framing of the
//! response body: the server, not the handler, decides `Content-Length`,
//! `Transfer-Encoding`, `Connection` and `Date`.

use ::http::header::{self, HeaderMap};
use ::http::{StatusCode, Version};
use bytes::Bytes;

use super::batch;
use super::body::{Body, Kind};
use super::date::HttpDate;
use super::swar;

/// What the request asks of its response's framing.
#[derive(Clone, Copy)]
pub(crate) struct Exchange {
    pub(crate) head_request: bool,
    pub(crate) version: Version,
    pub(crate) keep_alive: bool,
}

/// How the response body goes out after its head.
pub(crate) enum Payload {
    /// Nothing (a `HEAD` request, `204`, `304`, an empty body).
    Nothing,
    Bytes(Bytes),
    /// Streamed, exactly this many bytes.
    Fixed(Body, u64),
    Chunked(Body),
    /// Streamed, the end of the connection ending it (an HTTP/1.0 client).
    UntilClose(Body),
}

/// A response the server will not send: a `1xx` status as the final answer
/// (the client would take the next response for this one's, RFC 9110 15.2),
/// or a header value with CR, LF or NUL in it, which would split the
/// response (only `unsafe` constructors of `HeaderValue` let one through).
#[derive(Debug)]
pub(crate) struct Unsendable;

/// Room made in the batch before a head is written: most heads fit.
const HEAD_ROOM: usize = 256;

/// A response head in the batch: what to send after it.
pub(crate) struct Encoded {
    pub(crate) payload: Payload,
    /// The connection must close after this response.
    pub(crate) close: bool,
}

/// Appends the head of `response` to `out` and takes its body out (read in
/// place, the response is not moved); gives the payload to send after the
/// head, and whether the connection must close after this response. On
/// error nothing is appended. `echo_len` is what is left of the request's
/// body when the response's body is that body (which cannot say so itself
/// while the connection is busy encoding).
pub(crate) fn encode_head(
    out: &mut Vec<u8>,
    response: &mut ::http::Response<Body>,
    exchange: Exchange,
    echo_len: Option<u64>,
    date: &HttpDate,
) -> Result<Encoded, Unsendable> {
    let status = response.status();
    if status.is_informational() {
        return Err(Unsendable);
    }
    let mark = out.len();
    out.reserve(HEAD_ROOM);
    if status == StatusCode::OK {
        out.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    } else {
        out.extend_from_slice(b"HTTP/1.1 ");
        out.extend_from_slice(status.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    // One pass: the handler's headers out, and what they say about framing.
    let mut close = !exchange.keep_alive;
    let mut set_length = None;
    let mut has_date = false;
    for (name, value) in response.headers() {
        if splits_response(value.as_bytes()) {
            out.truncate(mark);
            return Err(Unsendable);
        }
        match *name {
            header::CONTENT_LENGTH => {
                set_length = value
                    .to_str()
                    .ok()
                    .and_then(|v| v.trim().parse::<u64>().ok());
                continue;
            }
            header::TRANSFER_ENCODING => continue,
            header::CONNECTION => {
                close |= value
                    .as_bytes()
                    .split(|&b| b == b',')
                    .any(|token| token.trim_ascii().eq_ignore_ascii_case(b"close"));
                continue;
            }
            header::DATE => has_date = true,
            _ => {}
        }
        batch::put_field(out, name.as_str().as_bytes(), value.as_bytes());
    }

    let bodiless_status = status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED;
    let (length, payload) = match std::mem::take(response.body_mut()).into_kind() {
        Kind::Full(bytes) => {
            let length = bytes.len() as u64;
            (
                Some(length),
                if length == 0 {
                    Payload::Nothing
                } else {
                    Payload::Bytes(bytes)
                },
            )
        }
        streamed => {
            let body = Body::from_kind(streamed);
            match body.exact_len().or(echo_len).or(set_length) {
                Some(length) => (Some(length), Payload::Fixed(body, length)),
                None if exchange.version == Version::HTTP_11 => (None, Payload::Chunked(body)),
                None => {
                    close = true;
                    (None, Payload::UntilClose(body))
                }
            }
        }
    };
    let payload = if exchange.head_request || bodiless_status {
        Payload::Nothing
    } else {
        payload
    };
    if !bodiless_status {
        match (&payload, length) {
            (Payload::Chunked(_), _) => out.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
            (_, Some(length)) => batch::put_length(out, length),
            (_, None) => {}
        }
    }
    if close {
        out.extend_from_slice(b"Connection: close\r\n");
    } else if exchange.version == Version::HTTP_10 {
        out.extend_from_slice(b"Connection: keep-alive\r\n");
    }
    if has_date {
        out.extend_from_slice(b"\r\n");
    } else {
        batch::put_date_and_end(out, date);
    }
    Ok(Encoded { payload, close })
}

/// Whether `value` holds CR, LF or NUL: eight bytes at a time, and byte by
/// byte only in a word with a byte below CR (a tab, say).
fn splits_response(value: &[u8]) -> bool {
    let mut at = 0;
    while at < value.len() {
        if swar::below(swar::word_at(value, at, b' '), b'\r' + 1) != 0
            && value[at..value.len().min(at + 8)]
                .iter()
                .any(|&b| b == b'\r' || b == b'\n' || b == 0)
        {
            return true;
        }
        at += 8;
    }
    false
}

/// The head of a `101 Switching Protocols` response: the handler's headers
/// as they are (the new protocol's), nothing about a body.
pub(crate) fn encode_switch(out: &mut Vec<u8>, headers: &HeaderMap) -> Result<(), Unsendable> {
    let mark = out.len();
    out.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\n");
    for (name, value) in headers {
        if splits_response(value.as_bytes()) {
            out.truncate(mark);
            return Err(Unsendable);
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    Ok(())
}

/// The head of a response the server gives by itself (an error), closing the connection.
pub(crate) fn encode_error(out: &mut Vec<u8>, status: StatusCode, date: &HttpDate) {
    let reason = status.canonical_reason().unwrap_or("Error");
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(reason.as_bytes());
    out.extend_from_slice(b"\r\nContent-Type: text/plain\r\nContent-Length: ");
    out.extend_from_slice(itoa::Buffer::new().format(reason.len() + 1).as_bytes());
    out.extend_from_slice(b"\r\nConnection: close\r\nDate: ");
    out.extend_from_slice(date);
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(reason.as_bytes());
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATE: &HttpDate = b"Sun, 06 Nov 1994 08:49:37 GMT";
    const EXCHANGE: Exchange = Exchange {
        head_request: false,
        version: Version::HTTP_11,
        keep_alive: true,
    };

    fn head(mut response: ::http::Response<Body>, exchange: Exchange) -> (String, bool) {
        let mut out = Vec::new();
        let encoded = encode_head(&mut out, &mut response, exchange, None, DATE).unwrap();
        (String::from_utf8(out).unwrap(), encoded.close)
    }

    #[test]
    fn bytes_get_a_length_and_a_date() {
        let response = ::http::Response::builder()
            .header("content-type", "text/plain")
            .header("content-length", "999")
            .body(Body::from("hi"))
            .unwrap();
        let (text, close) = head(response, EXCHANGE);
        assert_eq!(
            text,
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nContent-Length: 2\r\n\
             Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n"
        );
        assert!(!close);
    }

    #[test]
    fn streams_are_chunked_for_1_1_and_end_the_connection_for_1_0() {
        let stream = || ::http::Response::new(Body::from_reader(std::io::empty()));
        let (text, close) = head(stream(), EXCHANGE);
        assert!(
            text.contains("Transfer-Encoding: chunked\r\n") && !close,
            "{text}"
        );
        let old = Exchange {
            version: Version::HTTP_10,
            ..EXCHANGE
        };
        let (text, close) = head(stream(), old);
        assert!(!text.contains("Transfer-Encoding") && close, "{text}");
        assert!(text.contains("Connection: close\r\n"), "{text}");
    }

    #[test]
    fn a_1xx_final_status_is_refused() {
        for code in [100, 102, 103, 199] {
            let mut response = ::http::Response::new(Body::from("x"));
            *response.status_mut() = StatusCode::from_u16(code).unwrap();
            let mut out = Vec::new();
            assert!(encode_head(&mut out, &mut response, EXCHANGE, None, DATE).is_err());
            assert!(out.is_empty());
        }
    }

    #[test]
    fn split_bytes_found_anywhere() {
        let long = "x".repeat(20);
        for bad in ["\r", "\n", "\0"] {
            for at in 0..=long.len() {
                let value = format!("{}{bad}{}", &long[..at], &long[at..]);
                assert!(splits_response(value.as_bytes()), "{value:?}");
            }
        }
        assert!(!splits_response(b"text/plain;\tcharset=utf-8 \x7f\xff"));
        assert!(!splits_response(b""));
    }

    // Debug builds of `http` panic in the unchecked constructor already.
    #[cfg(not(debug_assertions))]
    #[test]
    fn a_split_header_is_refused() {
        // SAFETY: not safe for a real response: this is the input the check exists for.
        let value = unsafe {
            header::HeaderValue::from_maybe_shared_unchecked(Bytes::from_static(b"a\r\nb: c"))
        };
        let mut response = ::http::Response::new(Body::empty());
        response.headers_mut().insert("x", value);
        let mut out = Vec::new();
        assert!(encode_head(&mut out, &mut response, EXCHANGE, None, DATE).is_err());
        assert!(out.is_empty());
    }
}
