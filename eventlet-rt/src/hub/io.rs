//! Readiness waits for sockets registered with the hub's poller.

use std::io;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use super::{Direction, Hub, current};

/// When a socket wait gives up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WaitLimit {
    Never,
    At(Instant),
    /// This long after the operation first parks: the clock is read only
    /// then, so an operation that does not block never reads it.
    After(Duration),
}

impl WaitLimit {
    /// A socket timeout as a limit: none means never.
    pub(crate) fn after(timeout: Option<Duration>) -> WaitLimit {
        timeout.map_or(WaitLimit::Never, WaitLimit::After)
    }

    /// The deadline, fixed from now on if it was a duration.
    fn deadline(&mut self) -> Option<Instant> {
        match *self {
            WaitLimit::Never => None,
            WaitLimit::At(deadline) => Some(deadline),
            WaitLimit::After(timeout) => {
                // Too far to represent is never.
                let deadline = Instant::now().checked_add(timeout)?;
                *self = WaitLimit::At(deadline);
                Some(deadline)
            }
        }
    }
}

impl From<Option<Instant>> for WaitLimit {
    fn from(deadline: Option<Instant>) -> WaitLimit {
        deadline.map_or(WaitLimit::Never, WaitLimit::At)
    }
}

/// A source registered with the calling thread's hub.
///
/// The owner calls [`IoRegistration::deregister`] before it closes the
/// source, so no registration outlives its descriptor.
#[derive(Debug)]
pub(crate) struct IoRegistration {
    slot: usize,
}

impl IoRegistration {
    /// Registers `source` for read and write readiness with this thread's hub.
    pub(crate) fn new(
        source: &mut (impl mio::event::Source + AsRawFd),
    ) -> io::Result<IoRegistration> {
        let fd = source.as_raw_fd();
        let slot = current().poller.register(source, fd)?;
        Ok(IoRegistration { slot })
    }

    /// Registers a bare descriptor (one owned elsewhere) with the current
    /// thread's hub.
    pub(crate) fn for_fd(fd: std::os::fd::RawFd) -> io::Result<IoRegistration> {
        let slot = current()
            .poller
            .register(&mut mio::unix::SourceFd(&fd), fd)?;
        Ok(IoRegistration { slot })
    }

    /// Its slot in the hub's poller (for sources released from another thread).
    #[cfg(feature = "http")]
    pub(crate) fn slot(&self) -> usize {
        self.slot
    }

    /// Removes `source` from the poller; the registration is spent afterwards.
    pub(crate) fn deregister(&self, source: &mut impl mio::event::Source) {
        current().poller.deregister(self.slot, source);
    }

    /// Runs `op` until it does not report `WouldBlock`, parking the calling
    /// green thread until the source is ready in `direction` between tries.
    /// A read on a source whose last read emptied it (see
    /// [`IoRegistration::mark_read_drained`]) waits for readiness first.
    ///
    /// Past `limit` it gives up with `io::ErrorKind::TimedOut`.
    pub(crate) fn run<R>(
        &self,
        direction: Direction,
        limit: impl Into<WaitLimit>,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        let mut limit = limit.into();
        if direction == Direction::Read {
            self.wait_readable_within(&mut limit)?;
        }
        loop {
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let hub = current();
                    hub.poller.clear_ready(self.slot, direction);
                    self.wait_ready(hub, direction, &mut limit)?;
                }
                result => return result,
            }
        }
    }

    /// [`IoRegistration::run`] for a future: tries `op` (unless the last
    /// read emptied the source, for a read) and, when it would block, has
    /// `waker` woken at the next readiness in `direction` instead of
    /// parking. Must be called on the hub that registered the source.
    pub(crate) fn poll_run<R>(
        &self,
        direction: Direction,
        waker: &Waker,
        op: impl FnOnce() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let hub = current();
        if direction == Direction::Read && hub.poller.is_read_drained(self.slot) {
            hub.poller.add_waker(self.slot, direction, waker);
            return Poll::Pending;
        }
        match op() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                hub.poller.clear_ready(self.slot, direction);
                hub.poller.add_waker(self.slot, direction, waker);
                Poll::Pending
            }
            result => Poll::Ready(result),
        }
    }

    /// Parks until a read may find bytes: at once unless the last read
    /// emptied the source (see [`IoRegistration::mark_read_drained`]), so a
    /// caller can wait for its next message before it takes a buffer for it.
    /// Past `limit` it gives up with `io::ErrorKind::TimedOut`.
    #[cfg(feature = "http")]
    pub(crate) fn wait_readable(&self, mut limit: WaitLimit) -> io::Result<()> {
        self.wait_readable_within(&mut limit)
    }

    fn wait_readable_within(&self, limit: &mut WaitLimit) -> io::Result<()> {
        let hub = current();
        if hub.poller.is_read_drained(self.slot) {
            self.wait_ready(hub, Direction::Read, limit)?;
        }
        Ok(())
    }

    /// Records that a stream read returned less than it asked for, so the
    /// receive buffer is empty now.
    ///
    /// Readiness is edge-triggered and every arrival of data after that read
    /// raises a new readable event, so the next read can wait for the event
    /// and save the system call that would only say `WouldBlock` (tokio makes
    /// the same assumption). Only for byte streams: a short datagram says
    /// nothing about the next one. Once the peer has closed its side no edge
    /// follows, so the poller ignores the mark on such a socket.
    pub(crate) fn mark_read_drained(&self) {
        current().poller.clear_ready(self.slot, Direction::Read);
    }

    /// Undoes [`IoRegistration::mark_read_drained`]: the next read tries the
    /// system call first again.
    pub(crate) fn forget_read_drained(&self) {
        current().poller.forget_read_drained(self.slot);
    }

    /// Wakes every green thread waiting on this source as if it were ready
    /// both ways (its descriptor is being closed: their retries fail).
    pub(crate) fn wake_all(&self) {
        let hub = current();
        hub.poller
            .wake_all(self.slot, |task| hub.unpark_owned(task));
    }

    /// Parks until the poller reports readiness in `direction`, within `limit`.
    fn wait_ready(&self, hub: &Hub, direction: Direction, limit: &mut WaitLimit) -> io::Result<()> {
        loop {
            if hub.poller.is_ready(self.slot, direction) {
                return Ok(());
            }
            let task = hub.current_task();
            let waiter = Waiter {
                hub,
                slot: self.slot,
                direction,
                task: Rc::as_ptr(&task).cast(),
            };
            hub.poller.add_waiter(self.slot, direction, task);
            let woken = match limit.deadline() {
                None => {
                    hub.park();
                    true
                }
                Some(deadline) => hub.park_for_io(deadline),
            };
            drop(waiter);
            if !woken && !hub.poller.is_ready(self.slot, direction) {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the socket operation timed out",
                ));
            }
        }
    }
}

/// Takes a waiter off the source when its wait ends, however it ends.
struct Waiter<'a> {
    hub: &'a Hub,
    slot: usize,
    direction: Direction,
    /// Which task waits (compared by address; the poller's list holds it).
    task: *const u8,
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        self.hub
            .poller
            .remove_waiter(self.slot, self.direction, self.task);
    }
}
