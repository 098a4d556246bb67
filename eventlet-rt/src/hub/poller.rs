//! The hub's link to `mio`: readiness of registered sources, and wake-ups from
//! other OS threads (the thread pool, other hubs) through its
//! [`RemoteInbox`] and a `mio::Waker`.

use std::cell::{Cell, RefCell};
use std::io;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::Duration;

use mio::{Events, Interest, Poll, Registry, Token};
use slab::Slab;
use smallvec::SmallVec;

use super::remote_inbox::{HubWaker, RemoteInbox, Spinning, Taken};
use crate::task::TaskRef;
use crate::tuning::REMOTE_SPIN;

/// The token of the waker; source tokens are slab keys, far below it.
const WAKER_TOKEN: Token = Token(usize::MAX);

/// The readiness direction a green thread waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

/// Readiness and waiters of one registered source.
struct IoSlot {
    /// The source's descriptor, for snapshots.
    fd: RawFd,
    readable: bool,
    writable: bool,
    /// A read found the receive buffer empty (a short stream read or a
    /// `WouldBlock`) and no readable event came since: the next read can
    /// wait for one without trying a system call first.
    read_drained: bool,
    /// The peer closed its side or the socket failed: no edge may ever come
    /// again, so reads always try the system call (which returns at once).
    /// Stays set.
    read_closed: bool,
    readers: Waiters,
    writers: Waiters,
}

/// The green threads waiting on one direction of a source: almost always
/// one, kept inline in the slot (the slab keeps slots together, so a
/// wake-up reads no memory of its own for the list).
type Waiters = SmallVec<[TaskRef; 1]>;

impl IoSlot {
    fn waiters(&mut self, direction: Direction) -> &mut Waiters {
        match direction {
            Direction::Read => &mut self.readers,
            Direction::Write => &mut self.writers,
        }
    }
}

/// Wakes every waiter of a list, in the order they came, and empties it.
#[inline]
fn wake_all(waiters: &mut Waiters, wake: &mut impl FnMut(TaskRef)) {
    if waiters.len() == 1 {
        // The usual case, without the drain's bookkeeping.
        if let Some(task) = waiters.pop() {
            wake(task);
        }
    } else {
        waiters.drain(..).for_each(wake);
    }
}

struct RemoteSlot {
    seq: u64,
    task: TaskRef,
    woken: bool,
}

pub(crate) struct Poller {
    poll: RefCell<Poll>,
    events: RefCell<Events>,
    sources: RefCell<Slab<IoSlot>>,
    io_waiters: Cell<usize>,
    inbox: Arc<RemoteInbox>,
    /// Whether to spin on the inbox before blocking (see [`REMOTE_SPIN`]).
    spinning: Spinning,
    remote: RefCell<Slab<RemoteSlot>>,
    next_remote_seq: Cell<u64>,
}

impl Poller {
    pub(crate) fn new() -> io::Result<Poller> {
        let poll = Poll::new()?;
        let waker = HubWaker::new(poll.registry(), WAKER_TOKEN)?;
        Ok(Poller {
            poll: RefCell::new(poll),
            events: RefCell::new(Events::with_capacity(1024)),
            sources: RefCell::new(Slab::new()),
            io_waiters: Cell::new(0),
            inbox: Arc::new(RemoteInbox::new(waker)),
            spinning: Spinning::default(),
            remote: RefCell::new(Slab::new()),
            next_remote_seq: Cell::new(0),
        })
    }

    /// Registers `source` (descriptor `fd`) for read and write readiness;
    /// returns its slot.
    pub(crate) fn register(
        &self,
        source: &mut impl mio::event::Source,
        fd: RawFd,
    ) -> io::Result<usize> {
        let mut sources = self.sources.borrow_mut();
        let entry = sources.vacant_entry();
        let slot = entry.key();
        self.registry(|registry| {
            registry.register(source, Token(slot), Interest::READABLE | Interest::WRITABLE)
        })?;
        entry.insert(IoSlot {
            fd,
            readable: false,
            writable: false,
            read_drained: false,
            read_closed: false,
            readers: Waiters::new(),
            writers: Waiters::new(),
        });
        Ok(slot)
    }

    /// Removes `source` from the poller and frees its slot.
    pub(crate) fn deregister(&self, slot: usize, source: &mut impl mio::event::Source) {
        // The descriptor may already be broken; either way the slot must go.
        let _ = self.registry(|registry| registry.deregister(source));
        let removed = self.sources.borrow_mut().try_remove(slot);
        if let Some(removed) = removed {
            debug_assert!(removed.readers.is_empty() && removed.writers.is_empty());
        }
    }

