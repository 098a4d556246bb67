//! The part every green socket shares: a `mio` source registered with the
//! calling thread's hub, its timeouts, and the loop that parks on `WouldBlock`.

use std::cell::Cell;
use std::io;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use crate::hub::{Direction, IoRegistration, WaitLimit};

/// A non-blocking `mio` socket registered with this thread's hub.
///
/// Readiness is edge-triggered: an operation is tried first, and only a
/// `WouldBlock` clears the readiness the hub has recorded and parks the
/// calling green thread until the next edge, so no wake-up is lost and
/// nothing spins. The one exception is a read right after one that emptied
/// the receive buffer (a `WouldBlock`, or a stream read that got fewer bytes
/// than it asked for): it waits for the next edge first, which saves a
/// system call per message in request/response traffic. Clones of a green socket (`try_clone`) share one
/// `GreenSocket` through an `Rc`: one registration, one descriptor, shared
/// timeouts — as clones of a std socket share the socket's options.
pub(crate) struct GreenSocket<S: mio::event::Source> {
    source: S,
    registration: IoRegistration,
    read_timeout: Cell<Option<Duration>>,
    write_timeout: Cell<Option<Duration>>,
    nonblocking: Cell<bool>,
}

impl<S: mio::event::Source> GreenSocket<S> {
    /// Registers `source` (already non-blocking) with the calling thread's hub.
    pub(crate) fn new(mut source: S) -> io::Result<GreenSocket<S>>
    where
        S: std::os::fd::AsRawFd,
    {
        let registration = IoRegistration::new(&mut source)?;
        Ok(GreenSocket {
            source,
            registration,
            read_timeout: Cell::new(None),
            write_timeout: Cell::new(None),
            nonblocking: Cell::new(false),
        })
    }

    /// The `mio` socket, for operations that never block.
    pub(crate) fn get(&self) -> &S {
        &self.source
    }

    /// Runs a read-side operation (read, accept, recv), parking until it
    /// stops reporting `WouldBlock` or the read timeout passes.
    pub(crate) fn read_with<R>(&self, op: impl FnMut(&S) -> io::Result<R>) -> io::Result<R> {
        self.run(Direction::Read, self.read_timeout.get(), op)
    }

    /// Runs a byte-stream read that asks for `wanted` bytes: as
    /// [`GreenSocket::read_with`], and a read that returns fewer (but some)
    /// bytes tells the hub the receive buffer is empty, so the next read
    /// waits for data without a system call that would say `WouldBlock`.
    pub(crate) fn read_stream_with(
        &self,
        wanted: usize,
        op: impl FnMut(&S) -> io::Result<usize>,
    ) -> io::Result<usize> {
        let read = self.read_with(op)?;
        if read > 0 && read < wanted {
            self.registration.mark_read_drained();
        }
        Ok(read)
    }

    /// Parks until a read may find bytes, within the read timeout, reading
    /// none: at once unless the last read emptied the receive buffer.
    #[cfg(feature = "http")]
    pub(crate) fn wait_readable(&self) -> io::Result<()> {
        if self.nonblocking.get() {
            return Ok(());
        }
        self.registration
            .wait_readable(WaitLimit::after(self.read_timeout.get()))
    }

    /// The read side was shut down here: reads must try the system call
    /// again, since the shutdown may raise no readiness edge.
    pub(crate) fn read_side_shut(&self) {
        self.registration.forget_read_drained();
    }

    /// Runs a write-side operation (write, send), parking until it stops
    /// reporting `WouldBlock` or the write timeout passes.
    pub(crate) fn write_with<R>(&self, op: impl FnMut(&S) -> io::Result<R>) -> io::Result<R> {
        self.run(Direction::Write, self.write_timeout.get(), op)
    }

    /// Like [`GreenSocket::write_with`] with an explicit deadline (connect).
    pub(crate) fn write_until<R>(
        &self,
        deadline: Option<Instant>,
        mut op: impl FnMut(&S) -> io::Result<R>,
    ) -> io::Result<R> {
        self.registration
            .run(Direction::Write, deadline, || op(&self.source))
    }

    fn run<R>(
        &self,
        direction: Direction,
        timeout: Option<Duration>,
        mut op: impl FnMut(&S) -> io::Result<R>,
    ) -> io::Result<R> {
        if self.nonblocking.get() {
            return op(&self.source);
        }
        self.registration
            .run(direction, WaitLimit::after(timeout), || op(&self.source))
    }

    /// A byte-stream read for a future: as [`GreenSocket::read_stream_with`]
    /// but, instead of parking, it has `waker` woken when the socket turns
    /// readable. Timeouts and non-blocking mode do not apply.
    pub(crate) fn poll_read_stream(
        &self,
        waker: &Waker,
        wanted: usize,
        op: impl FnOnce(&S) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        let read = self
            .registration
            .poll_run(Direction::Read, waker, || op(&self.source));
        if let Poll::Ready(Ok(read)) = read
            && read > 0
            && read < wanted
        {
            self.registration.mark_read_drained();
        }
        read
    }

    /// A write for a future: as [`GreenSocket::write_with`] but, instead of
    /// parking, it has `waker` woken when the socket turns writable.
    pub(crate) fn poll_write<R>(
        &self,
        waker: &Waker,
        op: impl FnOnce(&S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.registration
            .poll_run(Direction::Write, waker, || op(&self.source))
    }

    pub(crate) fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.read_timeout.set(checked_timeout(timeout)?);
        Ok(())
    }

    pub(crate) fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.write_timeout.set(checked_timeout(timeout)?);
        Ok(())
    }

    pub(crate) fn read_timeout(&self) -> Option<Duration> {
        self.read_timeout.get()
    }

    pub(crate) fn write_timeout(&self) -> Option<Duration> {
        self.write_timeout.get()
    }

    /// In non-blocking mode operations return `WouldBlock` instead of parking.
    pub(crate) fn set_nonblocking(&self, nonblocking: bool) {
        self.nonblocking.set(nonblocking);
    }
}

impl<S: mio::event::Source> Drop for GreenSocket<S> {
    fn drop(&mut self) {
        // Deregister before the descriptor closes (when `source` drops next),
        // so the hub keeps no slot for a closed descriptor.
        self.registration.deregister(&mut self.source);
    }
}

/// std refuses a zero timeout (it would mean "never block" on some systems
/// and "block forever" on others); so do green sockets.
pub(crate) fn checked_timeout(timeout: Option<Duration>) -> io::Result<Option<Duration>> {
    if timeout == Some(Duration::ZERO) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "cannot set a 0 duration timeout",
        ));
    }
    Ok(timeout)
}
