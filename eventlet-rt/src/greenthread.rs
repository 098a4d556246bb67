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
                self.report_link_panic(&GreenError::Panicked(payload));
            }
        }
    }

    /// A link's panic cannot change the outcome, which is already stored: it
    /// is reported, as an error event when `tracing` listens, else on stderr.
    #[cold]
    fn report_link_panic(&self, panic: &GreenError) {
        let name = self.header.name.borrow().clone();
        let name = name.as_deref().unwrap_or("<unnamed>");
        let spawned_at = self.header.spawned_at;
        if tracing::enabled!(target: "eventlet_rt::greenthread", tracing::Level::ERROR) {
            tracing::error!(
                target: "eventlet_rt::greenthread",
                green_thread = name,
                spawned_at = %spawned_at,
                "a link callback panicked: {panic}"
            );
        } else {
            eprintln!(
                "eventlet-rt: a link callback of green thread '{name}' (spawned at {spawned_at}) \
                 panicked: {panic}"
            );
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
        // The body's captures drop in whoever kills: a destructor that panics
        // becomes this green thread's outcome, not the killer's problem.
        let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| drop(body))) else {
            return self.complete(Err(error));
        };
        if payload.is::<Unwind>() || payload.is::<generator::Error>() {
            // The killer's own kill or timeout, raised by a destructor that blocked.
            self.complete(Err(error));
            panic::resume_unwind(payload);
        }
        self.complete(Err(GreenError::Panicked(payload)));
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
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// The name given with [`Builder::name`] or [`GreenThread::set_name`], if any.
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
    span: Option<tracing::Span>,
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

    /// Runs the green thread inside `span`: the span is entered each time the
    /// green thread is resumed and exited each time it blocks, so events it
    /// emits belong to it, and spans it enters nest under it. Without this,
    /// a green thread runs in a `green_thread` span of level `DEBUG` and
    /// target `eventlet_rt::greenthread` (fields `name`, `spawned_at`) when
    /// a subscriber enables it; the span's parent is the spawner's current span.
    ///
    /// A disabled span (no subscriber interested) costs nothing per switch.
    ///
    /// ```
    /// let request = tracing::info_span!("request", id = 17);
    /// let gt = eventlet_rt::Builder::new().span(request).spawn(|| {
    ///     tracing::info!("handled"); // recorded inside the `request` span
    /// });
    /// gt.wait().unwrap();
    /// ```
    pub fn span(mut self, span: tracing::Span) -> Builder {
        self.span = Some(span);
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

    /// Spawns the green thread without a handle, as [`spawn_n()`].
    #[track_caller]
    pub(crate) fn spawn_n<F>(self, f: F)
    where
        F: FnOnce() + 'static,
    {
        let task: TaskRef = self.build(f);
        hub::current().schedule_new(task);
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
        let spawned_at = Location::caller();
        let span = traced_span(self.span, self.name.as_ref(), spawned_at);
        Rc::new(TaskCell {
            header: Header::new(stack_size, self.name, spawned_at, span, false),
            stage: RefCell::new(Stage::Pending(f)),
            links: RefCell::new(Vec::new()),
        })
    }
}

/// The span a new green thread runs in, if a subscriber wants one. When none
/// does, this costs a load of tracing's global level filter.
#[inline]
fn traced_span(
    span: Option<tracing::Span>,
    name: Option<&Arc<str>>,
    spawned_at: &'static Location<'static>,
) -> Option<Box<tracing::Span>> {
    use tracing::level_filters::{LevelFilter, STATIC_MAX_LEVEL};
    let default_wanted =
        STATIC_MAX_LEVEL >= LevelFilter::DEBUG && LevelFilter::current() >= LevelFilter::DEBUG;
    if span.is_none() && !default_wanted {
        return None;
    }
    enabled_span(span, name, spawned_at)
}

#[cold]
#[inline(never)]
fn enabled_span(
    span: Option<tracing::Span>,
    name: Option<&Arc<str>>,
    spawned_at: &'static Location<'static>,
) -> Option<Box<tracing::Span>> {
    let span = span.unwrap_or_else(|| {
        tracing::debug_span!(
            target: "eventlet_rt::greenthread",
            "green_thread",
            name = tracing::field::Empty,
            spawned_at = %spawned_at,
        )
    });
    if span.is_disabled() {
        return None;
    }
    if let Some(name) = name {
        span.record("name", &**name);
    }
    hub::current().trace_switches();
    Some(Box::new(span))
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
