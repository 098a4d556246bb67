//! One connection's bytes: the stream, its read buffer, the batch of
//! responses being written, and the framing of the request body being read.

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::task::HotObject;

use ::http::StatusCode;

use super::body::BodySource;
use super::chunked::{ChunkError, Chunked};
use super::head::Framing;
use super::inbuf::InBuf;
use super::limits::{Settings, WaitBudget};
use super::spares::Spares;
use crate::green::net::{Shutdown, TcpStream};
use crate::green::tls::ServerTlsStream;

const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// What a connection runs over: a green TCP stream, or TLS over one.
pub(crate) trait Transport: Read + Write + 'static {
    /// `None`: reads wait as long as it takes.
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    /// Ends the sending direction (TLS: with `close_notify`).
    fn close_write(&mut self);
    /// A read that never waits: `WouldBlock` when nothing has arrived.
    fn try_read(&mut self, buf: &mut [u8]) -> io::Result<usize>;
    /// Parks until a read would find bytes (or the end), within the read
    /// timeout, without a buffer of the caller's; it may return early, and
    /// the read then waits as any read does.
    fn wait_readable(&mut self) -> io::Result<()>;
    /// A write that never waits, when the transport can try one: `WouldBlock`
    /// when the client takes no more bytes now, or when it cannot tell.
    fn try_write(&mut self, buf: &[u8]) -> io::Result<usize>;
    /// A handle on the TCP connection underneath, to wait on its readiness
    /// without borrowing the stream.
    fn tcp(&self) -> io::Result<TcpStream>;
    /// The heap object of the socket underneath that every read goes
    /// through first, if the transport has one
    /// ([`mark_hot_objects`](crate::hub::mark_hot_objects)).
    fn hot_socket(&self) -> HotObject {
        HotObject::NONE
    }
}

impl Transport for TcpStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_write_timeout(self, timeout)
    }

    fn close_write(&mut self) {
        let _ = self.shutdown(Shutdown::Write);
    }

    fn try_read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.set_nonblocking(true)?;
        let read = self.read(buf);
        self.set_nonblocking(false)?;
        read
    }

    fn wait_readable(&mut self) -> io::Result<()> {
        TcpStream::wait_readable(self)
    }

    fn try_write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.set_nonblocking(true)?;
        let written = self.write(buf);
        self.set_nonblocking(false)?;
        written
    }

    fn tcp(&self) -> io::Result<TcpStream> {
        self.try_clone()
    }

    fn hot_socket(&self) -> HotObject {
        self.hot_object()
    }
}

impl Transport for ServerTlsStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.get_ref().0.set_read_timeout(timeout)
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.get_ref().0.set_write_timeout(timeout)
    }

    fn close_write(&mut self) {
        let _ = self.shutdown();
    }

    fn try_read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Plaintext rustls holds comes first; the socket is only tried.
        self.get_ref().0.set_nonblocking(true)?;
        let read = self.read(buf);
        self.get_ref().0.set_nonblocking(false)?;
        read
    }

    fn wait_readable(&mut self) -> io::Result<()> {
        // Records come in and are decrypted into rustls's own buffer.
        std::io::BufRead::fill_buf(self).map(drop)
    }

    fn try_write(&mut self, _: &[u8]) -> io::Result<usize> {
        // rustls would take the bytes and keep what the socket refuses.
        Err(io::ErrorKind::WouldBlock.into())
    }

    fn tcp(&self) -> io::Result<TcpStream> {
        self.get_ref().0.try_clone()
    }

    fn hot_socket(&self) -> HotObject {
        self.get_ref().0.hot_object()
    }
}

/// Where the current request's body is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BodyFraming {
    Length(u64),
    Chunked(Chunked),
    Done,
}

