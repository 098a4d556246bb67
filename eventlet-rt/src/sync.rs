//! Where the cross-thread protocols take their locks, atomics and thread
//! parking from: std's in every normal build, loom's in the crate's own
//! tests built with `--cfg loom`, so that the loom models run the protocol
//! code itself (as tokio does). Modules that other OS threads reach (the
//! remote inbox, remote waits, the remote green thread's outcome slot,
//! `green::mpsc`) use these names instead of `std::sync`'s.
//!
//! The loom build is for the models only (`RUSTFLAGS="--cfg loom" cargo test
//! -p eventlet-rt --lib loom`, see `ARCHITECTURE.md`): loom's types panic
//! outside `loom::model`.

#[cfg(all(test, loom))]
pub(crate) use loom::sync::{Arc, Mutex, MutexGuard, atomic};
#[cfg(not(all(test, loom)))]
pub(crate) use std::sync::{Arc, Mutex, MutexGuard, atomic};

#[cfg(all(test, loom))]
pub(crate) use once_lock::OnceLock;
/// A value set once and read from any thread: std's `OnceLock`, or in a
/// loom build a stand-in with the same methods whose hand-over loom checks.
#[cfg(not(all(test, loom)))]
pub(crate) use std::sync::OnceLock;

/// Parking a plain OS thread (one without a hub) and waking it.
pub(crate) mod thread {
    #[cfg(all(test, loom))]
    pub(crate) use loom::thread::{Thread, current, park};
    #[cfg(not(all(test, loom)))]
    pub(crate) use std::thread::{Thread, current, park, park_timeout};

    /// Under loom, a timed park returns at once: a spurious wake-up, which
    /// every caller of `park_timeout` must handle anyway.
    #[cfg(all(test, loom))]
    pub(crate) fn park_timeout(_: std::time::Duration) {
        loom::thread::yield_now();
    }
}

/// A spin-wait hint: a yield to the other threads under loom.
#[cfg(all(test, loom))]
pub(crate) use loom::hint::spin_loop;
#[cfg(not(all(test, loom)))]
pub(crate) use std::hint::spin_loop;

/// One step of waiting for a spin lock another thread holds (`spins`
/// counts the steps): a spin-wait hint for the first 64, then a yield of
/// the OS thread, since the holder may have been preempted. The yield is
/// `sched_yield`, async-signal-safe, so a fault handler may wait this way.
pub(crate) fn spin_backoff(spins: &mut u32) {
    *spins += 1;
    if *spins < 64 {
        spin_loop();
    } else {
        #[cfg(all(test, loom))]
        loom::thread::yield_now();
        #[cfg(not(all(test, loom)))]
        std::thread::yield_now();
    }
}

/// `OnceLock` for the loom models: the value is written once, then
/// published by a release store of `SET` that readers acquire, so loom sees
/// (and checks) the hand-over that std's `OnceLock` makes.
#[cfg(all(test, loom))]
mod once_lock {
    use loom::cell::UnsafeCell;
    use loom::sync::atomic::{AtomicU8, Ordering};

    const EMPTY: u8 = 0;
    const WRITING: u8 = 1;
    const SET: u8 = 2;

    pub(crate) struct OnceLock<T> {
        state: AtomicU8,
        value: UnsafeCell<Option<T>>,
    }

    // SAFETY: as std's `OnceLock`: the value is written by one thread
    // before `SET` is published and only read (shared) after.
    unsafe impl<T: Send + Sync> Sync for OnceLock<T> {}

    impl<T> OnceLock<T> {
        pub(crate) fn new() -> OnceLock<T> {
            OnceLock {
                state: AtomicU8::new(EMPTY),
                value: UnsafeCell::new(None),
            }
        }

        pub(crate) fn get(&self) -> Option<&T> {
            if self.state.load(Ordering::Acquire) != SET {
                return None;
            }
            // SAFETY: `SET` was stored (release) after the only write, and
            // nothing writes the value again.
            self.value.with(|value| unsafe { (*value).as_ref() })
        }

        pub(crate) fn set(&self, value: T) -> Result<(), T> {
            if self
                .state
                .compare_exchange(EMPTY, WRITING, Ordering::Acquire, Ordering::Acquire)
                .is_err()
            {
                return Err(value);
            }
            // SAFETY: only the thread that moved the state off `EMPTY`
            // writes, and nobody reads before `SET`.
            self.value.with_mut(|slot| unsafe { *slot = Some(value) });
            self.state.store(SET, Ordering::Release);
            Ok(())
        }

        /// As std's, except that `init` may run on a thread that then
        /// loses the race (its value is dropped); a loser waits for the
        /// winner's value by yielding.
        pub(crate) fn get_or_init(&self, init: impl FnOnce() -> T) -> &T {
            if self.get().is_none() {
                let _ = self.set(init());
            }
            loop {
                if let Some(value) = self.get() {
                    return value;
                }
                loom::thread::yield_now();
            }
        }
    }
}

/// Locks `lock`, whatever a panicking holder left: every state guarded this
/// way is updated in single steps that a panic cannot cut in half.
///
/// The OS thread is marked as taking one of the runtime's locks while it
/// waits for it ([`taking_runtime_lock`]): `monkey_patch`'s futex hook then
/// leaves the wait to the kernel, so the runtime's own locks (the hubs'
/// inboxes, remote waits) never park a green thread, and the wake-ups the
/// hook fires never wait on a green thread.
pub(crate) fn lock_unpoisoned<S: ?Sized>(
    lock: &std::sync::Mutex<S>,
) -> std::sync::MutexGuard<'_, S> {
    let outer = TAKING_RUNTIME_LOCK.try_with(|taking| taking.replace(true));
    let guard = lock
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Ok(outer) = outer {
        let _ = TAKING_RUNTIME_LOCK.try_with(|taking| taking.set(outer));
    }
    guard
}

std::thread_local! {
    static TAKING_RUNTIME_LOCK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the calling OS thread waits for one of the runtime's own locks
/// (in [`lock_unpoisoned`]) right now; true during thread-local teardown.
pub(crate) fn taking_runtime_lock() -> bool {
    TAKING_RUNTIME_LOCK
        .try_with(std::cell::Cell::get)
        .unwrap_or(true)
}

/// [`lock_unpoisoned`] for this module's [`Mutex`] (loom's in a loom build).
#[cfg(not(all(test, loom)))]
pub(crate) use lock_unpoisoned as lock;

/// [`lock_unpoisoned`] for this module's [`Mutex`] (loom's in a loom build).
#[cfg(all(test, loom))]
pub(crate) fn lock<S>(lock: &Mutex<S>) -> MutexGuard<'_, S> {
    lock.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs a loom model with the preemption bound set by `LOOM_MAX_PREEMPTIONS`,
/// 3 when unset: enough for every protocol here to fail when broken, and
/// small enough for the whole set to run in CI.
#[cfg(all(test, loom))]
pub(crate) fn model(body: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    builder.check(body);
}
