//! One connection's loop: read, parse every complete request in the buffer,
//! call the handler for each, encode the responses into one batch, write the
//! batch once when the buffer holds no further complete request.

use std::cell::{Cell, RefCell};
use std::io::{self, Read};
use std::rc::Rc;
use std::time::{Duration, Instant};

use ::http::StatusCode;

use super::body::{Body, BodySource};
use super::date::{self, HttpDate};
use super::encode::{self, Encoded, Exchange, Payload};
use super::limits::{
    COPY_BODY_LIMIT, DRAIN_LIMIT, LINGER_BYTES, LINGER_TIME, STREAM_CHUNK, Settings,
    WRITE_HIGH_WATER,
};
use super::parse::{Head, HeadParser, Parsed, RawCall};
use super::raw::RawHandler;
use super::spares::Spares;
use super::upgrade::{Upgraded, UpgradedConn};
use super::wire::{SharedWire, Transport, Wire};
use super::{Request, Response};
use crate::hub::catch_user_panic;

/// What the connection's server tells it, and what the server sees of it.
pub(crate) struct ConnState {
    /// The server is shutting down: answer the request in flight with
    /// `Connection: close`, take no other.
    pub(crate) closing: Rc<Cell<bool>>,
    /// Waiting for the first byte of a request: safe to close at shutdown.
    pub(crate) idle: Cell<bool>,
}

/// Serves requests on `stream` until the client or a limit ends the connection.
pub(crate) fn run<S: Transport, H: Fn(Request) -> Response>(
    stream: S,
    settings: &Rc<Settings>,
    spares: &Rc<Spares>,
    handler: &H,
    raw: Option<&RawHandler>,
    state: &ConnState,
) {
    let Ok(wire) = Wire::new(stream, settings.clone(), spares.clone()) else {
        return;
    };
    let shared = Rc::new(SharedWire(RefCell::new(wire)));
    // Every request starts in the wire (its buffers and state) and its
    // socket, cold since the last request: have them loaded with the stack.
    let socket = shared.0.borrow().stream.hot_socket();
    crate::hub::mark_hot_objects([crate::task::HotObject::of(&*shared), socket]);
    let source: Rc<dyn BodySource> = shared.clone();
    let mut parser = HeadParser::default();
    let mut scratch = Vec::new();
    let mut date = date::now();
    let mut served = 0u64;
    loop {
        let head = {
            let mut wire = shared.0.borrow_mut();
            let next = next_head(
                &mut wire,
                &mut parser,
                settings,
                &mut served,
                raw,
                state,
                &mut date,
            );
            match next {
                Ok(Next::Request(head)) => head,
                Ok(Next::Close) => return finish(&mut wire),
                Ok(Next::End) => return,
                Err(status) => return refuse(&mut wire, status, &date),
            }
        };
        served += 1;
        let exchange = Exchange {
            head_request: head.head_request,
            version: head.version,
            keep_alive: head.keep_alive,
        };
        shared
            .0
            .borrow_mut()
            .start_request(served, head.framing, head.expect_continue);
        let body = Body::incoming(source.clone(), served);
        // The request is put together from the parser's parts in the call;
        // the response is written into its slot inside the catch, so that
        // it is not moved out through the catch's results.
        let mut slot = None;
        let called = catch_user_panic(|| {
            slot = Some(handler(parser.take_request(body)));
        });
        let (Ok(()), Some(response)) = (called, slot.as_mut()) else {
            let mut wire = shared.0.borrow_mut();
            return refuse(&mut wire, StatusCode::INTERNAL_SERVER_ERROR, &date);
        };
        if response.status() == StatusCode::SWITCHING_PROTOCOLS
            && let Some(switch) = response.body_mut().take_upgrade()
        {
            return switch_protocols(&shared, response.headers(), switch, &date);
        }
        let echoes_body = response.body().is_incoming_of(&source, served);
        let mut wire = shared.0.borrow_mut();
        let mut close = state.closing.get();
        if echoes_body {
            if wire.continue_pending() {
                wire.send_continue();
            }
        } else if !wire.body_finished() {
            // An unread body: read and drop a little of it, or give up the connection.
            close |= wire.continue_pending() || !wire.drain_body(DRAIN_LIMIT);
        }
        if let Some(status) = wire.failure {
            return refuse(&mut wire, status, &date);
        }
        let exchange = Exchange {
            keep_alive: exchange.keep_alive && !close,
            ..exchange
        };
        let echo_len = if echoes_body { wire.remaining() } else { None };
        let head_at = wire.output.len();
        let Ok(Encoded {
            payload,
            close: must_close,
        }) = encode::encode_head(&mut wire.output, response, exchange, echo_len, &date)
        else {
            return refuse(&mut wire, StatusCode::INTERNAL_SERVER_ERROR, &date);
        };
        wire.response_at = Some(head_at);
        wire.head_end = wire.output.len();
        wire.spares
            .give_headers(std::mem::take(response.headers_mut()));
        drop(slot);
        let sent = match payload {
            Payload::Nothing => Ok(()),
            Payload::Bytes(bytes) if bytes.len() <= COPY_BODY_LIMIT => {
                wire.output.extend_from_slice(&bytes);
                Ok(())
            }
            Payload::Bytes(bytes) => wire.flush().and_then(|()| wire.write_all(&bytes)),
            Payload::Fixed(body, len) => {
                drop(wire);
                let sent = stream_body(&shared, body, Some(len), false, echoes_body, &mut scratch);
                wire = shared.0.borrow_mut();
                sent
            }
            Payload::Chunked(body) | Payload::UntilClose(body) => {
                let chunked = exchange.version == ::http::Version::HTTP_11;
                drop(wire);
                let sent = stream_body(&shared, body, None, chunked, echoes_body, &mut scratch);
                wire = shared.0.borrow_mut();
                sent
            }
        };
        if sent.is_err()
            && let Some(head_at) = wire.response_at
        {
            // No byte of this response is out yet: the client gets the
            // status of what went wrong instead (the request body's, or
            // 500 for a response body that failed).
            wire.output.truncate(head_at);
            let status = wire.failure.unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return refuse(&mut wire, status, &date);
        }
        // A streamed echo that stopped early leaves the request body unread.
        let close = must_close || (echoes_body && !wire.body_finished());
        if sent.is_err() {
            return; // the response is cut: closing is the only way to say so
        }
        if close {
            return finish(&mut wire);
        }
        if wire.output.len() >= WRITE_HIGH_WATER && wire.flush().is_err() {
            return;
        }
    }
}