pub(crate) struct Wire<S> {
    pub(crate) stream: S,
    pub(crate) input: InBuf,
    /// Responses not written yet: a pipelined batch goes out in one write.
    pub(crate) output: Vec<u8>,
    /// Where `input` and `output` go while the connection waits for a request.
    pub(crate) spares: Rc<Spares>,
    /// Where the current response's head starts in `output`, while none of
    /// it has been written: until then an error can still replace it.
    pub(crate) response_at: Option<usize>,
    /// Where that head ends.
    pub(crate) head_end: usize,
    settings: Rc<Settings>,
    /// Which request of the connection the body state belongs to.
    pub(crate) request: u64,
    framing: BodyFraming,
    expect_continue: bool,
    received: u64,
    /// Why the request body was refused, to answer with.
    pub(crate) failure: Option<StatusCode>,
    /// The client's waits on this request's body, and on taking responses.
    body_budget: WaitBudget,
    write_budget: WaitBudget,
}

impl<S: Transport> Wire<S> {
    pub(crate) fn new(
        stream: S,
        settings: Rc<Settings>,
        spares: Rc<Spares>,
    ) -> io::Result<Wire<S>> {
        stream.set_write_timeout(Some(settings.write_timeout))?;
        Ok(Wire {
            stream,
            input: InBuf::new(),
            output: spares.output(),
            spares,
            response_at: None,
            head_end: 0,
            settings,
            request: 0,
            framing: BodyFraming::Done,
            expect_continue: false,
            received: 0,
            failure: None,
            body_budget: WaitBudget::default(),
            write_budget: WaitBudget::default(),
        })
    }

    /// Reads what the client sent next into the buffer; `Ok(0)` at its end.
    /// After [`Wire::release_buffers`], it waits for the bytes first and
    /// takes buffers for them afterwards.
    pub(crate) fn fill(&mut self, timeout: Duration) -> io::Result<usize> {
        self.stream.set_read_timeout(Some(timeout))?;
        if self.input.is_released() {
            self.stream.wait_readable()?;
            self.input.reacquire(&self.spares);
            self.output = self.spares.output();
        }
        let limit = self.settings.head_buffer_limit();
        self.input.read_from(&mut self.stream, limit)
    }

    /// Lets the read buffer and the output batch go (both empty) while the
    /// connection waits for its next request.
    pub(crate) fn release_buffers(&mut self) {
        self.input.release(&self.spares);
        self.spares.give_output(std::mem::take(&mut self.output));
    }