    fn registry<R>(&self, f: impl FnOnce(&Registry) -> R) -> R {
        f(self.poll.borrow().registry())
    }

    /// Last known readiness of a slot in one direction.
    pub(crate) fn is_ready(&self, slot: usize, direction: Direction) -> bool {
        let sources = self.sources.borrow();
        let io = &sources[slot];
        match direction {
            Direction::Read => io.readable,
            Direction::Write => io.writable,
        }
    }

    /// Forgets readiness after an operation said it would block, or a
    /// stream read got fewer bytes than it asked for: for reads, it also
    /// records that the receive buffer is empty, so the next read waits for
    /// a readable event instead of trying a system call that would say
    /// `WouldBlock`.
    pub(crate) fn clear_ready(&self, slot: usize, direction: Direction) {
        let mut sources = self.sources.borrow_mut();
        match direction {
            Direction::Read => {
                sources[slot].readable = false;
                sources[slot].read_drained = true;
            }
            Direction::Write => sources[slot].writable = false,
        }
    }

    /// True when the last read emptied the receive buffer, no readable
    /// event came since, and the read side is not closed.
    pub(crate) fn is_read_drained(&self, slot: usize) -> bool {
        let sources = self.sources.borrow();
        let io = &sources[slot];
        io.read_drained && !io.read_closed
    }

    /// Forgets that the receive buffer was found empty (the socket's read
    /// side was shut down here, which may raise no edge).
    pub(crate) fn forget_read_drained(&self, slot: usize) {
        self.sources.borrow_mut()[slot].read_drained = false;
    }

    pub(crate) fn add_waiter(&self, slot: usize, direction: Direction, task: TaskRef) {
        self.sources.borrow_mut()[slot]
            .waiters(direction)
            .push(task);
        self.io_waiters.set(self.io_waiters.get() + 1);
    }

    /// Takes `task` (a task's address, as `Rc::as_ptr` gives it) off the
    /// waiters of a slot, if it is still there.
    pub(crate) fn remove_waiter(&self, slot: usize, direction: Direction, task: *const u8) {
        let mut sources = self.sources.borrow_mut();
        let Some(io) = sources.get_mut(slot) else {
            return;
        };
        let waiters = io.waiters(direction);
        if let Some(at) = waiters
            .iter()
            .position(|t| std::rc::Rc::as_ptr(t).cast::<u8>() == task)
        {
            waiters.swap_remove(at);
            self.io_waiters.set(self.io_waiters.get() - 1);
        }
    }

    /// Marks a slot ready both ways and wakes all its waiters.
    pub(crate) fn wake_all(&self, slot: usize, mut wake: impl FnMut(TaskRef)) {
        let mut sources = self.sources.borrow_mut();
        let Some(io) = sources.get_mut(slot) else {
            return;
        };
        (io.readable, io.writable, io.read_closed) = (true, true, true);
        let waiters: Waiters = io.readers.drain(..).chain(io.writers.drain(..)).collect();
        drop(sources);
        self.io_waiters.set(self.io_waiters.get() - waiters.len());
        waiters.into_iter().for_each(&mut wake);
    }

    /// Green threads blocked on readiness.
    pub(crate) fn io_waiters(&self) -> usize {
        self.io_waiters.get()
    }

    /// Registered sources.
    pub(crate) fn sources(&self) -> usize {
        self.sources.borrow().len()
    }

    /// Each registered source: its descriptor, then how many green threads
    /// wait to read and to write on it.
    pub(crate) fn describe_sources(&self) -> Vec<(RawFd, usize, usize)> {
        let sources = self.sources.borrow();
        sources
            .iter()
            .map(|(_, io)| (io.fd, io.readers.len(), io.writers.len()))
            .collect()
    }

