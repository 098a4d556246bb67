//! A hub's inbox for other OS threads, and how posts to it wake the hub only
//! when it sleeps.
//!
//! Posters push under a mutex, then raise `pending`, then wake the hub's
//! poller through its `mio::Waker` (an eventfd write) only if the hub has
//! said it is blocking (`parked`). The hub says so before it blocks in
//! `epoll_wait`, then looks at `pending` once more. Both sides store their
//! flag, pass a `SeqCst` fence, then read the other's flag (Dekker's
//! pattern): of two `SeqCst` fences one comes first, and the read after the
//! second sees the store before the first. So either the poster writes the
//! eventfd or the hub does not block. No wake-up is lost, and a hub that is
//! running or spinning (`tuning::REMOTE_SPIN`) costs its posters no system
//! call and no wake-up of a sleeping thread.
//!
//! Every write to the two flags is a swap, and a poster that finds
//! `pending` raised already leaves the wake-up to the poster that raised it.
//!
//! This is the bottom of the hub's cross-thread code: it imports neither the
//! poller (which owns an inbox) nor the remote waits (which post to one).
//! The loom models at the end run it with the eventfd as a loom-visible
//! flag.

use std::cell::Cell;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use crate::sync::atomic::{AtomicBool, Ordering, fence};
use crate::sync::{self, Mutex};
use crate::tuning::{REMOTE_SPIN, REMOTE_SPIN_BACKOFF};

/// What wakes the hub from its poller: the eventfd of a `mio::Waker`, or,
/// in the loom models, a flag the model's hub blocks on.
#[cfg(not(all(test, loom)))]
pub(crate) type HubWaker = mio::Waker;
#[cfg(all(test, loom))]
pub(crate) type HubWaker = loom_models::Eventfd;

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
    waker: HubWaker,
}

/// Everything taken from the inbox at once.
pub(crate) struct Taken {
    pub(crate) released: Vec<(usize, Released)>,
    pub(crate) posted: Vec<(usize, u64)>,
}

impl RemoteInbox {
    pub(crate) fn new(waker: HubWaker) -> RemoteInbox {
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
        sync::lock(&self.released).push((slot, fd));
        self.notify();
    }

    /// Wakes the remote wait (`slot`, `seq`) of this hub; callable from any
    /// OS thread.
    pub(crate) fn post(&self, slot: usize, seq: u64) {
        sync::lock(&self.posted).push((slot, seq));
        self.notify();
    }

    /// After a push: raises `pending`, then wakes the hub if it blocks (or
    /// is about to). A poster that finds `pending` raised already leaves the
    /// wake-up to the one that raised it: the hub has not taken since, and
    /// that poster either wakes it or the hub sees `pending` before it
    /// blocks. The first poster to find the hub parked lowers `parked`, so
    /// a burst of posts writes the eventfd once.
    fn notify(&self) {
        if self.pending.swap(true, Ordering::Release) {
            return;
        }
        fence(Ordering::SeqCst);
        if self.parked.load(Ordering::Relaxed) && self.parked.swap(false, Ordering::Relaxed) {
            // A failed wake can only mean the hub is gone, and then nobody
            // waits for this post.
            let _ = self.waker.wake();
        }
    }

    /// Everything posted so far, or `None` (and no lock taken) when nothing is.
    pub(crate) fn take(&self) -> Option<Taken> {
        // The swap reads the poster's `pending`, stored after its push:
        // that push is then seen by the locks below.
        if !self.pending.swap(false, Ordering::Acquire) {
            return None;
        }
        let released = std::mem::take(&mut *sync::lock(&self.released));
        let posted = std::mem::take(&mut *sync::lock(&self.posted));
        Some(Taken { released, posted })
    }

    /// The hub is about to block in its poller: from now on posters wake it.
    /// False when something was posted meanwhile: then it must not block
    /// (poll without waiting, and call [`RemoteInbox::unpark`] after).
    fn park(&self) -> bool {
        // Every write to the two flags is a swap, which reads the write
        // before it: their modification order is then total in loom's
        // model as it is on the hardware (loom lets a load-free store float).
        self.parked.swap(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        !self.pending.load(Ordering::Relaxed)
    }

    /// The hub is back from its poller: posters need not wake it.
    fn unpark(&self) {
        self.parked.swap(false, Ordering::Relaxed);
    }

    /// Runs `poll`, the hub's wait in its poller for up to `timeout`,
    /// parked: posters wake it meanwhile. When something was posted before
    /// it parked, `poll` gets a zero timeout instead of blocking.
    pub(crate) fn parked<R>(
        &self,
        timeout: Option<Duration>,
        poll: impl FnOnce(Option<Duration>) -> R,
    ) -> R {
        if timeout == Some(Duration::ZERO) {
            return poll(timeout);
        }
        let timeout = if self.park() {
            timeout
        } else {
            Some(Duration::ZERO)
        };
        let polled = poll(timeout);
        self.unpark();
        polled
    }

    /// Spins (no system call) until something is posted, true, or until
    /// `limit` has passed, false.
    pub(crate) fn spin_for_post(&self, limit: Duration) -> bool {
        let start = Instant::now();
        self.spin(|| start.elapsed() < limit)
    }

    /// Looks at `pending` [`CHECKS_PER_CLOCK`] times between two calls of
    /// `go_on`, until something is posted (true) or `go_on` says stop.
    fn spin(&self, mut go_on: impl FnMut() -> bool) -> bool {
        loop {
            for _ in 0..CHECKS_PER_CLOCK {
                // Relaxed: a look only; `take` reads it again, to acquire.
                if self.pending.load(Ordering::Relaxed) {
                    return true;
                }
                crate::sync::spin_loop();
            }
            if !go_on() {
                return false;
            }
        }
    }
}

/// Checks of `pending` between two looks at the clock (about 2 to 5 ns
/// each); two in the loom models, which explore every interleaving.
#[cfg(not(all(test, loom)))]
const CHECKS_PER_CLOCK: u32 = 64;
#[cfg(all(test, loom))]
const CHECKS_PER_CLOCK: u32 = 2;

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

/// The loom models of the inbox: posters on other threads, and the hub's side
/// as `Poller::poll` runs it (spin, park, wait in the poller, unpark, take),
/// with the eventfd as a flag the model's hub waits on. A lost wake-up leaves
/// the hub waiting for good, which loom reports as a deadlock.
#[cfg(all(test, loom))]
pub(crate) mod loom_models {
    use std::io;

