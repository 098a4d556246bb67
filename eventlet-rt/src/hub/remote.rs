//! Wake-ups that cross OS threads: a pool job finishing, a value sent to a
//! `Send` channel from another hub, a green thread started on another hub.
//!
//! Green primitives are `!Send`; the only way into a hub from another thread
//! is a [`RemoteWaker`], which posts to the hub's inbox and wakes its poller
//! through a `mio::Waker`. No polling loop is involved. A waker fired on its
//! own hub's thread skips the inbox and unparks the green thread directly.
//!
//! [`wait_on`] builds a blocking wait for any state behind a `Mutex` on top:
//! a green caller parks (only itself) until a [`RemoteWaker`] fires, a plain
//! OS thread (one without a hub) parks the thread. Checking the state and
//! queueing the waiter happen under the same lock that wakers take, so no
//! wake-up can be lost.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use super::poller::RemoteWait;
use super::remote_inbox::RemoteInbox;
use super::{current, existing};
use crate::sync::thread::{self, Thread};
use crate::sync::{self, Mutex};

pub(crate) use crate::sync::lock_unpoisoned;

/// The green side of a remote wake-up: created by the green thread that will wait.
pub(crate) struct RemoteCompletion {
    wait: RemoteWait,
}

/// The other thread's side: wakes the green thread once.
pub(crate) struct RemoteWaker {
    slot: usize,
    seq: u64,
    inbox: Arc<RemoteInbox>,
}

impl RemoteCompletion {
    /// Expects one wake-up for the calling green thread.
    pub(crate) fn new() -> (RemoteCompletion, RemoteWaker) {
        let hub = current();
        let wait = hub.poller.expect_remote(hub.current_task());
        let waker = RemoteWaker {
            slot: wait.slot,
            seq: wait.seq,
            inbox: wait.inbox.clone(),
        };
        (RemoteCompletion { wait }, waker)
    }

    /// Parks the calling green thread until the waker has fired.
    ///
    /// A kill or timeout unwinds out of here; the other thread's later wake-up
    /// then finds nobody and is ignored.
    pub(crate) fn wait(self) {
        self.wait_until(None);
    }

    /// Parks the calling green thread until the waker has fired (true) or
    /// `deadline` has passed (false); unwinds like [`RemoteCompletion::wait`].
    pub(crate) fn wait_until(&self, deadline: Option<Instant>) -> bool {
        let hub = current();
        while !self.is_woken() {
            if !hub.park_until(deadline) {
                return self.is_woken();
            }
        }
        true
    }

    /// Parks the calling green thread once: until the waker fires or
    /// anything else on this hub unparks it. True when the waker has fired.
    pub(crate) fn park_once(&self) -> bool {
        if !self.is_woken() {
            current().park();
        }
        self.is_woken()
    }

    fn is_woken(&self) -> bool {
        current().poller.remote_woken(&self.wait)
    }
}

impl Drop for RemoteCompletion {
    fn drop(&mut self) {
        current().poller.forget_remote(&self.wait);
    }
}

impl RemoteWaker {
    /// A waker of the remote wait (`slot`, `seq`) of the hub whose inbox is
    /// `inbox`, for the loom models (which have no hub to expect it).
    #[cfg(all(test, loom))]
    pub(crate) fn for_model(slot: usize, seq: u64, inbox: Arc<RemoteInbox>) -> RemoteWaker {
        RemoteWaker { slot, seq, inbox }
    }

    /// Wakes the waiting green thread; callable from any OS thread.
    pub(crate) fn wake(self) {
        self.wake_by_ref();
    }

    /// Wakes the waiting green thread and keeps the waker, for waits woken
    /// more than once (`block_on`: the wait stays registered until it ends,
    /// and the waiter re-checks its own condition after each wake-up).
    pub(crate) fn wake_by_ref(&self) {
        match existing() {
            // On the waiter's own hub: no inbox, no system call.
            Some(hub) if Arc::ptr_eq(hub.inbox(), &self.inbox) => {
                if let Some(task) = hub.poller.wake_remote_here(self.slot, self.seq) {
                    hub.unpark(&task);
                }
            }
            _ => self.inbox.post(self.slot, self.seq),
        }
    }
}

/// A waiter that any OS thread can wake: a green thread, through its hub,
/// or a plain OS thread, unparked.
pub(crate) enum Wakeup {
    Green(RemoteWaker),
    Thread(Thread),
}

impl Wakeup {
    fn wake(self) {
        match self {
            Wakeup::Green(waker) => waker.wake(),
            Wakeup::Thread(thread) => thread.unpark(),
        }
    }
}

/// The waiters of one condition of a `Mutex`-protected state, in arrival
/// order. A waiter is woken by being taken off the queue.
pub(crate) struct WaitQueue {
    waiters: VecDeque<(u64, Wakeup)>,
    next_ticket: u64,
}

impl WaitQueue {
    pub(crate) const fn new() -> WaitQueue {
        WaitQueue {
            waiters: VecDeque::new(),
            next_ticket: 0,
        }
    }

    fn push(&mut self, wakeup: Wakeup) -> u64 {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.waiters.push_back((ticket, wakeup));
        ticket
    }

    /// Takes a waiter off the queue; false when a waker already had.
    fn remove(&mut self, ticket: u64) -> bool {
        match self.waiters.iter().position(|(t, _)| *t == ticket) {
            Some(at) => {
                self.waiters.remove(at);
                true
            }
            None => false,
        }
    }

