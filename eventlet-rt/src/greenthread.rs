//! Green threads: `spawn`, `spawn_n`, `spawn_after`, and the `GreenThread` handle.

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::panic::Location;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::hub::{self, TimerAction};
use crate::task::{Header, State, Task, TaskRef, Unwind};

/// How a green thread ended when it did not return a value.
pub enum GreenError {
    /// It was killed (`kill`, `cancel`) before it could return.
    Killed,
    /// It panicked; the payload is the value given to `panic!`.
    Panicked(Box<dyn Any + Send + 'static>),
}

impl GreenError {
    /// The panic message, when the payload is a string (what `panic!` makes).
    ///
    /// ```
    /// let gt = eventlet_rt::spawn(|| -> u32 { panic!("boom {}", 7) });
    /// let error = gt.wait().unwrap_err();
    /// assert_eq!(error.panic_message(), Some("boom 7"));
    /// ```
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            GreenError::Killed => None,
            GreenError::Panicked(payload) => payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&'static str>().copied()),
        }
    }

    /// True for [`GreenError::Killed`].
    pub fn is_killed(&self) -> bool {
        matches!(self, GreenError::Killed)
    }
}

impl fmt::Debug for GreenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GreenError::Killed => f.write_str("Killed"),
            GreenError::Panicked(_) => match self.panic_message() {
                Some(message) => f.debug_tuple("Panicked").field(&message).finish(),
                None => f.write_str("Panicked(..)"),
            },
        }
    }
}

impl fmt::Display for GreenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GreenError::Killed => f.write_str("the green thread was killed"),
            GreenError::Panicked(_) => match self.panic_message() {
                Some(message) => write!(f, "the green thread panicked: {message}"),
                None => f.write_str("the green thread panicked"),
            },
        }
    }
}

impl std::error::Error for GreenError {}

type Link<T> = Box<dyn FnOnce(&Result<T, GreenError>)>;

enum Stage<F, T> {
    Pending(F),
    Running,
    Finished(Result<T, GreenError>),
    Taken,
}

/// A green thread's body, its outcome and its links, in one allocation.
struct TaskCell<F, T> {
    header: Header,
    stage: RefCell<Stage<F, T>>,
    links: RefCell<Vec<Link<T>>>,
}

impl<F: FnOnce() -> T + 'static, T: 'static> TaskCell<F, T> {
    fn complete(&self, result: Result<T, GreenError>) {
        if let Err(error) = &result {
            tracing::debug!(
                target: "eventlet_rt::greenthread",
                name = ?self.header.name.borrow(),
                spawned_at = %self.header.spawned_at,
                "green thread ended: {error}"
            );
        }
        *self.stage.borrow_mut() = Stage::Finished(result);
        self.call_links();
        let header = &self.header;
        header.state.set(State::Done);
        let hub = hub::current();
        if header.started.get() {
            hub.retire(header.live_slot.get());
        }
        let joiner = header.joiner.borrow_mut().take();
        if let Some(joiner) = joiner {
            hub.unpark(&joiner);
        }
    }

    fn call_links(&self) {
        loop {
            let next = {
                let mut links = self.links.borrow_mut();
                if links.is_empty() {
                    return;
                }
                links.remove(0)
            };
            let stage = self.stage.borrow();
            let Stage::Finished(result) = &*stage else {
                unreachable!("links run after the outcome is stored")
            };
            if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| next(result)))
                && !payload.is::<Unwind>()
            {
                eprintln!(
                    "eventlet-rt: a link callback panicked: {}",
                    GreenError::Panicked(payload)
                );
            }
        }
    }
}

impl<F: FnOnce() -> T + 'static, T: 'static> Task for TaskCell<F, T> {
    fn header(&self) -> &Header {
        &self.header
    }

    fn run(&self) {
        let body = match std::mem::replace(&mut *self.stage.borrow_mut(), Stage::Running) {
            Stage::Pending(body) => body,
            _ => unreachable!("a green thread's body runs once"),
        };
        let result = match panic::catch_unwind(AssertUnwindSafe(body)) {
            Ok(value) => Ok(value),
            Err(payload) => Err(classify(payload)),
        };
        self.complete(result);
    }

    fn finish_unstarted(&self, error: GreenError) {
        let body = std::mem::replace(&mut *self.stage.borrow_mut(), Stage::Running);
        drop(body);
        self.complete(Err(error));
    }
}

/// Turns the payload of an unwind that ended a green thread into its error.
fn classify(payload: Box<dyn Any + Send>) -> GreenError {
    if payload.is::<generator::Error>() {
        // The generator crate cancels a dropped coroutine with this unwind and
        // must see it arrive at the bottom of the stack.
        panic::resume_unwind(payload);
    }
    match payload.downcast::<Unwind>() {
        Ok(_) => GreenError::Killed,
        Err(payload) => GreenError::Panicked(payload),
    }
}

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

