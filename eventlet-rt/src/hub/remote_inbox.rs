//! A hub's inbox for other OS threads, and how posts to it wake the hub only
//! when it sleeps.
//!
//! Posters push under a mutex, then raise `pending`, then wake the hub's
//! poller through its `mio::Waker` (an eventfd write) only if the hub has
//! said it is blocking (`parked`). The hub says so before it blocks in
//! `epoll_wait`, then looks at `pending` once more. Both sides store, then
//! load the other's flag, all `SeqCst` (Dekker's pattern): at least one of
//! them sees the other's store, so either the poster writes the eventfd or
//! the hub does not block. No wake-up is lost, and a hub that is running or
//! spinning (`tuning::REMOTE_SPIN`) costs its posters no system call and no
//! wake-up of a sleeping thread.

use std::cell::Cell;
use std::os::fd::AsRawFd;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::time::{Duration, Instant};

use super::remote::lock_unpoisoned;
use crate::tuning::{REMOTE_SPIN, REMOTE_SPIN_BACKOFF};

/// A descriptor handed back to its hub by another OS thread, to be
/// deregistered and closed there.
pub(crate) type Released = Box<dyn AsRawFd + Send>;

/// What other OS threads post to a hub: wake-ups, as (slot, sequence) of a
/// remote wait, and sources dropped away from home, as (slot, descriptor).
pub(crate) struct RemoteInbox {
    posted: Mutex<Vec<(usize, u64)>>,
    released: Mutex<Vec<(usize, Released)>>,
    /// Raised by a poster after its push, lowered by the hub as it takes
    /// everything: while it is down, both lists are empty or their posters
    /// have yet to raise it.
    pending: AtomicBool,
    /// True from just before the hub blocks in its poller until it returns.
    parked: AtomicBool,
    waker: mio::Waker,
}

/// Everything taken from the inbox at once.
pub(crate) struct Taken {
    pub(crate) released: Vec<(usize, Released)>,
    pub(crate) posted: Vec<(usize, u64)>,
}

impl RemoteInbox {
    pub(crate) fn new(waker: mio::Waker) -> RemoteInbox {
        RemoteInbox {
            posted: Mutex::new(Vec::new()),
            released: Mutex::new(Vec::new()),
            pending: AtomicBool::new(false),
            parked: AtomicBool::new(false),
            waker,
        }
    }

    /// Hands the source registered at `slot` back to this hub, which
    /// deregisters it and then drops `fd` (closing it). Callable from any
    /// OS thread; if the hub is gone, `fd` closes when the inbox drops.
    #[cfg(feature = "http")]
    pub(crate) fn release(&self, slot: usize, fd: Released) {
        lock_unpoisoned(&self.released).push((slot, fd));
        self.notify();
    }

    /// Wakes the remote wait (`slot`, `seq`) of this hub; callable from any
    /// OS thread.
    pub(crate) fn post(&self, slot: usize, seq: u64) {
        lock_unpoisoned(&self.posted).push((slot, seq));
        self.notify();
    }

    /// After a push: raises `pending`, then wakes the hub if it blocks (or
    /// is about to). The first poster to find it parked lowers `parked`,
    /// so a burst of posts writes the eventfd once.
    fn notify(&self) {
        self.pending.store(true, SeqCst);
        if self.parked.swap(false, SeqCst) {
            // A failed wake can only mean the hub is gone, and then nobody
            // waits for this post.
            let _ = self.waker.wake();
        }
    }

    /// Everything posted so far, or `None` (and no lock taken) when nothing is.
    pub(crate) fn take(&self) -> Option<Taken> {
        // The swap reads the poster's `pending`, stored after its push:
        // that push is then seen by the locks below.
        if !self.pending.swap(false, SeqCst) {
            return None;
        }
        let released = std::mem::take(&mut *lock_unpoisoned(&self.released));
        let posted = std::mem::take(&mut *lock_unpoisoned(&self.posted));
        Some(Taken { released, posted })
    }

    /// The hub is about to block in its poller: from now on posters wake it.
    /// False when something was posted meanwhile: then it must not block
    /// (poll without waiting, and call [`RemoteInbox::unpark`] after).
    pub(crate) fn park(&self) -> bool {
        self.parked.store(true, SeqCst);
        !self.pending.load(SeqCst)
    }

    /// The hub is back from its poller: posters need not wake it.
    pub(crate) fn unpark(&self) {
        self.parked.store(false, SeqCst);
    }

    /// Spins (no system call) until something is posted, true, or until
    /// `limit` has passed, false.
    pub(crate) fn spin_for_post(&self, limit: Duration) -> bool {
        /// Checks between two looks at the clock (about 2 to 5 ns each).
        const CHECKS_PER_CLOCK: u32 = 64;
        let start = Instant::now();
        loop {
            for _ in 0..CHECKS_PER_CLOCK {
                if self.pending.load(std::sync::atomic::Ordering::Relaxed) {
                    return true;
                }
                std::hint::spin_loop();
            }
            if start.elapsed() >= limit {
                return false;
            }
        }
    }
}

/// When a hub spins on its inbox before blocking: only after a remote post
/// came since its last spin in vain, and, after spins in vain, only before
/// one block in 1, 2, 4, ... up to [`REMOTE_SPIN_BACKOFF`]. A spin fails when
/// the other side answers late, or cannot run at all because every core is
/// busy (a spinning hub then holds the core its peer needs): the backoff
/// keeps that case close to the cost of never spinning, and one spin that
/// succeeds starts spinning every time again.
#[derive(Default)]
pub(crate) struct Spinning {
    /// A remote post came since the last spin in vain.
    recent: Cell<bool>,
    /// Blocks still to go without a spin.
    skip: Cell<u32>,
    /// Blocks without a spin after the next spin in vain (0 after a success).
    backoff: Cell<u32>,
}

impl Spinning {
    /// The hub took a remote post from its inbox.
    pub(crate) fn remote_posted(&self) {
        self.recent.set(true);
    }

    /// The hub is about to block: true when it should spin first.
    pub(crate) fn wanted(&self) -> bool {
        if !self.recent.get() || REMOTE_SPIN.is_zero() {
            return false;
        }
        match self.skip.get() {
            0 => true,
            n => {
                self.skip.set(n - 1);
                false
            }
        }
    }

    /// The spin ended: `posted` when something came during it.
    pub(crate) fn spun(&self, posted: bool) {
        if posted {
            self.backoff.set(0);
            return;
        }
        self.recent.set(false);
        let backoff = self.backoff.get();
        self.skip.set(backoff);
        self.backoff
            .set((backoff * 2).clamp(1, REMOTE_SPIN_BACKOFF));
    }
}
