//! Protocol upgrades (RFC 9110 7.8): a `101 Switching Protocols` response
//! that hands its connection, with the bytes already read, to a closure on
//! the connection's own green thread. WebSocket is built on it.

use std::fmt;
use std::io::{self, Read, Write};
use std::rc::Rc;
use std::time::Duration;

use ::http::StatusCode;

use super::Response;
use super::body::{Body, Kind};
use super::wire::{SharedWire, Transport};
use crate::green::net::TcpStream;

/// A connection that has left HTTP: after a `101 Switching Protocols`
/// response, its bytes both ways, plain or TLS, read and written as a
/// stream. The bytes the client sent after its request head are read first.
///
/// Reads and writes block only the green thread (the connection's own).
/// Neither has a timeout until one is set; the server closes the
/// connection when the closure given to [`switch_protocols`] returns.
///
/// ```
/// use std::io::{Read, Write};
/// use eventlet_rt::http::{self, Response, Server, StatusCode};
///
/// // A made-up protocol: after the 101, the server answers each byte + 1.
/// let server = Server::new(|_request| {
///     let mut response = Response::default();
///     *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
///     response.headers_mut().insert("upgrade", "plus-one".parse().unwrap());
///     http::switch_protocols(response, |mut upgraded| {
///         let mut byte = [0];
///         while upgraded.read(&mut byte).unwrap_or(0) == 1 {
///             upgraded.write_all(&[byte[0] + 1]).unwrap();
///         }
///     })
/// });
/// let listener = eventlet_rt::listen("127.0.0.1:0")?;
/// let addr = listener.local_addr()?;
/// eventlet_rt::spawn_n(move || server.serve(listener).unwrap());
///
/// let mut client = eventlet_rt::connect(addr)?;
/// // The first byte goes with the request: it is read after the switch.
/// client.write_all(b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: plus-one\r\nConnection: upgrade\r\n\r\na")?;
/// let mut reply = Vec::new();
/// while !reply.ends_with(b"\r\n\r\nb") {
///     let mut more = [0; 512];
///     let n = client.read(&mut more)?;
///     assert!(n > 0, "closed early: {reply:?}");
///     reply.extend_from_slice(&more[..n]);
/// }
/// assert!(reply.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Upgraded {
    io: Rc<dyn UpgradedIo>,
}

/// The connection side of an [`Upgraded`]: the wire it shares with the loop
/// that served the `101`.
pub(crate) trait UpgradedIo {
    /// Waits (green) until bytes come, holding nothing meanwhile.
    fn read(&self, buf: &mut [u8]) -> io::Result<usize>;
    /// `WouldBlock` when no byte is there yet.
    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize>;
    /// Waits until a read would find bytes (or the end), reading none.
    fn wait_readable(&self) -> io::Result<()>;
    fn write(&self, buf: &[u8]) -> io::Result<usize>;
    fn flush(&self) -> io::Result<()>;
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
}

impl Upgraded {
    pub(crate) fn new(io: Rc<dyn UpgradedIo>) -> Upgraded {
        Upgraded { io }
    }

    /// How long a read may wait; `None` (the default): as long as it takes.
    /// Past it the read fails with `io::ErrorKind::TimedOut`.
    ///
    /// See [`Upgraded`] for an example of an upgraded connection.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.io.set_read_timeout(timeout)
    }

    /// How long a write may wait for the client to take bytes; `None` (the
    /// default): as long as it takes.
    ///
    /// See [`Upgraded`] for an example of an upgraded connection.
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.io.set_write_timeout(timeout)
    }
}

impl Upgraded {
    /// Another handle on the same connection.
    pub(crate) fn share(&self) -> Upgraded {
        Upgraded {
            io: self.io.clone(),
        }
    }

    pub(crate) fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_read(buf)
    }

    pub(crate) fn wait_readable(&self) -> io::Result<()> {
        self.io.wait_readable()
    }

    pub(crate) fn write_shared(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.write(buf)
    }

    pub(crate) fn flush_shared(&self) -> io::Result<()> {
        self.io.flush()
    }
}

impl Read for Upgraded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.read(buf)
    }
}

impl Write for Upgraded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.io.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.io.flush()
    }
}

impl fmt::Debug for Upgraded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upgraded").finish_non_exhaustive()
    }
}

/// Makes `response` (status `101 Switching Protocols`, with the `Upgrade`
/// header and whatever else the new protocol needs) the one that switches
/// its connection: once the server has sent it, it calls `f` with the
/// connection, in the connection's own green thread, and closes the
/// connection when `f` returns. A panic in `f` closes it too. `f` needs no
/// `Send`: it never leaves the hub that serves the connection.
///
/// The server sends the handler's headers as they are, without
/// `Content-Length` or `Date`. A request with a body is not upgraded until
/// that body has been read (up to a small limit; past it the client gets 400).
///
/// # Panics
/// When `response`'s status is not `101`.
///
/// See [`Upgraded`] for an example.
#[track_caller]
pub fn switch_protocols(response: Response, f: impl FnOnce(Upgraded) + 'static) -> Response {
    assert_eq!(
        response.status(),
        StatusCode::SWITCHING_PROTOCOLS,
        "eventlet-rt: switch_protocols needs a 101 Switching Protocols response; \
         answer other statuses with the response itself"
    );
    response.map(|_| Body::from_kind(Kind::Upgrade(Box::new(f))))
}

/// An upgraded connection's wire, and a handle on its TCP connection to wait
/// on without borrowing the wire: one green thread can wait for bytes while
/// another writes.
pub(crate) struct UpgradedConn<S> {
    wire: Rc<SharedWire<S>>,
    waiter: TcpStream,
}

impl<S: Transport> UpgradedConn<S> {
    pub(crate) fn new(wire: Rc<SharedWire<S>>, waiter: TcpStream) -> UpgradedConn<S> {
        UpgradedConn { wire, waiter }
    }
}

impl<S: Transport> UpgradedIo for UpgradedConn<S> {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.try_read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.wait_readable()?,
                read => return read,
            }
        }
    }

    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let mut wire = self.wire.0.borrow_mut();
        let buffered = wire.input.data();
        if !buffered.is_empty() {
            let n = buffered.len().min(buf.len());
            buf[..n].copy_from_slice(&buffered[..n]);
            wire.input.consume(n);
            return Ok(n);
        }
        wire.stream.try_read(buf)
    }

    fn wait_readable(&self) -> io::Result<()> {
        self.waiter.peek(&mut [0]).map(drop)
    }

    fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.wire.0.borrow_mut().stream.write(buf)
    }

    fn flush(&self) -> io::Result<()> {
        self.wire.0.borrow_mut().stream.flush()
    }

    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.waiter.set_read_timeout(timeout)
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.waiter.set_write_timeout(timeout)
    }
}