/// The typed side of a task: what `GreenThread<T>` needs besides the header.
trait Outcome<T>: Task {
    fn take_result(&self) -> Option<Result<T, GreenError>>;
    fn is_finished(&self) -> bool;
    fn add_link(&self, link: Link<T>);
}

impl<F: FnOnce() -> T + 'static, T: 'static> Outcome<T> for TaskCell<F, T> {
    fn take_result(&self) -> Option<Result<T, GreenError>> {
        let mut stage = self.stage.borrow_mut();
        if !matches!(*stage, Stage::Finished(_)) || self.header.state.get() != State::Done {
            return None;
        }
        match std::mem::replace(&mut *stage, Stage::Taken) {
            Stage::Finished(result) => Some(result),
            _ => unreachable!(),
        }
    }

    fn is_finished(&self) -> bool {
        matches!(*self.stage.borrow(), Stage::Finished(_) | Stage::Taken)
    }

    fn add_link(&self, link: Link<T>) {
        let stage = self.stage.borrow();
        match &*stage {
            // The shared borrow stays while the link runs: only `take_result`
            // borrows mutably, and it needs the handle that `link` borrows.
            Stage::Finished(result) if self.header.state.get() == State::Done => link(result),
            Stage::Taken => {
                unreachable!("the outcome is only taken by `wait`, which consumes the handle")
            }
            _ => self.links.borrow_mut().push(link),
        }
    }
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
    /// before `wait` returns. A link that panics is reported on stderr and the
    /// others still run.
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
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// The name given with [`Builder::name`], if any.
    pub fn name(&self) -> Option<Arc<str>> {
        self.task.header().name.borrow().clone()
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

/// Clears the joiner when `wait` ends by an unwind (kill, timeout).
struct JoinGuard<'a> {
    header: &'a Header,
}

impl Drop for JoinGuard<'_> {
    fn drop(&mut self) {
        self.header.joiner.borrow_mut().take();
    }
}

/// Configures a green thread before spawning it: name and stack size.
///
/// ```
/// let gt = eventlet_rt::Builder::new()
///     .name("worker-1")
///     .stack_size(256 * 1024)
///     .spawn(|| 1 + 1);
/// assert_eq!(gt.name().as_deref(), Some("worker-1"));
/// assert_eq!(gt.wait().unwrap(), 2);
/// ```
#[derive(Debug, Default, Clone)]
pub struct Builder {
    name: Option<Arc<str>>,
    stack_size: Option<usize>,
}

impl Builder {
    /// A builder with the hub's defaults.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the green thread (shown in `Debug` and diagnostics).
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = Some(Arc::from(name.into()));
        self
    }

    /// Sets the stack size in bytes (rounded up to whole pages, plus a guard page).
    ///
    /// # Panics
    /// If `bytes` is below [`MIN_STACK_SIZE`](crate::MIN_STACK_SIZE).
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = Some(crate::stack_pool::checked_stack_size(bytes));
        self
    }

    /// Spawns the green thread: it runs once the caller blocks or yields.
    #[track_caller]
    pub fn spawn<F, T>(self, f: F) -> GreenThread<T>
    where
        F: FnOnce() -> T + 'static,
        T: 'static,
    {
        let task = self.build(f);
        hub::current().schedule_new(task.clone());
        GreenThread { task }
    }

    /// Spawns the green thread after `delay`.
    #[track_caller]
    pub fn spawn_after<F, T>(self, delay: Duration, f: F) -> GreenThread<T>
    where
        F: FnOnce() -> T + 'static,
        T: 'static,
    {
        let task = self.build(f);
        let hub = hub::current();
        let timer = hub.add_timer(Instant::now() + delay, TimerAction::Schedule(task.clone()));
        task.header().start_timer.set(Some(timer));
        GreenThread { task }
    }

    #[track_caller]
    fn build<F, T>(self, f: F) -> Rc<TaskCell<F, T>>
    where
        F: FnOnce() -> T + 'static,
        T: 'static,
    {
        let stack_size = self
            .stack_size
            .filter(|&bytes| bytes != hub::default_stack_size());
        Rc::new(TaskCell {
            header: Header::new(stack_size, self.name, Location::caller(), false),
            stage: RefCell::new(Stage::Pending(f)),
            links: RefCell::new(Vec::new()),
        })
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
    let task: TaskRef = Builder::new().build(f);
    hub::current().schedule_new(task);
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