    use crate::sync::atomic::{AtomicUsize, Ordering};

    /// The eventfd of the hub's `mio::Waker`, as loom sees it: writes are
    /// counted, and the model's hub blocks until one comes (as `epoll_wait`
    /// on it would).
    #[derive(Default)]
    pub(crate) struct Eventfd {
        written: loom::sync::Notify,
        writes: AtomicUsize,
    }

    impl Eventfd {
        /// `mio::Waker::new`'s signature, for `Poller::new` to build in a
        /// loom build; the models call `Eventfd::default()`.
        pub(crate) fn new(_: &mio::Registry, _: mio::Token) -> io::Result<Eventfd> {
            Ok(Eventfd::default())
        }

        pub(crate) fn wake(&self) -> io::Result<()> {
            self.writes.fetch_add(1, Ordering::Relaxed);
            self.written.notify();
            Ok(())
        }
    }

    /// The hub's side, as `Poller::poll` runs it, until `done` is satisfied
    /// with the wake-ups posted so far: it spins first when `spin` says so
    /// (one round of looks), then waits parked ("in `epoll_wait`") for the
    /// eventfd unless something was posted, then takes. Gives how often it
    /// raised `parked` (whether it then blocked or not).
    pub(crate) fn hub_takes(
        inbox: &super::RemoteInbox,
        spin: bool,
        mut done: impl FnMut(&[(usize, u64)]) -> bool,
    ) -> usize {
        let mut posted = Vec::new();
        let mut parks = 0;
        while !done(&posted) {
            let spun = spin && inbox.spin(|| false);
            let timeout = spun.then_some(std::time::Duration::ZERO);
            parks += usize::from(timeout.is_none());
            inbox.parked(timeout, |timeout| {
                if timeout.is_none() {
                    inbox.waker.written.wait();
                }
            });
            if let Some(taken) = inbox.take() {
                posted.extend(taken.posted);
            }
        }
        parks
    }

    mod tests {
        use super::super::RemoteInbox;
        use super::{Eventfd, hub_takes};
        use crate::sync::atomic::Ordering;
        use crate::sync::{Arc, model};

        fn posts_arrive(posters: usize, spin: bool) {
            model(move || {
                let inbox = Arc::new(RemoteInbox::new(Eventfd::default()));
                let threads: Vec<_> = (0..posters)
                    .map(|i| {
                        let inbox = inbox.clone();
                        loom::thread::spawn(move || inbox.post(i, 10 + i as u64))
                    })
                    .collect();
                let mut got = Vec::new();
                let parks = hub_takes(&inbox, spin, |posted| {
                    got = posted.to_vec();
                    got.len() == posters
                });
                got.sort_unstable();
                let expected: Vec<_> = (0..posters).map(|i| (i, 10 + i as u64)).collect();
                assert_eq!(got, expected);
                threads.into_iter().for_each(|t| t.join().unwrap());
                // Written only for a hub that raised `parked`, once each time.
                assert!(inbox.waker.writes.load(Ordering::Relaxed) <= parks);
            });
        }

        #[test]
        fn loom_inbox_a_post_wakes_a_parked_hub() {
            posts_arrive(1, false);
        }

        #[test]
        fn loom_inbox_two_posters_wake_the_hub_once_per_park() {
            posts_arrive(2, false);
        }

        #[test]
        fn loom_inbox_a_post_during_the_spin_is_taken() {
            posts_arrive(1, true);
        }

        #[cfg(feature = "http")]
        #[test]
        fn loom_inbox_a_release_reaches_the_hub() {
            model(|| {
                let inbox = Arc::new(RemoteInbox::new(Eventfd::default()));
                let poster = inbox.clone();
                let thread = loom::thread::spawn(move || {
                    let fd = std::fs::File::open("/dev/null").expect("/dev/null opens");
                    poster.release(3, Box::new(fd));
                });
                loop {
                    inbox.parked(None, |timeout| {
                        if timeout.is_none() {
                            inbox.waker.written.wait();
                        }
                    });
                    if let Some(taken) = inbox.take() {
                        let slots: Vec<_> = taken.released.iter().map(|(slot, _)| *slot).collect();
                        assert_eq!(slots, [3]);
                        break;
                    }
                }
                thread.join().unwrap();
            });
        }
    }
}