    /// Waits up to `timeout` for readiness or remote wake-ups and hands every
    /// task they wake to `wake`. True when the kernel may hold more ready
    /// events than one poll takes (the event buffer came back full).
    ///
    /// Before it blocks, a hub that has had remote posts lately spins on its
    /// inbox for up to [`REMOTE_SPIN`] (see [`Spinning`]); it then blocks
    /// only if nothing came.
    pub(crate) fn poll(
        &self,
        mut timeout: Option<Duration>,
        mut wake: impl FnMut(TaskRef),
    ) -> bool {
        if timeout != Some(Duration::ZERO) && self.spinning.wanted() {
            let spin = timeout.map_or(REMOTE_SPIN, |t| t.min(REMOTE_SPIN));
            let posted = self.inbox.spin_for_post(spin);
            self.spinning.spun(posted);
            if posted {
                if self.io_waiters.get() == 0 {
                    // Nobody waits on a socket: their events keep in the
                    // kernel until the next poll, so skip the system call.
                    self.drain_inbox(wake);
                    return false;
                }
                timeout = Some(Duration::ZERO);
            } else {
                timeout = timeout.map(|t| t - spin);
            }
        }
        let mut events = self.events.borrow_mut();
        let polled = self.inbox.parked(timeout, |timeout| {
            self.poll.borrow_mut().poll(&mut events, timeout)
        });
        match polled {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return false,
            Err(e) => panic!("eventlet-rt: the hub's poller failed: {e}"),
        }
        let mut sources = self.sources.borrow_mut();
        for event in events.iter() {
            if event.token() == WAKER_TOKEN {
                continue;
            }
            let Some(io) = sources.get_mut(event.token().0) else {
                continue;
            };
            if event.is_readable() || event.is_read_closed() || event.is_error() {
                io.readable = true;
                io.read_drained = false;
                io.read_closed |= event.is_read_closed() || event.is_error();
                self.io_waiters
                    .set(self.io_waiters.get() - io.readers.len());
                wake_all(&mut io.readers, &mut wake);
            }
            if event.is_writable() || event.is_write_closed() || event.is_error() {
                io.writable = true;
                self.io_waiters
                    .set(self.io_waiters.get() - io.writers.len());
                wake_all(&mut io.writers, &mut wake);
            }
        }
        drop(sources);
        self.drain_inbox(wake);
        events.iter().count() == events.capacity()
    }

    /// The descriptor of the hub's epoll instance, for tokio to watch.
    #[cfg(feature = "tokio")]
    pub(crate) fn as_raw_fd(&self) -> RawFd {
        use std::os::fd::AsRawFd;
        self.poll.borrow().as_raw_fd()
    }

    /// The inbox other threads post to: it identifies this hub.
    pub(crate) fn inbox(&self) -> &Arc<RemoteInbox> {
        &self.inbox
    }

    fn drain_inbox(&self, mut wake: impl FnMut(TaskRef)) {
        let Some(Taken { released, posted }) = self.inbox.take() else {
            return;
        };
        for (slot, fd) in released {
            // Still open (we hold it), so the descriptor is the registered one.
            self.deregister(slot, &mut mio::unix::SourceFd(&fd.as_raw_fd()));
        }
        if !posted.is_empty() {
            self.spinning.remote_posted();
        }
        let mut remote = self.remote.borrow_mut();
        for (slot, seq) in posted {
            if let Some(waiting) = remote.get_mut(slot).filter(|r| r.seq == seq) {
                waiting.woken = true;
                wake(waiting.task.clone());
            }
        }
    }

    /// Registers `task` as waiting for a wake-up from another OS thread.
    pub(crate) fn expect_remote(&self, task: TaskRef) -> RemoteWait {
        let seq = self.next_remote_seq.get();
        self.next_remote_seq.set(seq + 1);
        let slot = self.remote.borrow_mut().insert(RemoteSlot {
            seq,
            task,
            woken: false,
        });
        RemoteWait {
            slot,
            seq,
            inbox: self.inbox.clone(),
        }
    }

    /// A remote wait of this hub woken from this hub's own thread: marks it
    /// woken and gives its task to unpark, if it still waits.
    pub(crate) fn wake_remote_here(&self, slot: usize, seq: u64) -> Option<TaskRef> {
        let mut remote = self.remote.borrow_mut();
        let waiting = remote.get_mut(slot).filter(|r| r.seq == seq)?;
        waiting.woken = true;
        Some(waiting.task.clone())
    }

    pub(crate) fn remote_woken(&self, wait: &RemoteWait) -> bool {
        self.remote
            .borrow()
            .get(wait.slot)
            .is_some_and(|r| r.seq == wait.seq && r.woken)
    }

    pub(crate) fn forget_remote(&self, wait: &RemoteWait) {
        let mut remote = self.remote.borrow_mut();
        if remote.get(wait.slot).is_some_and(|r| r.seq == wait.seq) {
            remote.remove(wait.slot);
        }
    }

    /// Remote wake-ups still expected.
    pub(crate) fn remote_waits(&self) -> usize {
        self.remote.borrow().len()
    }

    /// Drops every remote wait (hub teardown).
    pub(crate) fn clear_remote(&self) {
        let waits = std::mem::take(&mut *self.remote.borrow_mut());
        // After the borrow: a task dropped here may drop a channel end,
        // whose wake-ups come back to this poller.
        drop(waits);
    }
}

/// A pending wake-up from another OS thread; see [`crate::hub::RemoteWaker`].
pub(crate) struct RemoteWait {
    pub(crate) slot: usize,
    pub(crate) seq: u64,
    pub(crate) inbox: Arc<RemoteInbox>,
}
