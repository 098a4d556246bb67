//! `GreenTransport`: ureq's `Transport` over a green, `Send` socket.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Arc, Weak};
use std::time::Instant;

use ureq::Error;
use ureq::unversioned::transport::{Buffers, LazyBuffers, NextTimeout, ShutdownHandle, Transport};

use super::homed::HomedSource;
use crate::hub::Direction;

/// A connected non-blocking socket; shared (weakly) with the agent so that
/// `Agent::shutdown` can shut it down from any thread.
pub(crate) struct Socket(pub(crate) mio::net::TcpStream);

impl AsRawFd for Socket {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

impl ShutdownHandle for Socket {
    fn shutdown(&self) {
        // The home hub sees the hang-up and wakes whoever waits on the socket.
        let _ = self.0.shutdown(Shutdown::Both);
    }
}

/// A TCP connection carrying HTTP/1.1 for ureq, made by
/// [`GreenConnector`](super::GreenConnector).
///
/// Reads and writes park only the calling green thread. It is `Send + Sync`
/// as ureq requires, without `unsafe`: it holds the descriptor and the slot
/// number of its registration, not the hub's thread-bound state. It works on
/// the OS thread that opened it; anywhere else its I/O fails with an
/// `io::Error`, [`is_open`](Transport::is_open) says `false` (so ureq's pool
/// drops it instead of reusing it there), and dropping it hands the socket
/// back to its home hub to be closed.
///
/// ```
/// use eventlet_rt::http::ureq::unversioned::transport::Transport;
///
/// fn needs_ureq_transport<T: Transport>() {}
/// needs_ureq_transport::<eventlet_rt::http::GreenTransport>();
/// ```
pub struct GreenTransport {
    socket: HomedSource<Socket>,
    buffers: LazyBuffers,
}

impl GreenTransport {
    pub(crate) fn new(socket: HomedSource<Socket>, buffers: LazyBuffers) -> GreenTransport {
        GreenTransport { socket, buffers }
    }

    pub(crate) fn shutdown_handle(&self) -> Weak<dyn ShutdownHandle> {
        Arc::downgrade(self.socket.source()) as Weak<dyn ShutdownHandle>
    }
}

/// The instant `timeout` runs out, or `None` for never; an already spent
/// budget is ureq's timeout error.
pub(crate) fn deadline(timeout: NextTimeout) -> Result<Option<Instant>, Error> {
    if timeout.after.is_zero() {
        return Err(Error::Timeout(timeout.reason));
    }
    Ok(timeout
        .not_zero()
        .and_then(|after| Instant::now().checked_add(*after)))
}

/// A green I/O error in ureq's terms: a timeout carries ureq's reason.
pub(crate) fn ureq_error(error: io::Error, timeout: NextTimeout) -> Error {
    match error.kind() {
        io::ErrorKind::TimedOut => Error::Timeout(timeout.reason),
        _ => Error::Io(error),
    }
}

/// Retries `op` while a signal interrupts it.
fn retrying<R>(mut op: impl FnMut() -> io::Result<R>) -> io::Result<R> {
    loop {
        match op() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            result => return result,
        }
    }
}

impl Transport for GreenTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), Error> {
        let timeout = timeout.for_write();
        let deadline = deadline(timeout)?;
        let mut output = &self.buffers.output()[..amount];
        while !output.is_empty() {
            let written = self
                .socket
                .run(Direction::Write, deadline, |socket| {
                    retrying(|| (&socket.0).write(output))
                })
                .map_err(|e| ureq_error(e, timeout))?;
            if written == 0 {
                return Err(Error::Io(io::ErrorKind::WriteZero.into()));
            }
            output = &output[written..];
        }
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, Error> {
        let timeout = timeout.for_read();
        let deadline = deadline(timeout)?;
        let input = self.buffers.input_append_buf();
        let read = self
            .socket
            .run(Direction::Read, deadline, |socket| {
                retrying(|| (&socket.0).read(input))
            })
            .map_err(|e| ureq_error(e, timeout))?;
        self.buffers.input_appended(read);
        Ok(read > 0)
    }

    fn is_open(&mut self) -> bool {
        if !self.socket.is_home() {
            return false;
        }
        // An idle connection has nothing to read: any byte or end of stream
        // means the server is done with it.
        let probe = (&self.socket.source().0).read(&mut [0]);
        matches!(probe, Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }
}

impl fmt::Debug for GreenTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GreenTransport")
            .field("peer", &self.socket.source().0.peer_addr().ok())
            .finish()
    }
}