    /// Writes the pending responses.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.response_at = None;
        if !self.output.is_empty() {
            let output = std::mem::take(&mut self.output);
            let written = self.write_all(&output);
            self.output = output;
            self.output.clear();
            written?;
        }
        Ok(())
    }

    /// Writes what is pending before the server waits on the client:
    /// everything, or, when the current response is a head alone so far,
    /// what comes before it (earlier responses, a `100 Continue`), keeping
    /// the head, which an error met on the request body can still replace.
    fn flush_before_wait(&mut self) -> io::Result<()> {
        match self.response_at {
            Some(at) if self.output.len() == self.head_end => {
                if at > 0 {
                    let written = self.write_all_of(at);
                    self.output.drain(..at);
                    self.response_at = Some(0);
                    self.head_end -= at;
                    written?;
                }
                Ok(())
            }
            _ => self.flush(),
        }
    }

    fn write_all_of(&mut self, len: usize) -> io::Result<()> {
        let output = std::mem::take(&mut self.output);
        let written = self.write_all(&output[..len]);
        self.output = output;
        written
    }

    /// `write_all` within the write budget: a client that takes the bytes
    /// slower than the minimum data rate is cut off, however many writes.
    /// First one try that cannot wait, which most batches need alone: no
    /// clock is read unless the client makes the server wait.
    pub(crate) fn write_all(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        match self.stream.try_write(bytes) {
            Ok(n) => {
                self.write_budget.record(Duration::ZERO, n);
                bytes = &bytes[n..];
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(e),
        }
        while !bytes.is_empty() {
            let left = self
                .write_budget
                .left(self.settings.write_timeout, self.settings.min_data_rate)
                .ok_or(io::ErrorKind::TimedOut)?;
            self.stream
                .set_write_timeout(Some(left.min(self.settings.write_timeout)))?;
            let started = Instant::now();
            let written = self.stream.write(bytes);
            let waited = started.elapsed();
            match written {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.write_budget.record(waited, n);
                    bytes = &bytes[n..];
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Makes `request` the current one, its body framed by `framing`.
    pub(crate) fn start_request(&mut self, request: u64, framing: Framing, expect_continue: bool) {
        self.request = request;
        self.framing = match framing {
            Framing::Length(0) => BodyFraming::Done,
            Framing::Length(n) => BodyFraming::Length(n),
            Framing::Chunked => BodyFraming::Chunked(Chunked::Size),
        };
        self.expect_continue = expect_continue;
        self.received = 0;
        self.failure = None;
        self.response_at = None;
        self.body_budget = WaitBudget::default();
        self.write_budget = WaitBudget::default();
    }

    /// No request body of this connection reads any more (after an upgrade).
    pub(crate) fn end_requests(&mut self) {
        self.request = 0;
        self.framing = BodyFraming::Done;
    }

    pub(crate) fn body_finished(&self) -> bool {
        self.framing == BodyFraming::Done
    }

    /// Whether the client still waits for `100 Continue` before it sends the body.
    pub(crate) fn continue_pending(&self) -> bool {
        self.expect_continue
    }

    /// Queues `100 Continue` ahead of the response (whose body is this request's).
    pub(crate) fn send_continue(&mut self) {
        self.expect_continue = false;
        self.output.extend_from_slice(CONTINUE);
    }

    pub(crate) fn remaining(&self) -> Option<u64> {
        match self.framing {
            BodyFraming::Length(n) => Some(n),
            BodyFraming::Done => Some(0),
            BodyFraming::Chunked(_) => None,
        }
    }

    /// Reads and drops what is left of the body, up to `limit` bytes; says
    /// whether the body ended within it.
    #[inline(never)] // its sink stays off the request path's frames (`conn::run`)
    pub(crate) fn drain_body(&mut self, limit: u64) -> bool {
        let mut sink = [0; 4096];
        let mut drained = 0;
        while !self.body_finished() && drained <= limit {
            match self.read_body(&mut sink) {
                Ok(n) => drained += n as u64,
                Err(_) => return false,
            }
        }
        self.body_finished()
    }

    /// Reads the current request's body (framing undone).
    pub(crate) fn read_body(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(status) = self.failure {
            return Err(body_error(status));
        }
        if buf.is_empty() || self.framing == BodyFraming::Done {
            return Ok(0);
        }
        if self.expect_continue {
            // Queued: it goes out before the first wait for the body.
            self.send_continue();
        }
        loop {
            match self.framing {
                BodyFraming::Done => return Ok(0),
                BodyFraming::Length(left) => {
                    let n = self.read_data(buf, left)?;
                    self.framing = match left - n as u64 {
                        0 => BodyFraming::Done,
                        left => BodyFraming::Length(left),
                    };
                    return Ok(n);
                }
                BodyFraming::Chunked(Chunked::Data(left)) => {
                    let n = self.read_data(buf, left)?;
                    self.received += n as u64;
                    if self
                        .settings
                        .max_body_bytes
                        .is_some_and(|max| self.received > max)
                    {
                        return Err(self.fail(StatusCode::PAYLOAD_TOO_LARGE));
                    }
                    self.framing = BodyFraming::Chunked(match left - n as u64 {
                        0 => Chunked::DataEnd,
                        left => Chunked::Data(left),
                    });
                    return Ok(n);
                }
                BodyFraming::Chunked(state) => {
                    let max_trailers = self.settings.max_header_bytes;
                    match state.advance(self.input.data(), max_trailers) {
                        Ok(Some((used, next))) => {
                            self.input.consume(used);
                            self.framing = match next {
                                Chunked::Done => BodyFraming::Done,
                                next => BodyFraming::Chunked(next),
                            };
                        }
                        Ok(None) => {
                            self.fill_body()?;
                        }
                        Err(ChunkError::Malformed) => {
                            return Err(self.fail(StatusCode::BAD_REQUEST));
                        }
                        Err(ChunkError::TrailersTooLarge) => {
                            return Err(self.fail(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE));
                        }
                    }
                }
            }
        }
    }

    /// Body data: first from the buffer, else straight from the stream into `buf`.
    fn read_data(&mut self, buf: &mut [u8], left: u64) -> io::Result<usize> {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        if !self.input.is_empty() {
            let data = self.input.data();
            let n = data.len().min(want);
            buf[..n].copy_from_slice(&data[..n]);
            self.input.consume(n);
            return Ok(n);
        }
        self.wait_for_body(Some(&mut buf[..want]))
    }

    fn fill_body(&mut self) -> io::Result<()> {
        self.wait_for_body(None).map(drop)
    }

    /// One wait for the client's body bytes, into `buf` or else the read
    /// buffer. What is pending goes out first (a `100 Continue`, earlier
    /// responses), so the client is never left waiting on us while we wait
    /// on it. Bounded by the body read timeout and by the body's budget.
    fn wait_for_body(&mut self, buf: Option<&mut [u8]>) -> io::Result<usize> {
        if let Err(e) = self.flush_before_wait() {
            return Err(self.failed_read(e));
        }
        let base = self.settings.body_read_timeout;
        let Some(left) = self.body_budget.left(base, self.settings.min_data_rate) else {
            return Err(self.fail(StatusCode::REQUEST_TIMEOUT));
        };
        let timeout = left.min(base);
        let started = Instant::now();
        let read = match buf {
            Some(buf) => self
                .stream
                .set_read_timeout(Some(timeout))
                .and_then(|()| self.stream.read(buf)),
            None => self.fill(timeout),
        };
        self.body_budget
            .record(started.elapsed(), *read.as_ref().unwrap_or(&0));
        match read {
            Ok(0) => Err(self.fail(StatusCode::BAD_REQUEST)),
            Ok(n) => Ok(n),
            Err(e) => Err(self.failed_read(e)),
        }
    }

    fn failed_read(&mut self, error: io::Error) -> io::Error {
        self.failure = Some(match error.kind() {
            io::ErrorKind::TimedOut => StatusCode::REQUEST_TIMEOUT,
            _ => StatusCode::BAD_REQUEST,
        });
        error
    }

    fn fail(&mut self, status: StatusCode) -> io::Error {
        self.failure = Some(status);
        body_error(status)
    }
}

fn body_error(status: StatusCode) -> io::Error {
    let (kind, what) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (
            io::ErrorKind::InvalidData,
            "the request body is over the size limit",
        ),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => (
            io::ErrorKind::InvalidData,
            "the request trailers are over the size limit",
        ),
        StatusCode::REQUEST_TIMEOUT => (io::ErrorKind::TimedOut, "the request body timed out"),
        _ => (
            io::ErrorKind::InvalidData,
            "the request body is malformed or cut short",
        ),
    };
    io::Error::new(kind, what)
}

/// A connection's wire, shared between its loop and the request body it lends out.
pub(crate) struct SharedWire<S>(pub(crate) RefCell<Wire<S>>);

impl<S: Transport> BodySource for SharedWire<S> {
    fn read_body(&self, request: u64, buf: &mut [u8]) -> io::Result<usize> {
        let mut wire = self.0.try_borrow_mut().map_err(|_| finished_error())?;
        if wire.request != request {
            return Err(finished_error());
        }
        wire.read_body(buf)
    }

    fn remaining(&self, request: u64) -> Option<u64> {
        let wire = self.0.try_borrow().ok()?;
        (wire.request == request)
            .then(|| wire.remaining())
            .flatten()
    }
}

fn finished_error() -> io::Error {
    io::Error::other("the request of this body has been answered")
}