/// Sends the `101` with `headers`, then gives the connection to `switch`
/// on this green thread; closes it when `switch` returns.
#[inline(never)] // off the request path's frame: see `run`
fn switch_protocols<S: Transport>(
    shared: &Rc<SharedWire<S>>,
    headers: &::http::HeaderMap,
    switch: Box<dyn FnOnce(Upgraded)>,
    date: &HttpDate,
) {
    let mut wire = shared.0.borrow_mut();
    if !wire.body_finished() && !wire.drain_body(DRAIN_LIMIT) {
        let status = wire.failure.unwrap_or(StatusCode::BAD_REQUEST);
        return refuse(&mut wire, status, date);
    }
    if encode::encode_switch(&mut wire.output, headers).is_err() {
        return refuse(&mut wire, StatusCode::INTERNAL_SERVER_ERROR, date);
    }
    let Ok(waiter) = wire.stream.tcp() else {
        return;
    };
    if wire.flush().is_err() {
        return;
    }
    wire.end_requests();
    let _ = wire.stream.set_read_timeout(None);
    let _ = wire.stream.set_write_timeout(None);
    drop(wire);
    let upgraded = Upgraded::new(Rc::new(UpgradedConn::new(shared.clone(), waiter)));
    // A panic ends the protocol and the connection, nothing else.
    let _ = catch_user_panic(|| switch(upgraded));
    finish(&mut shared.0.borrow_mut());
}

/// What comes next on a connection.
enum Next {
    /// A request for the handler, in the parser.
    Request(Head),
    /// Close after writing what is pending (the borrowed handler's last answer).
    Close,
    /// The connection ends quietly: the client closed it, went silent past a
    /// timeout, or the server is shutting down.
    End,
}

