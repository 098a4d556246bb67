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
//! accesses carries the argument. The waiter (in [`Table::enter`]) pushes itself
//! under the bucket's lock (and stores the bucket's new length in its
//! `waiting`), then runs a `SeqCst` fence, then loads the word and parks
//! only if it still holds the expected value. The waker (std's unlock)
//! changes the word, then calls `FUTEX_WAKE`, whose hook ([`Table::wake`]) runs a
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
//! A waiter leaves the table itself ([`Table::leave`]) only under the bucket's
//! lock, so a wake either took it (and counts it as woken: it will run
//! std's loop again) or did not see it; a wake is never spent on a waiter
//! that already timed out or went away.

use std::cell::UnsafeCell;

use smallvec::SmallVec;

use crate::hub::RemoteWaker;
use crate::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};

/// How many buckets the addresses hash into.
const BUCKETS: usize = 64;

/// How a parked waiter is woken: its hub's remote wake-up, or in the loom
/// model, a flag.
pub(super) trait Wake {
    fn wake(self);
}

impl Wake for RemoteWaker {
    fn wake(self) {
        RemoteWaker::wake(self);
    }
}

/// A green thread parked in a futex wait.
struct Waiter<W> {
    address: usize,
    id: usize,
    waker: W,
}

struct Bucket<W> {
    locked: AtomicBool,
    /// The length of `waiters`, stored under the lock and read without it
    /// (see the module's doc): a wake that finds 0 goes straight to the
    /// kernel.
    waiting: AtomicUsize,
    waiters: UnsafeCell<Vec<Waiter<W>>>,
}

// SAFETY: `waiters` is only reached by `Bucket::with`, under `locked`, so one
// thread at a time touches it; the wakers are `Send`.
unsafe impl<W: Send> Sync for Bucket<W> {}

/// The waiters of the whole process, by futex address.
pub(super) struct Table<W> {
    buckets: [Bucket<W>; BUCKETS],
}

/// The process's table (the one the hooks use).
#[cfg(not(all(test, loom)))]
pub(super) static TABLE: Table<RemoteWaker> = Table {
    buckets: [const {
        Bucket {
            locked: AtomicBool::new(false),
            waiting: AtomicUsize::new(0),
            waiters: UnsafeCell::new(Vec::new()),
        }
    }; BUCKETS],
};

#[cfg(all(test, loom))]
loom::lazy_static! {
    /// The process's table (loom's atomics cannot be built in a `const`).
    pub(super) static ref TABLE: Table<RemoteWaker> = Table::new();
}

impl<W> Bucket<W> {
    /// Runs `f` on the bucket's list, under its lock. `f` must not block,
    /// allocate nothing but the list's growth, and drop no waker.
    fn with<R>(&self, f: impl FnOnce(&mut Vec<Waiter<W>>) -> R) -> R {
        let mut spins = 0u32;
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            crate::sync::spin_backoff(&mut spins);
        }
        // SAFETY: the lock is ours until the store below.
        let waiters = unsafe { &mut *self.waiters.get() };
        let result = f(waiters);
        self.waiting.store(waiters.len(), Ordering::Relaxed);
        self.locked.store(false, Ordering::Release);
        result
    }
}

impl<W: Wake> Table<W> {
    /// An empty table (the process's is [`TABLE`]).
    #[cfg(all(test, loom))]
    pub(super) fn new() -> Table<W> {
        Table {
            buckets: std::array::from_fn(|_| Bucket {
                locked: AtomicBool::new(false),
                waiting: AtomicUsize::new(0),
                waiters: UnsafeCell::new(Vec::new()),
            }),
        }
    }

    fn bucket(&self, address: usize) -> &Bucket<W> {
        let hash = (address >> 2).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        &self.buckets[hash >> (usize::BITS - BUCKETS.trailing_zeros())]
    }

