//! Green `std::thread`: `spawn`, `sleep` and `yield_now` act on green threads
//! (Eventlet's `eventlet.green.thread`).
//!
//! Code written against `std::thread` compiles unchanged against this module
//! (that is what `#[green]` relies on): [`spawn()`] gives a [`JoinHandle`] (a
//! [`GreenThread`]) whose `join` returns [`std::thread::Result`], and
//! [`Builder`] has std's signatures. The plain items of `std::thread`
//! ([`current`], [`ThreadId`], [`Result`], [`panicking`]...) are re-exported
//! and still describe the OS thread, which all its green threads share.
//!
//! Left out on purpose, so patched code fails to compile instead of blocking
//! the hub or breaking a guarantee: `park`/`park_timeout`/`Thread::unpark`
//! (use [`Event`](crate::Event) or [`GreenThread::wait`]), and
//! `scope` (green threads need `'static`).
//! Closures given to [`spawn()`] need `'static` but not `Send`.
//!
//! ```
//! use eventlet_rt::green::thread;
//! use std::time::Duration;
//!
//! let handles: Vec<thread::JoinHandle<u64>> = (1..=3)
//!     .map(|i| thread::spawn(move || {
//!         thread::sleep(Duration::from_millis(10 * i));
//!         i * i
//!     }))
//!     .collect();
//! let squares: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
//! assert_eq!(squares, [1, 4, 9]);
//! ```

use std::io;
use std::time::Instant;

use crate::GreenThread;

pub use crate::{sleep, spawn, yield_now};
pub use std::thread::{
    AccessError, LocalKey, Result, Thread, ThreadId, available_parallelism, current, panicking,
};

/// The handle [`spawn()`] returns: a [`GreenThread`], joined with
/// [`GreenThread::join`].
///
/// ```
/// let handle: eventlet_rt::green::thread::JoinHandle<&str> =
///     eventlet_rt::green::thread::spawn(|| "done");
/// assert!(!handle.is_finished());
/// assert_eq!(handle.join().unwrap(), "done");
/// ```
pub type JoinHandle<T> = GreenThread<T>;

/// Blocks the calling green thread until `deadline`; the others run meanwhile.
///
/// ```
/// use std::time::{Duration, Instant};
/// let deadline = Instant::now() + Duration::from_millis(15);
/// eventlet_rt::green::thread::sleep_until(deadline);
/// assert!(Instant::now() >= deadline);
/// ```
pub fn sleep_until(deadline: Instant) {
    let now = Instant::now();
    if deadline > now {
        sleep(deadline - now);
    }
}

/// `std::thread::Builder` for green threads: a name and a stack size.
///
/// `spawn` returns `io::Result` as std's does; it does not fail today, but
/// std-style `.spawn(f)?` / `.unwrap()` keeps compiling.
///
/// ```
/// use eventlet_rt::green::thread;
/// let handle = thread::Builder::new()
///     .name("worker".to_string())
///     .stack_size(256 * 1024)
///     .spawn(|| 40 + 2)?;
/// assert_eq!(handle.name().as_deref(), Some("worker"));
/// assert_eq!(handle.join().unwrap(), 42);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Default, Clone)]
#[must_use = "a Builder does nothing until `spawn` is called"]
pub struct Builder {
    inner: crate::Builder,
}

impl Builder {
    /// A builder with the hub's defaults.
    ///
    /// ```
    /// let handle = eventlet_rt::green::thread::Builder::new().spawn(|| 1)?;
    /// assert_eq!(handle.join().unwrap(), 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the green thread.
    ///
    /// ```
    /// let builder = eventlet_rt::green::thread::Builder::new().name("a".into());
    /// assert_eq!(builder.spawn(|| ())?.name().as_deref(), Some("a"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn name(self, name: String) -> Builder {
        Builder {
            inner: self.inner.name(name),
        }
    }

    /// Sets the stack size in bytes; see [`crate::Builder::stack_size`].
    ///
    /// # Panics
    /// If `size` is below [`MIN_STACK_SIZE`](crate::MIN_STACK_SIZE).
    ///
    /// ```
    /// let builder = eventlet_rt::green::thread::Builder::new().stack_size(1 << 20);
    /// assert_eq!(builder.spawn(|| 5)?.join().unwrap(), 5);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stack_size(self, size: usize) -> Builder {
        Builder {
            inner: self.inner.stack_size(size),
        }
    }

    /// Spawns the green thread.
    ///
    /// ```
    /// let handle = eventlet_rt::green::thread::Builder::new().spawn(|| "hi")?;
    /// assert_eq!(handle.join().unwrap(), "hi");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn spawn<F, T>(self, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + 'static,
        T: 'static,
    {
        Ok(self.inner.spawn(f))
    }
}