/// The next request head for the handler: from the buffer when a pipelined
/// one is there, else from the client once the batch of responses so far is
/// written. Requests the borrowed handler answers on the way are counted in
/// `served`.
#[allow(clippy::too_many_arguments)] // the connection's parts, passed apart to borrow them apart
fn next_head<S: Transport>(
    wire: &mut Wire<S>,
    parser: &mut HeadParser,
    settings: &Settings,
    served: &mut u64,
    raw: Option<&RawHandler>,
    state: &ConnState,
    date: &mut HttpDate,
) -> Result<Next, StatusCode> {
    let mut first = *served == 0;
    let mut deadline = first.then(|| Instant::now() + settings.header_read_timeout);
    loop {
        while !wire.input.is_empty() {
            let raw = raw.map(|handler| RawCall {
                handler,
                out: &mut wire.output,
                date,
                may_keep_alive: !state.closing.get(),
            });
            match parser.parse(&mut wire.input, settings, &wire.spares, raw)? {
                Some(Parsed::Request(head)) => return Ok(Next::Request(head)),
                Some(Parsed::Answered { close }) => {
                    *served += 1;
                    first = false;
                    deadline = None;
                    if close {
                        return Ok(Next::Close);
                    }
                    if wire.output.len() >= WRITE_HIGH_WATER && wire.flush().is_err() {
                        return Ok(Next::End);
                    }
                }
                None => break,
            }
        }
        if wire.flush().is_err() {
            return Ok(Next::End);
        }
        let idle = wire.input.is_empty();
        let timeout = if idle && !first {
            if state.closing.get() {
                return Ok(Next::End);
            }
            settings.keep_alive_timeout
        } else {
            let deadline =
                *deadline.get_or_insert_with(|| Instant::now() + settings.header_read_timeout);
            match deadline.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => left,
                _ => return Ok(Next::End),
            }
        };
        if idle && !first {
            // Between requests: no read or write buffer while the client
            // idles (spare now, they serve the next connection that wakes;
            // the write buffer comes back at its size, not grown again).
            wire.release_buffers();
        }
        state.idle.set(idle);
        let read = wire.fill(timeout);
        state.idle.set(false);
        match read {
            Ok(0) | Err(_) => return Ok(Next::End),
            Ok(_) => *date = date::now(),
        }
    }
}

/// Streams `body` as the response payload: `len` bytes exactly, or to its
/// end (`chunked`, or raw for a client that reads to the connection's end).
///
/// Each piece is written as it comes, except for an `echo` of the request's
/// own body: its pieces gather (up to a stream chunk) while more of the body
/// is already received, and go out before the server waits for the rest.
/// So a body that arrived whole is checked whole before any byte is sent,
/// and a malformed chunk in it still gets its 400.
#[inline(never)] // off the request path's frame: see `run`
fn stream_body<S: Transport>(
    shared: &SharedWire<S>,
    mut body: Body,
    len: Option<u64>,
    chunked: bool,
    echo: bool,
    scratch: &mut Vec<u8>,
) -> io::Result<()> {
    scratch.resize(STREAM_CHUNK, 0);
    let mut left = len.unwrap_or(u64::MAX);
    while left > 0 {
        let want = scratch
            .len()
            .min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = match body.read(&mut scratch[..want]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let mut wire = shared.0.borrow_mut();
        if n == 0 {
            if len.is_some() {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            if chunked {
                wire.output.extend_from_slice(b"0\r\n\r\n");
            }
            return wire.flush();
        }
        if chunked {
            let mut size = [0; 16];
            let digits = hex(n, &mut size);
            wire.output.extend_from_slice(digits);
            wire.output.extend_from_slice(b"\r\n");
            wire.output.extend_from_slice(&scratch[..n]);
            wire.output.extend_from_slice(b"\r\n");
        } else {
            wire.output.extend_from_slice(&scratch[..n]);
        }
        if !echo || wire.output.len() >= STREAM_CHUNK {
            wire.flush()?;
        }
        left -= n as u64;
    }
    Ok(())
}

fn hex(mut n: usize, out: &mut [u8; 16]) -> &[u8] {
    let mut at = out.len();
    loop {
        at -= 1;
        out[at] = b"0123456789abcdef"[n & 15];
        n >>= 4;
        if n == 0 {
            return &out[at..];
        }
    }
}

/// Answers `status` by the server itself and closes the connection.
#[inline(never)] // off the request path's frame: see `run`
fn refuse<S: Transport>(wire: &mut Wire<S>, status: StatusCode, date: &HttpDate) {
    encode::encode_error(&mut wire.output, status, date);
    finish(wire);
}

/// Writes what is pending and closes, reading (and dropping) what the client
/// still sends for a moment, so that it sees the answer rather than a reset.
#[inline(never)] // off the request path's frame: see `run`
fn finish<S: Transport>(wire: &mut Wire<S>) {
    if wire.flush().is_err() {
        return;
    }
    wire.stream.close_write();
    let until = Instant::now() + LINGER_TIME;
    let mut sink = [0; 4096];
    let mut dropped = 0;
    while dropped < LINGER_BYTES {
        let left = until.saturating_duration_since(Instant::now());
        if left < Duration::from_millis(1) || wire.stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match wire.stream.read(&mut sink) {
            Ok(0) | Err(_) => return,
            Ok(n) => dropped += n,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn chunk_sizes_in_hex() {
        let mut out = [0; 16];
        assert_eq!(super::hex(0, &mut out), b"0");
        assert_eq!(super::hex(255, &mut out), b"ff");
        assert_eq!(super::hex(32768, &mut out), b"8000");
    }
}