    /// True when nobody waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.waiters.is_empty()
    }

    /// Wakes the longest waiter, if any.
    pub(crate) fn wake_one(&mut self) {
        if let Some((_, wakeup)) = self.waiters.pop_front() {
            wakeup.wake();
        }
    }

    /// Wakes every waiter.
    pub(crate) fn wake_all(&mut self) {
        self.waiters.drain(..).for_each(|(_, wakeup)| wakeup.wake());
    }
}

/// Blocks the caller until `ready` finds what it waits for in the state
/// behind `state` (`Some`), or until `deadline` passes (`ready`'s last word).
///
/// Between checks the caller sits on the [`WaitQueue`] that `queue` picks out
/// of the state, and whoever changes the state wakes it from there. Inside a
/// thread that has a hub, only the calling green thread (or the hub's main
/// context) parks, and a kill or timeout unwinds out of the wait; a wake-up
/// it received but could not use is passed on to the next waiter. On a
/// plain OS thread the thread itself parks.
pub(crate) fn wait_on<S, R>(
    state: &Mutex<S>,
    queue: fn(&mut S) -> &mut WaitQueue,
    deadline: Option<Instant>,
    mut ready: impl FnMut(&mut S) -> Option<R>,
) -> Option<R> {
    let green = existing().is_some();
    loop {
        let mut guard = sync::lock(state);
        if let Some(found) = ready(&mut guard) {
            return Some(found);
        }
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            return None;
        }
        if green {
            let (completion, waker) = RemoteCompletion::new();
            let ticket = queue(&mut guard).push(Wakeup::Green(waker));
            drop(guard);
            let queued = Queued {
                state,
                queue,
                ticket,
            };
            completion.wait_until(deadline);
            drop(queued);
        } else {
            let ticket = queue(&mut guard).push(Wakeup::Thread(thread::current()));
            drop(guard);
            let queued = Queued {
                state,
                queue,
                ticket,
            };
            match deadline {
                Some(deadline) => {
                    thread::park_timeout(deadline.saturating_duration_since(Instant::now()))
                }
                None => thread::park(),
            }
            drop(queued);
        }
    }
}

/// A waiter's place on a [`WaitQueue`]: leaving, it takes itself off, or,
/// when a waker already took it off, wakes the next waiter in its stead
/// (the caller re-checks the state and may queue again).
struct Queued<'a, S> {
    state: &'a Mutex<S>,
    queue: fn(&mut S) -> &mut WaitQueue,
    ticket: u64,
}

impl<S> Drop for Queued<'_, S> {
    fn drop(&mut self) {
        let mut guard = sync::lock(self.state);
        let queue = (self.queue)(&mut guard);
        if !queue.remove(self.ticket) && std::thread::panicking() {
            queue.wake_one();
        }
    }
}

/// The loom models of remote waits: [`wait_on`]'s queue hand-off between
/// plain threads, and a green waiter's wake-up crossing its hub's inbox.
#[cfg(all(test, loom))]
mod loom_models {
    use super::{RemoteInbox, RemoteWaker, WaitQueue, Wakeup, wait_on};
    use crate::hub::remote_inbox::loom_models::{Eventfd, hub_takes};
    use crate::sync::{self, Arc, Mutex, model};

    struct Tokens {
        left: usize,
        waiters: WaitQueue,
    }

    fn tokens() -> Arc<Mutex<Tokens>> {
        Arc::new(Mutex::new(Tokens {
            left: 0,
            waiters: WaitQueue::new(),
        }))
    }

    /// Waits for a token and takes it.
    fn take_one(state: &Mutex<Tokens>, deadline: Option<std::time::Instant>) -> Option<()> {
        wait_on(
            state,
            |s| &mut s.waiters,
            deadline,
            |s| s.left.checked_sub(1).map(|left| s.left = left),
        )
    }

    fn give(state: &Mutex<Tokens>, tokens: usize) {
        let mut state = sync::lock(state);
        for _ in 0..tokens {
            state.left += 1;
            state.waiters.wake_one();
        }
    }

    #[test]
    fn loom_wait_on_every_waiter_gets_its_token() {
        model(|| {
            let state = tokens();
            let waiters: Vec<_> = (0..2)
                .map(|_| {
                    let state = state.clone();
                    loom::thread::spawn(move || take_one(&state, None))
                })
                .collect();
            give(&state, 1);
            give(&state, 1);
            for waiter in waiters {
                assert_eq!(waiter.join().unwrap(), Some(()));
            }
            assert_eq!(sync::lock(&state).left, 0);
        });
    }

    #[test]
    fn loom_a_green_waiters_wake_up_crosses_its_hubs_inbox() {
        model(|| {
            let inbox = std::sync::Arc::new(RemoteInbox::new(Eventfd::default()));
            let state = tokens();
            let giver = {
                let state = state.clone();
                loom::thread::spawn(move || give(&state, 1))
            };
            // The green side of `wait_on`: checked, and queued with a
            // `RemoteWaker` of this hub, under the lock.
            let queued = {
                let mut guard = sync::lock(&state);
                let empty = guard.left == 0;
                if empty {
                    let waker = RemoteWaker {
                        slot: 4,
                        seq: 9,
                        inbox: inbox.clone(),
                    };
                    guard.waiters.push(Wakeup::Green(waker));
                }
                empty
            };
            if queued {
                // The hub runs its loop until the wake-up of (4, 9) comes.
                hub_takes(&inbox, true, |posted| posted.contains(&(4, 9)));
            }
            giver.join().unwrap();
            assert_eq!(
                sync::lock(&state).left,
                1,
                "the token waits for the woken waiter"
            );
        });
    }
}
