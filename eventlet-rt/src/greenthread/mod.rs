//! Green threads: `spawn`, `spawn_n`, `spawn_after`, and the `GreenThread` handle.

mod builder;
mod cell;
mod error;
mod span;

use std::any::Any;
use std::fmt;
use std::panic::Location;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use crate::hub;
use crate::task::{Header, State, TaskRef};
use cell::Outcome;

pub use builder::Builder;
pub use error::{GreenError, StackRefused};

/// A handle to a green thread: wait for its result, kill it, link to its end.
///
/// Dropping the handle does not stop the green thread.
///
/// ```
/// let gt = eventlet_rt::spawn(|| 6 * 7);
/// assert!(!gt.is_finished());
/// assert_eq!(gt.wait().unwrap(), 42);
/// ```
pub struct GreenThread<T> {
    task: Rc<dyn Outcome<T>>,
}

impl<T: 'static> GreenThread<T> {
    fn task_ref(&self) -> TaskRef {
        self.task.clone()
    }

    /// Blocks the calling green thread until this one ends, and gives its outcome.
    ///
    /// `Err(GreenError::Killed)` when it was killed, `Err(GreenError::Panicked)`
    /// with the payload when it panicked.
    ///
    /// ```
    /// use std::time::Duration;
    /// let gt = eventlet_rt::spawn(|| {
    ///     eventlet_rt::sleep(Duration::from_millis(5));
    ///     "done"
    /// });
    /// assert_eq!(gt.wait().unwrap(), "done");
    /// ```
    pub fn wait(self) -> Result<T, GreenError> {
        let hub = hub::current();
        let waiting = JoinGuard {
            header: self.task.header(),
        };
        loop {
            if let Some(result) = self.task.take_result() {
                return result;
            }
            *waiting.header.joiner.borrow_mut() = Some(hub.current_task());
            hub.park();
        }
    }

    /// Waits like [`GreenThread::wait`], with the result type of
    /// [`std::thread::JoinHandle::join`], so std-style code runs unchanged on
    /// green threads (see [`green::thread`](crate::green::thread)).
    ///
    /// A panic gives its payload back; a kill gives a payload holding the
    /// `&'static str` `"the green thread was killed"`.
    ///
    /// ```
    /// let ok = eventlet_rt::spawn(|| 7);
    /// assert_eq!(ok.join().unwrap(), 7);
    ///
    /// let panicked = eventlet_rt::spawn(|| -> u32 { panic!("boom") });
    /// let payload = panicked.join().unwrap_err();
    /// assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
    ///
    /// let killed = eventlet_rt::spawn(|| eventlet_rt::sleep(std::time::Duration::from_secs(60)));
    /// killed.kill();
    /// let payload = killed.join().unwrap_err();
    /// assert_eq!(payload.downcast_ref::<&str>(), Some(&"the green thread was killed"));
    /// ```
    pub fn join(self) -> std::thread::Result<T> {
        self.wait().map_err(|error| match error {
            GreenError::Killed => Box::new("the green thread was killed") as Box<dyn Any + Send>,
            GreenError::Panicked(payload) => payload,
            GreenError::StackRefused(refused) => Box::new(refused.to_string()),
        })
    }

    /// Kills the green thread.
    ///
    /// One that has not started never runs; one that is blocked unwinds from
    /// its blocking point the next time the hub runs it (its destructors run);
    /// a green thread that kills itself unwinds at once. `wait` then gives
    /// `Err(GreenError::Killed)`. Killing a finished green thread does nothing.
    ///
    /// ```
    /// use std::time::Duration;
    /// let gt = eventlet_rt::spawn(|| eventlet_rt::sleep(Duration::from_secs(3600)));
    /// eventlet_rt::sleep(Duration::ZERO); // let it start and block
    /// gt.kill();
    /// assert!(gt.wait().unwrap_err().is_killed());
    /// ```
    pub fn kill(&self) {
        hub::current().kill(&self.task_ref());
    }

    /// Kills the green thread only if it has not started yet; true if it did so.
    ///
    /// ```
    /// let gt = eventlet_rt::spawn(|| unreachable!("cancelled before it ran"));
    /// assert!(gt.cancel());
    /// assert!(gt.wait().unwrap_err().is_killed());
    /// ```
    pub fn cancel(&self) -> bool {
        let header = self.task.header();
        if header.started.get() || header.state.get() == State::Done {
            return false;
        }
        self.kill();
        true
    }

    /// Calls `f` with the outcome when the green thread ends (at once if it has).
    ///
    /// Links run in the finishing green thread, in the order they were added,
    /// before `wait` returns. A link that panics cannot change the outcome
    /// (the waiter still gets the green thread's own result): its panic is
    /// reported, as an `ERROR` event of target `eventlet_rt::greenthread` when
    /// a `tracing` subscriber listens, else on stderr, and the other links
    /// still run. A link added after the end runs at once in the caller, so
    /// its panic is the caller's, like any function call's.
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// let seen = Rc::new(Cell::new(0));
    /// let gt = eventlet_rt::spawn(|| 5);
    /// let s = seen.clone();
    /// gt.link(move |outcome| s.set(*outcome.as_ref().unwrap()));
    /// gt.wait().unwrap();
    /// assert_eq!(seen.get(), 5);
    /// ```
    pub fn link(&self, f: impl FnOnce(&Result<T, GreenError>) + 'static) {
        self.task.add_link(Box::new(f));
    }

    /// True once the green thread has ended, whatever the outcome.
    ///
    /// ```
    /// let gt = eventlet_rt::spawn(|| ());
    /// assert!(!gt.is_finished(), "spawned, not run yet");
    /// eventlet_rt::yield_now();
    /// assert!(gt.is_finished());
    /// ```
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// The name given with [`Builder::name`] or [`GreenThread::set_name`], if any.
    ///
    /// ```
    /// let gt = eventlet_rt::Builder::new().name("worker").spawn(|| ());
    /// assert_eq!(gt.name().as_deref(), Some("worker"));
    /// gt.wait().unwrap();
    /// ```
    pub fn name(&self) -> Option<Arc<str>> {
        self.task.header().name.borrow().clone()
    }

    /// Names (or renames) the green thread, started or not: the name shows in
    /// `Debug`, [`hub::snapshot`](crate::hub::snapshot), the blocking
    /// detector's reports and the `eventlet_rt::greenthread` trace events.
    ///
    /// ```
    /// let gt = eventlet_rt::spawn(|| ());
    /// gt.set_name("request 17");
    /// assert_eq!(gt.name().as_deref(), Some("request 17"));
    /// assert!(format!("{gt:?}").contains("request 17"));
    /// gt.wait().unwrap();
    /// ```
    pub fn set_name(&self, name: impl Into<String>) {
        let header = self.task.header();
        let name: Arc<str> = Arc::from(name.into());
        if let Some(span) = &header.span {
            span.record("name", &*name);
        }
        *header.name.borrow_mut() = Some(name);
        hub::current().renamed(header);
    }

    /// Where the green thread was spawned (the caller of `spawn`).
    ///
    /// ```
    /// let gt = eventlet_rt::spawn(|| ());
    /// assert_eq!(gt.spawned_at().line(), line!() - 1);
    /// ```
    pub fn spawned_at(&self) -> &'static Location<'static> {
        self.task.header().spawned_at
    }
}

