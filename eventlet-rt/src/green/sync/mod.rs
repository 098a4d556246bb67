//! Green `std::sync`: `Mutex`, `RwLock`, `Condvar` and `Barrier` whose waits block only the
//! calling green thread, with std's API, poisoning included; std's other items re-exported.
//!
//! A `std::sync::Mutex` held across a green blocking call (a sleep, a socket read)
//! deadlocks the OS thread as soon as a second green thread locks it: that one blocks the
//! OS thread, so the holder never runs again to unlock. The locks here park the waiting
//! green thread instead, and hand the lock over in arrival order. `#[green]` rewrites
//! `std::sync` paths to this module, so `use std::sync::{Arc, Mutex};` in green code gets
//! std's `Arc` and this `Mutex`.
//!
//! Like the crate's queues, these are for the green threads of one OS thread: they are
//! `!Sync`, so an `Arc<Mutex<T>>` is not `Send` either (use `Rc`, or `Arc` in code written
//! for std). To share data between OS threads, use std's locks, and do not hold them
//! across a green blocking call.
//!
//! Re-exported from std as they are: [`Arc`], [`Weak`], [`atomic`], [`LazyLock`],
//! [`OnceLock`], [`Once`], [`OnceState`], the error types, and [`mpsc`] (the crate's green
//! `mpsc`, not std's). `Once`, `OnceLock` and `LazyLock` block the OS thread
//! when a second green thread asks while the first is still initializing: keep their
//! initializers free of green blocking calls.
//!
//! ```
//! use std::{rc::Rc, time::Duration};
//! use eventlet_rt::green::sync::Mutex;
//!
//! // Two green threads that hold one lock across a sleep: both finish.
//! let counter = Rc::new(Mutex::new(0));
//! let workers: Vec<_> = (0..2)
//!     .map(|_| {
//!         let counter = counter.clone();
//!         eventlet_rt::spawn(move || {
//!             let mut n = counter.lock().unwrap();
//!             eventlet_rt::sleep(Duration::from_millis(5));
//!             *n += 1;
//!         })
//!     })
//!     .collect();
//! workers.into_iter().for_each(|w| w.wait().unwrap());
//! assert_eq!(*counter.lock().unwrap(), 2);
//! ```

mod barrier;
mod condvar;
mod mutex;
mod poison;
mod rwlock;

pub use barrier::{Barrier, BarrierWaitResult};
pub use condvar::{Condvar, WaitTimeoutResult};
pub use mutex::{Mutex, MutexGuard};
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard};
pub use std::sync::{
    Arc, LazyLock, LockResult, Once, OnceLock, OnceState, PoisonError, TryLockError, TryLockResult,
    Weak, atomic,
};

pub use super::mpsc;
