//! The green threads parked in a futex wait of std's locks, by futex
//! address, reachable from every OS thread: a `FUTEX_WAKE` on any thread
//! takes them off here and wakes them through their hubs.
//!
//! A fixed array of buckets, each a list behind a spin lock that is held
//! for a push, a search or a removal, never across a call that could block
//! or reach a hook (a waker is fired after its bucket is released, and a
//! removed waiter is dropped after). The spin lock is not a std lock, so no
//! futex wait of the table's own can come back into the `syscall` hook.
//!
//! # No lost wake-up
//! The kernel checks the futex word and queues the waiter atomically (under
//! its hash-bucket lock); here the two steps are apart, so the order of the
//! accesses carries the argument. The waiter (in [`enter`]) pushes itself
//! under the bucket's lock (and stores the bucket's new length in its
//! `waiting`), then runs a `SeqCst` fence, then loads the word and parks
//! only if it still holds the expected value. The waker (std's unlock)
//! changes the word, then calls `FUTEX_WAKE`, whose hook ([`wake`]) runs a
//! `SeqCst` fence, then loads the bucket's `waiting` and, unless it is 0,
//! takes the bucket's lock. The two fences are ordered one way or the
//! other:
//! - the waker's first: the waiter's load, after its own fence, sees the
//!   new word (or a later one), so it does not park;
//! - the waiter's first: every store before it, the length in `waiting`
//!   and the release of the bucket's lock after the push, is seen by the
//!   waker's loads after its fence, so it takes the lock after the push
//!   and finds the waiter.
//!
//! Either way no waiter parks on a word whose change it will not hear of.
//! A waiter leaves the table itself ([`leave`]) only under the bucket's
//! lock, so a wake either took it (and counts it as woken: it will run
//! std's loop again) or did not see it; a wake is never spent on a waiter
//! that already timed out or went away.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};

use smallvec::SmallVec;

use crate::hub::RemoteWaker;

/// How many buckets the addresses hash into.
const BUCKETS: usize = 64;

/// A green thread parked in a futex wait.
struct Waiter {
    address: usize,
    id: usize,
    waker: RemoteWaker,
}

struct Bucket {
    locked: AtomicBool,
    /// The length of `waiters`, stored under the lock and read without it
    /// (see the module's doc): a wake that finds 0 goes straight to the
    /// kernel.
    waiting: AtomicUsize,
    waiters: UnsafeCell<Vec<Waiter>>,
}

// SAFETY: `waiters` is only reached by `Bucket::with`, under `locked`, so one
// thread at a time touches it; `RemoteWaker` is `Send`.
unsafe impl Sync for Bucket {}

static TABLE: [Bucket; BUCKETS] = [const {
    Bucket {
        locked: AtomicBool::new(false),
        waiting: AtomicUsize::new(0),
        waiters: UnsafeCell::new(Vec::new()),
    }
}; BUCKETS];

fn bucket(address: usize) -> &'static Bucket {
    let hash = (address >> 2).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    &TABLE[hash >> (usize::BITS - BUCKETS.trailing_zeros())]
}

impl Bucket {
    /// Runs `f` on the bucket's list, under its lock. `f` must not block,
    /// allocate nothing but the list's growth, and drop no waker.
    fn with<R>(&self, f: impl FnOnce(&mut Vec<Waiter>) -> R) -> R {
        let mut spins = 0u32;
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                // The holder may have been preempted: let it run.
                std::thread::yield_now();
            }
        }
        // SAFETY: the lock is ours until the store below.
        let waiters = unsafe { &mut *self.waiters.get() };
        let result = f(waiters);
        self.waiting.store(waiters.len(), Ordering::Relaxed);
        self.locked.store(false, Ordering::Release);
        result
    }
}

/// Registers the green waiter `id` (unique among the waiters in the table)
/// on the futex at `address`, woken through `waker`; the caller loads the
/// futex word after this returns (see the module's doc), and calls
/// [`leave`] unless `waker` has fired.
pub(super) fn enter(address: usize, id: usize, waker: RemoteWaker) {
    bucket(address).with(|waiters| {
        waiters.push(Waiter { address, id, waker });
    });
    fence(Ordering::SeqCst);
}

/// Takes the waiter `id` out of the table; true when it was still there
/// (no wake took it).
pub(super) fn leave(address: usize, id: usize) -> bool {
    let removed = bucket(address).with(|waiters| {
        let position = waiters.iter().position(|waiter| waiter.id == id)?;
        Some(waiters.remove(position))
    });
    removed.is_some()
}

/// Wakes up to `count` green waiters of the futex at `address`, the longest
/// waiting first; returns how many.
pub(super) fn wake(address: usize, count: usize) -> usize {
    fence(Ordering::SeqCst);
    let bucket = bucket(address);
    if bucket.waiting.load(Ordering::Relaxed) == 0 {
        return 0;
    }
    let woken: SmallVec<[RemoteWaker; 4]> = bucket.with(|waiters| {
        let mut woken = SmallVec::new();
        let mut index = 0;
        while index < waiters.len() && woken.len() < count {
            if waiters[index].address == address {
                woken.push(waiters.remove(index).waker);
            } else {
                index += 1;
            }
        }
        woken
    });
    let how_many = woken.len();
    for waker in woken {
        waker.wake();
    }
    how_many
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_spread_over_the_buckets() {
        let base = 0x7f00_1234_5000usize;
        let used: std::collections::HashSet<usize> = (0..256)
            .map(|i| bucket(base + 8 * i) as *const Bucket as usize)
            .collect();
        assert!(
            used.len() > BUCKETS / 2,
            "{} buckets of {BUCKETS}",
            used.len()
        );
    }
}