impl<T> fmt::Debug for GreenThread<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header = self.task.header();
        f.debug_struct("GreenThread")
            .field("name", &header.name.borrow())
            .field("spawned_at", &format_args!("{}", header.spawned_at))
            .field("state", &header.state.get())
            .finish()
    }
}

impl<T> Drop for GreenThread<T> {
    fn drop(&mut self) {
        self.task.detach();
    }
}

/// Clears the joiner when `wait` ends by an unwind (kill, timeout).
struct JoinGuard<'a> {
    header: &'a Header,
}

impl Drop for JoinGuard<'_> {
    fn drop(&mut self) {
        self.header.joiner.borrow_mut().take();
    }
}

/// Spawns `f` as a new green thread and returns its handle.
///
/// The green thread starts once the caller blocks or yields; threads start in
/// the order they were spawned. `f` needs `'static` but not `Send`: green
/// threads share their OS thread and can share data through `Rc<RefCell<..>>`.
///
/// ```
/// use std::{cell::RefCell, rc::Rc};
/// let log = Rc::new(RefCell::new(Vec::new()));
/// let threads: Vec<_> = (0..3)
///     .map(|i| {
///         let log = log.clone();
///         eventlet_rt::spawn(move || log.borrow_mut().push(i))
///     })
///     .collect();
/// for gt in threads {
///     gt.wait().unwrap();
/// }
/// assert_eq!(*log.borrow(), [0, 1, 2]);
/// ```
#[track_caller]
pub fn spawn<F, T>(f: F) -> GreenThread<T>
where
    F: FnOnce() -> T + 'static,
    T: 'static,
{
    Builder::new().spawn(f)
}

/// Spawns `f` as a new green thread without a handle: cheaper than [`spawn()`].
///
/// A panic in `f` is printed by the panic hook and goes no further.
///
/// ```
/// use std::{cell::Cell, rc::Rc};
/// let ran = Rc::new(Cell::new(false));
/// let r = ran.clone();
/// eventlet_rt::spawn_n(move || r.set(true));
/// eventlet_rt::sleep(std::time::Duration::ZERO);
/// assert!(ran.get());
/// ```
#[track_caller]
pub fn spawn_n<F>(f: F)
where
    F: FnOnce() + 'static,
{
    Builder::new().spawn_n(f);
}

/// Spawns `f` as a new green thread that starts after `delay`.
///
/// `cancel` or `kill` before then and it never runs.
///
/// ```
/// use std::time::{Duration, Instant};
/// let start = Instant::now();
/// let gt = eventlet_rt::spawn_after(Duration::from_millis(20), move || start.elapsed());
/// assert!(gt.wait().unwrap() >= Duration::from_millis(20));
/// ```
#[track_caller]
pub fn spawn_after<F, T>(delay: Duration, f: F) -> GreenThread<T>
where
    F: FnOnce() -> T + 'static,
    T: 'static,
{
    Builder::new().spawn_after(delay, f)
}