    /// Registers the green waiter `id` (unique among the waiters in the
    /// table) on the futex at `address`, woken through `waker`; the caller
    /// loads the futex word after this returns (see the module's doc), and
    /// calls [`Table::leave`] unless `waker` has fired.
    pub(super) fn enter(&self, address: usize, id: usize, waker: W) {
        self.bucket(address).with(|waiters| {
            waiters.push(Waiter { address, id, waker });
        });
        fence(Ordering::SeqCst);
    }

    /// Takes the waiter `id` out of the table; true when it was still there
    /// (no wake took it).
    pub(super) fn leave(&self, address: usize, id: usize) -> bool {
        let removed = self.bucket(address).with(|waiters| {
            let position = waiters.iter().position(|waiter| waiter.id == id)?;
            Some(waiters.remove(position))
        });
        removed.is_some()
    }

    /// Wakes up to `count` green waiters of the futex at `address`, the
    /// longest waiting first; returns how many.
    pub(super) fn wake(&self, address: usize, count: usize) -> usize {
        fence(Ordering::SeqCst);
        let bucket = self.bucket(address);
        if bucket.waiting.load(Ordering::Relaxed) == 0 {
            return 0;
        }
        let woken: SmallVec<[W; 4]> = bucket.with(|waiters| {
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
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn addresses_spread_over_the_buckets() {
        let base = 0x7f00_1234_5000usize;
        let used: std::collections::HashSet<usize> = (0..256)
            .map(|i| TABLE.bucket(base + 8 * i) as *const Bucket<RemoteWaker> as usize)
            .collect();
        assert!(
            used.len() > BUCKETS / 2,
            "{} buckets of {BUCKETS}",
            used.len()
        );
    }
}

/// The no-lost-wake-up argument of the module's doc, run by loom on the
/// table's own code: a waiter registers then reads the futex word; a waker
/// changes the word (std's unlock: a release swap) then wakes.
#[cfg(all(test, loom))]
mod loom_models {
    use super::{Table, Wake};
    use crate::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    use crate::sync::{Arc, model};

    const ADDRESS: usize = 0x1000;

    /// The model's wake-up: a flag the waiter would park on.
    struct Flag(Arc<AtomicBool>);

    impl Wake for Flag {
        fn wake(self) {
            self.0.store(true, Ordering::Release);
        }
    }

    #[test]
    fn loom_futex_table_a_waiter_that_parks_is_woken() {
        model(|| {
            let table = Arc::new(Table::<Flag>::new());
            let word = Arc::new(AtomicU32::new(1));
            let releaser = {
                let (table, word) = (table.clone(), word.clone());
                loom::thread::spawn(move || {
                    word.swap(0, Ordering::Release);
                    table.wake(ADDRESS, 1)
                })
            };
            let woken = Arc::new(AtomicBool::new(false));
            table.enter(ADDRESS, 1, Flag(woken.clone()));
            let parks = word.load(Ordering::Relaxed) == 1;
            let counted = releaser.join().unwrap();
            let unwoken = table.leave(ADDRESS, 1);
            assert!(
                !(parks && unwoken),
                "the waiter parked on a word whose change it was not told of"
            );
            assert_eq!(
                counted == 1,
                !unwoken,
                "a wake counts exactly the waiters it took"
            );
            assert_eq!(woken.load(Ordering::Acquire), !unwoken);
        });
    }

    #[test]
    fn loom_futex_table_a_wake_goes_to_a_waiter_still_there() {
        // One waiter leaves (a timeout) while one wake comes: the wake either
        // took it (and the waiter counts as woken) or finds nobody.
        model(|| {
            let table = Arc::new(Table::<Flag>::new());
            let woken = Arc::new(AtomicBool::new(false));
            table.enter(ADDRESS, 1, Flag(woken.clone()));
            let waker = {
                let table = table.clone();
                loom::thread::spawn(move || table.wake(ADDRESS, 1))
            };
            let unwoken = table.leave(ADDRESS, 1);
            let counted = waker.join().unwrap();
            assert_eq!(counted + usize::from(unwoken), 1);
            assert_eq!(woken.load(Ordering::Acquire), !unwoken);
        });
    }
}
