//! `Builder`: a green thread's name, stack size and span, set before it is spawned.

use std::panic::Location;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::GreenThread;
use super::cell::TaskCell;
use super::span::traced_span;
use crate::hub::{self, TimerAction};
use crate::task::{Header, Task, TaskRef};

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
    ///
    /// ```
    /// let gt = eventlet_rt::Builder::new().spawn(|| "default stack, no name");
    /// assert_eq!(gt.name(), None);
    /// gt.wait().unwrap();
    /// ```
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the green thread (shown in `Debug` and diagnostics).
    ///
    /// ```
    /// let gt = eventlet_rt::Builder::new().name("fetcher").spawn(|| ());
    /// assert_eq!(gt.name().as_deref(), Some("fetcher"));
    /// gt.wait().unwrap();
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = Some(Arc::from(name.into()));
        self
    }

    /// Sets the stack size in bytes (rounded up to whole pages, plus a guard page).
    ///
    /// # Panics
    /// If `bytes` is below [`MIN_STACK_SIZE`](crate::MIN_STACK_SIZE).
    ///
    /// ```
    /// let deep = eventlet_rt::Builder::new()
    ///     .stack_size(1024 * 1024)
    ///     .spawn(|| std::hint::black_box([0u8; 200 * 1024]).len()); // too big for 128 KiB
    /// assert_eq!(deep.wait().unwrap(), 200 * 1024);
    /// ```
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
    ///
    /// ```
    /// let gt = eventlet_rt::Builder::new().name("adder").spawn(|| 2 + 3);
    /// assert_eq!(gt.wait().unwrap(), 5);
    /// ```
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
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let start = Instant::now();
    /// let gt = eventlet_rt::Builder::new()
    ///     .name("later")
    ///     .spawn_after(Duration::from_millis(10), move || start.elapsed());
    /// assert!(gt.wait().unwrap() >= Duration::from_millis(10));
    /// ```
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
        Rc::new(TaskCell::new(
            Header::new(stack_size, self.name, spawned_at, span, false),
            f,
        ))
    }
}
