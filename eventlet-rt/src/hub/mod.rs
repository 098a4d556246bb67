//! The hub: one event loop per OS thread that runs its green threads.
//!
//! The hub owns a FIFO run queue, the timers, the `mio` poller and the stack
//! pool. It has no thread of its own: it runs on the stack of the thread's
//! *main* context (the code outside any green thread) whenever that context
//! blocks on a green primitive, and hands control back as soon as the main
//! context can go on. Green threads run one at a time, each until it blocks.
//!
//! The settings here apply to the calling OS thread's hub only.
//!
//! ```
//! use std::time::Duration;
//!
//! eventlet_rt::hub::set_default_stack_size(64 * 1024);
//! let sleeper = eventlet_rt::spawn(|| eventlet_rt::sleep(Duration::from_millis(10)));
//! let stats = eventlet_rt::hub::stats();
//! assert_eq!(stats.queued, 1);
//! sleeper.wait().unwrap();
//! assert_eq!(eventlet_rt::hub::stats().live_green_threads, 0);
//! ```

mod idle;
mod io;
mod io_deadline;
mod observe;
mod poller;
mod prefetch;
mod refusals;
mod remote;
mod remote_inbox;
mod snapshot;
mod teardown;
mod tokio_turns;
mod unwind;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use slab::Slab;

use crate::coro::{self, Coroutine};
#[cfg(feature = "tokio")]
use crate::future::tokio_driver::TokioDriver;
use crate::stack_pool::StackPool;
use crate::task::{Header, Interrupt, MainTask, NeverRan, State, Task, TaskRef};
use crate::timer::{TimerKey, Timers};
use crate::tuning::{
    PREFETCH_FROM_QUEUED, SWITCHES_BETWEEN_POLLS, TIMER_PREFETCH_AHEAD, prefetching,
};
use poller::Poller;
pub(crate) use prefetch::{mark_hot_objects, mark_stack_loop, mark_stack_reach};
use prefetch::{prefetch_ahead, prefetch_header};
use refusals::RefusalReport;
use unwind::raise_interrupt;

pub use idle::{release_idle_stacks, set_idle_stack_release, set_idle_stack_stow};
pub(crate) use io::{IoRegistration, WaitLimit};
pub(crate) use observe::SwitchObserver;
pub(crate) use poller::Direction;
pub(crate) use remote::{RemoteCompletion, RemoteWaker, WaitQueue, lock_unpoisoned, wait_on};
pub(crate) use remote_inbox::RemoteInbox;
#[cfg(all(test, loom))]
pub(crate) use remote_inbox::loom_models::hub_takes as loom_hub_takes;
pub use snapshot::{GreenThreadInfo, GreenThreadState, HubSnapshot, SocketInfo, snapshot};
pub(crate) use teardown::tear_down;
pub(crate) use unwind::{catch, catch_user_panic, is_unwinding, rethrow};

/// What a timer does when it fires.
pub(crate) enum TimerAction {
    /// Unpark a task (sleep, `park_until`).
    Wake(TaskRef),
    /// Interrupt a task and unpark it (`with_timeout`).
    Interrupt(TaskRef, Interrupt),
    /// Queue a task that was spawned with a delay (`spawn_after`).
    Schedule(TaskRef),
    /// The deadline of a task's socket waits (`hub/io_deadline.rs`).
    IoDeadline(TaskRef),
}

pub(crate) struct Hub {
    run_queue: RefCell<VecDeque<TaskRef>>,
    /// The thread's main context.
    main: TaskRef,
    /// The task running right now; the main task when no green thread runs.
    /// Not counted: `run_task` holds the green thread it resumes, and `main`
    /// holds the main task.
    current: Cell<*const dyn Task>,
    /// The header of `current`, read on every switch without a virtual call.
    current_header: Cell<*const Header>,
    /// The main task's header, and where its `Rc` points (to tell it apart
    /// in the run queue without a virtual call).
    main_header: *const Header,
    main_task: *const u8,
    timers: RefCell<Timers<TimerAction>>,
    /// The hub's tokio runtime (`None` on a thread that was inside a
    /// runtime of the user's when its hub was made); taken at teardown,
    /// and declared before the poller, whose descriptor it watches.
    #[cfg(feature = "tokio")]
    tokio: RefCell<Option<TokioDriver>>,
    poller: Poller,
    pub(crate) stacks: StackPool,
    /// Green threads that have started and not finished.
    live: RefCell<Slab<TaskRef>>,
    switches_since_poll: Cell<u32>,
    /// False when prefetching is switched off (`tuning::prefetching`).
    prefetch: bool,
    /// How many runs of the hub's loop are on the main context's stack: one
    /// while the main context waits; more when user code that the loop runs
    /// outside any green thread (a destructor) blocked the main context again.
    loop_depth: Cell<u32>,
    /// The depth of a loop that must hand control back to the main context
    /// (0: none): a nested run took the wake-up that it was waiting for.
    rewake_depth: Cell<u32>,
    shutting_down: Cell<bool>,
    /// How long teardown drives timers and sockets for dying green threads.
    teardown_grace: Cell<Duration>,
    refusals: RefusalReport,
    next_scope_id: Cell<u64>,
    /// Hears of every switch while set (the blocking detector).
    observer: RefCell<Option<Arc<dyn SwitchObserver>>>,
    /// Set while the hub must hear of each switch: the blocking detector
    /// watches it, or green threads run in `tracing` spans.
    watched: Cell<bool>,
    /// Set for good once a green thread was spawned with a span.
    traced: Cell<bool>,
    /// The span entered for the running green thread, exited when it yields.
    entered_span: RefCell<Option<(tracing::Id, tracing::Dispatch)>>,
    /// Unparked when the last live green thread ends (`hubs::Hubs::join`).
    idle_watcher: RefCell<Option<TaskRef>>,
    /// Passes over parked green threads that give stack memory back.
    idle: idle::IdleSweep,
    /// Green threads (and the main context) waiting in `block_on` for a
    /// pending future.
    futures_waiting: Cell<usize>,
    /// When the busy loop last gave tokio a turn.
    #[cfg(feature = "tokio")]
    last_tokio_turn: Cell<Instant>,
}

thread_local! {
    static HUB: Cell<*const Hub> = const { Cell::new(std::ptr::null()) };
    static HUB_OWNER: teardown::HubOwner = const { teardown::HubOwner::new() };
}

/// The calling thread's hub, created on first use.
#[inline]
pub(crate) fn current() -> &'static Hub {
    let hub = HUB.with(Cell::get);
    if hub.is_null() {
        create()
    } else {
        // SAFETY: the pointer comes from `Box::leak` in `create` and is only
        // freed by the thread's `HubOwner` at thread exit, after it has reset
        // `HUB` to null. Nothing else frees it, and the hub is never shared
        // with another thread (the pointer lives in a thread local).
        unsafe { &*hub }
    }
}

/// The calling thread's hub if it has one (never creates one, so it is safe
/// to call on any thread and during thread-local teardown).
pub(crate) fn existing() -> Option<&'static Hub> {
    let hub = HUB.with(Cell::get);
    // SAFETY: as in `current`: a non-null pointer is this thread's live hub,
    // and `HubOwner` resets it to null before it frees the hub.
    (!hub.is_null()).then(|| unsafe { &*hub })
}

/// Whether user code runs on the calling thread's hub right now: a green
/// thread, or the main context outside the hub's loop. False inside the loop
/// and whatever it calls (timers, destructors, a runtime it drives), and on a
/// thread without a hub: `monkey_patch`'s hooks park only where this holds.
#[inline]
pub(crate) fn running_user_code() -> bool {
    existing().is_some_and(|hub| hub.current_header().state.get() == State::Running)
}

#[cold]
fn create() -> &'static Hub {
    let hub: &'static Hub = Box::leak(Box::new(Hub::new()));
    HUB.with(|cell| cell.set(hub));
    unwind::install_panic_hook();
    // At thread exit the owner kills what is left and frees the hub. When
    // thread-local storage is already being torn down, the hub is leaked.
    let _ = HUB_OWNER.try_with(teardown::HubOwner::arm);
    hub
}

impl Hub {
    fn new() -> Hub {
        let main: TaskRef = Rc::new(MainTask::new());
        let main_header: *const Header = main.header();
        let main_task = Rc::as_ptr(&main).cast::<u8>();
        let poller = Poller::new()
            .unwrap_or_else(|e| panic!("eventlet-rt: cannot create the hub's poller (epoll): {e}"));
        #[cfg(feature = "tokio")]
        let tokio = TokioDriver::new(poller.as_raw_fd(), tokio_turns::before_tokio_parks);
        Hub {
            run_queue: RefCell::new(VecDeque::new()),
            current: Cell::new(Rc::as_ptr(&main)),
            main,
            current_header: Cell::new(main_header),
            main_header,
            main_task,
            timers: RefCell::new(Timers::new()),
            poller,
            stacks: StackPool::new(),
            live: RefCell::new(Slab::new()),
            switches_since_poll: Cell::new(0),
            prefetch: prefetching(),
            loop_depth: Cell::new(0),
            rewake_depth: Cell::new(0),
            shutting_down: Cell::new(false),
            teardown_grace: Cell::new(teardown::DEFAULT_GRACE_PERIOD),
            refusals: RefusalReport::new(),
            next_scope_id: Cell::new(0),
            observer: RefCell::new(None),
            watched: Cell::new(false),
            traced: Cell::new(false),
            entered_span: RefCell::new(None),
            idle_watcher: RefCell::new(None),
            idle: idle::IdleSweep::new(),
            futures_waiting: Cell::new(0),
            #[cfg(feature = "tokio")]
            tokio: RefCell::new(tokio),
            #[cfg(feature = "tokio")]
            last_tokio_turn: Cell::new(Instant::now()),
        }
    }

    /// The running task.
    #[inline]
    pub(crate) fn current_task(&self) -> TaskRef {
        let current = self.current.get();
        // SAFETY: `current` points to a live task held by an `Rc` (`main`, or
        // the `task` that `run_task` holds while it runs): counting one more
        // reference and building a second `Rc` from the same pointer is sound.
        unsafe {
            Rc::increment_strong_count(current);
            Rc::from_raw(current)
        }
    }

    /// Whether the hub is being torn down: its green threads are killed, and
    /// those still blocked at the end of the grace period never run again.
    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.get()
    }

    /// This hub's inbox: where other OS threads post to it (and what tells
    /// one hub from another).
    pub(crate) fn inbox(&self) -> &Arc<RemoteInbox> {
        self.poller.inbox()
    }

    /// The running task's header.
    #[inline]
    fn current_header(&self) -> &Header {
        // SAFETY: `current_header` always points into the task `current`
        // points to (`run_task` updates both together), which is alive: see
        // `current_task`.
        unsafe { &*self.current_header.get() }
    }

    /// Puts a new task at the end of the run queue.
    #[inline]
    pub(crate) fn schedule_new(&self, task: TaskRef) {
        task.header().state.set(State::Queued);
        self.run_queue.borrow_mut().push_back(task);
    }

    /// Makes a parked task runnable; does nothing to a task in any other state.
    #[inline]
    pub(crate) fn unpark(&self, task: &TaskRef) {
        if task.header().state.get() == State::Parked {
            self.unpark_owned(task.clone());
        }
    }

    /// [`Hub::unpark`] for a reference the caller gives up (a waiter taken
    /// off a list): it moves into the run queue without a count round trip.
    #[inline]
    fn unpark_owned(&self, task: TaskRef) {
        let header = task.header();
        if header.state.get() == State::Parked {
            header.state.set(State::Queued);
            self.run_queue.borrow_mut().push_back(task);
        }
    }

    /// Blocks the running task until something unparks it.
    ///
    /// Raises the task's pending interrupt (kill, timeout) before blocking and
    /// after waking, as an unwind. Callers loop on their own condition: a
    /// return can be spurious.
    pub(crate) fn park(&self) {
        let header = self.current_header();
        raise_interrupt(header);
        #[cfg(feature = "tokio")]
        if header.is_main {
            self.refuse_to_block_in_a_tokio_turn();
        }
        if header.io_deadline.waiting_until.get().is_none() {
            self.drop_io_deadline(header);
        }
        header.state.set(State::Parked);
        if header.is_main {
            self.run_for_main();
        } else {
            header.suspended_at.set(coro::stack_position());
            self.idle.parking(header);
            coro::suspend();
        }
        raise_interrupt(self.current_header());
    }

    /// Lets every other runnable task run once, then continues.
    #[inline]
    pub(crate) fn yield_now(&self) {
        if self.run_queue.borrow().is_empty() {
            // Nothing else can run: the caller busy-waits for a timer or a
            // socket, so let them in now rather than after the next
            // `SWITCHES_BETWEEN_POLLS` switches.
            self.switches_since_poll.set(0);
            self.poll_events(Some(Duration::ZERO));
        }
        let header = self.current_header();
        raise_interrupt(header);
        // A green thread only marks itself queued: the hub puts it back in
        // the run queue when it regains control (see `run_task`), which saves
        // a reference-count round trip on the hottest path.
        header.state.set(State::Queued);
        if header.is_main {
            let main = self.current_task();
            self.run_queue.borrow_mut().push_back(main);
            self.run_for_main();
        } else {
            header.suspended_at.set(coro::stack_position());
            coro::suspend();
        }
        raise_interrupt(self.current_header());
    }

    /// Parks until unparked or until `deadline`; true when unparked first.
    pub(crate) fn park_until(&self, deadline: Option<Instant>) -> bool {
        let Some(deadline) = deadline else {
            self.park();
            return true;
        };
        let timer = self.add_timer(deadline, TimerAction::Wake(self.current_task()));
        let guard = TimerGuard { hub: self, timer };
        self.park();
        let woken = self.timer_armed(timer);
        drop(guard);
        woken
    }

    /// The main context blocks: the hub runs on its stack until it can go on.
    ///
    /// When this happens while the hub's loop is already on the stack (user
    /// code that the loop ran outside any green thread blocked: a destructor),
    /// the inner run may take the wake-up that the outer wait expects, so the
    /// outer loop is told to give control back too: its caller looks at its
    /// condition again (a park may return spuriously), and no wake-up is lost.
    fn run_for_main(&self) {
        let depth = self.loop_depth.get() + 1;
        let _depth = LoopDepth::enter(self, depth);
        self.run_until_main_runs(depth);
        if depth > 1 {
            self.rewake_depth.set(depth - 1);
        }
    }

    /// The main context runs the hub here until the main task is popped from
    /// the run queue again (or a nested run took its wake-up).
    fn run_until_main_runs(&self, depth: u32) {
        loop {
            if self.rewake_depth.get() == depth {
                self.rewake_depth.set(0);
                self.current_header().state.set(State::Running);
                return;
            }
            let next = {
                let mut run_queue = self.run_queue.borrow_mut();
                let next = run_queue.pop_front();
                if self.prefetch && run_queue.len() >= PREFETCH_FROM_QUEUED {
                    prefetch_ahead(&run_queue, self.switches_since_poll.get());
                }
                next
            };
            let Some(task) = next else {
                self.switches_since_poll.set(0);
                self.wait_for_events();
                continue;
            };
            let switches = self.switches_since_poll.get() + 1;
            if switches >= SWITCHES_BETWEEN_POLLS {
                self.switches_since_poll.set(0);
                self.look_around();
            } else {
                self.switches_since_poll.set(switches);
            }
            if Rc::as_ptr(&task).cast::<u8>() == self.main_task {
                task.header().state.set(State::Running);
                return;
            }
            self.run_task(task);
        }
    }

    /// Between switches: fires due timers, and takes in ready sockets when a
    /// green thread waits on one, without blocking; gives tokio a turn now
    /// and then while it has work.
    fn look_around(&self) {
        #[cfg(feature = "tokio")]
        self.tokio_turn_if_due();
        if self.poller.io_waiters() > 0 || self.poller.remote_waits() > 0 {
            self.poll_events(Some(Duration::ZERO));
        } else if self.timers.borrow().len() > 0 {
            self.fire_due_timers(Instant::now());
        }
    }

    /// Resumes one green thread until it blocks or ends.
    #[inline(always)]
    fn run_task(&self, task: TaskRef) {
        let header: *const Header = task.header();
        // SAFETY: `task` keeps the header alive until this function returns.
        let header = unsafe { &*header };
        if header.state.get() == State::Done {
            return; // killed while it waited in the run queue
        }
        let slot = header.coroutine.as_ptr();
        // SAFETY: only the hub's loop, on the main context, touches a task's
        // coroutine (here, in `prefetch_ahead` and at teardown), and it holds
        // no reference to it across this function.
        if unsafe { (*slot).is_none() } {
            let Some(coroutine) = self.start(&task) else {
                return;
            };
            header.coroutine.set(Some(coroutine));
        }
        header.state.set(State::Running);
        if self.watched.get() {
            self.watched_entering(header);
        }
        self.current_header.set(header);
        self.current.set(Rc::as_ptr(&task));
        // SAFETY: as above, nothing else reaches the coroutine while it runs
        // in place (resuming it there saves moving it out and back).
        let done = unsafe {
            let coroutine = (*slot).as_mut().unwrap_unchecked();
            coroutine.resume();
            coroutine.is_done()
        };
        self.current.set(Rc::as_ptr(&self.main));
        self.current_header.set(self.main_header);
        if self.watched.get() {
            self.watched_left();
        }
        if done {
            if let Some(coroutine) = header.coroutine.take() {
                self.stacks.give_back(coroutine);
            }
            self.drop_io_deadline(header);
            return;
        }
        if header.state.get() == State::Queued {
            // It yielded: back to the end of the run queue.
            self.run_queue.borrow_mut().push_back(task);
        }
    }

    /// Gives a task its stack on its first run.
    fn start(&self, task: &TaskRef) -> Option<Coroutine> {
        let header = task.header();
        if self.shutting_down.get() {
            task.finish_unstarted(NeverRan::Killed);
            return None;
        }
        let body = task.clone();
        let live = self.live.borrow().len();
        match self
            .stacks
            .take(header.stack_size, live, move || body.run())
        {
            Ok(coroutine) => {
                header.started.set(true);
                header
                    .live_slot
                    .set(self.live.borrow_mut().insert(task.clone()));
                Some(coroutine)
            }
            Err(refused) => {
                self.refusals.refused(&refused);
                task.finish_unstarted(NeverRan::StackRefused(refused));
                None
            }
        }
    }

    /// Called by a finishing task: it is no longer live.
    pub(crate) fn retire(&self, slot: usize) {
        self.live.borrow_mut().try_remove(slot);
        if self.live.borrow().is_empty() {
            let watcher = self.idle_watcher.take();
            if let Some(watcher) = watcher {
                self.unpark(&watcher);
            }
        }
    }

    /// One more (`1`) or one less (`-1`) task waits in `block_on`.
    pub(crate) fn futures_waiting_changed(&self, by: isize) {
        self.futures_waiting
            .set(self.futures_waiting.get().wrapping_add_signed(by));
    }

    /// The running task is unparked when no green thread is live any more.
    pub(crate) fn watch_idle(&self) {
        *self.idle_watcher.borrow_mut() = Some(self.current_task());
    }

    /// Blocks in the poller until a timer is due or an event arrives.
    fn wait_for_events(&self) {
        let now = Instant::now();
        if self.fire_due_timers(now) {
            return;
        }
        self.stacks.trim_idle(now);
        let idle_look = self.idle.before_wait(now, &self.live);
        let burst_ends = self.refusals.quiet(now);
        let next_deadline = self.timers.borrow_mut().next_deadline();
        let next_deadline = match (next_deadline, burst_ends) {
            (Some(timer), Some(burst)) => Some(timer.min(burst)),
            (timer, burst) => timer.or(burst),
        };
        let timeout = match next_deadline {
            Some(deadline) => Some(deadline.saturating_duration_since(now)),
            None if self.poller.io_waiters() > 0
                || self.poller.remote_waits() > 0
                || self.tokio_has_tasks() =>
            {
                None
            }
            None => {
                self.current_header().state.set(State::Running);
                panic!(
                    "eventlet-rt: the main context is blocked forever: no green thread can run and no \
                 timer, socket or thread-pool job is left to wake anything. A green thread that \
                 waits for itself, or an event nobody sends, looks like this."
                )
            }
        };
        #[cfg(feature = "tokio")]
        if self.wait_in_tokio(match (next_deadline, idle_look) {
            (Some(deadline), Some(look)) => Some(deadline.min(look)),
            (deadline, look) => deadline.or(look),
        }) {
            return;
        }
        self.poll_events(idle::sooner(timeout, idle_look, now));
    }

    fn poll_events(&self, timeout: Option<Duration>) {
        self.poller.poll(timeout, |task| self.unpark_owned(task));
        self.fire_due_timers(Instant::now());
    }

    /// Runs the actions of every timer due at `now`; true if any fired.
    fn fire_due_timers(&self, now: Instant) -> bool {
        let mut fired = false;
        loop {
            let due = {
                let mut timers = self.timers.borrow_mut();
                let due = timers.pop_due(now);
                // In a burst, start loading the task that fires a few
                // timers later: its wake-up reads and writes its header.
                if self.prefetch
                    && due.is_some()
                    && let Some(TimerAction::Wake(task)) =
                        timers.peek_in_order(TIMER_PREFETCH_AHEAD)
                {
                    prefetch_header(task);
                }
                due
            };
            let Some(action) = due else {
                return fired;
            };
            fired = true;
            match action {
                TimerAction::Wake(task) => self.unpark(&task),
                TimerAction::Interrupt(task, interrupt) => {
                    task.header().raise(interrupt);
                    self.unpark(&task);
                }
                TimerAction::IoDeadline(task) => self.io_deadline_fired(task, now),
                TimerAction::Schedule(task) => {
                    let header = task.header();
                    header.start_timer.set(None);
                    if header.state.get() == State::New {
                        self.schedule_new(task);
                    }
                }
            }
        }
    }

    pub(crate) fn add_timer(&self, deadline: Instant, action: TimerAction) -> TimerKey {
        self.timers.borrow_mut().add(deadline, action)
    }

    pub(crate) fn cancel_timer(&self, key: TimerKey) {
        let action = self.timers.borrow_mut().cancel(key);
        drop(action); // after the borrow: dropping a task can run user code
    }

    pub(crate) fn timer_armed(&self, key: TimerKey) -> bool {
        self.timers.borrow().is_armed(key)
    }

    /// A fresh id for a `with_timeout` scope; ids grow, so inner scopes have larger ones.
    pub(crate) fn next_scope_id(&self) -> u64 {
        let id = self.next_scope_id.get();
        self.next_scope_id.set(id + 1);
        id
    }

    /// Kills a task: an unstarted one never runs, a started one unwinds at
    /// its blocking point, the running one unwinds now.
    pub(crate) fn kill(&self, task: &TaskRef) {
        let header = task.header();
        match header.state.get() {
            State::Done => {}
            _ if !header.started.get() => {
                if let Some(timer) = header.start_timer.take() {
                    self.cancel_timer(timer);
                }
                task.finish_unstarted(NeverRan::Killed);
            }
            State::Running => {
                header.raise(Interrupt::Kill);
                raise_interrupt(header);
            }
            State::Parked => {
                header.raise(Interrupt::Kill);
                self.unpark(task);
            }
            State::Queued | State::New => header.raise(Interrupt::Kill),
        }
    }
}

/// Counts a run of the hub's loop on the main context's stack while it lasts.
struct LoopDepth<'a> {
    hub: &'a Hub,
}

impl<'a> LoopDepth<'a> {
    fn enter(hub: &'a Hub, depth: u32) -> LoopDepth<'a> {
        hub.loop_depth.set(depth);
        LoopDepth { hub }
    }
}

impl Drop for LoopDepth<'_> {
    fn drop(&mut self) {
        self.hub.loop_depth.set(self.hub.loop_depth.get() - 1);
    }
}

/// Cancels a timer when dropped, so an unwind cannot leave it armed.
pub(crate) struct TimerGuard<'a> {
    pub(crate) hub: &'a Hub,
    pub(crate) timer: TimerKey,
}

impl Drop for TimerGuard<'_> {
    fn drop(&mut self) {
        self.hub.cancel_timer(self.timer);
    }
}

/// Counters of the calling thread's hub, for tests, metrics and debugging;
/// see [`stats`]. Each is read in O(1).
///
/// ```
/// use std::io::Read;
/// use std::time::Duration;
/// use eventlet_rt::hub;
///
/// let listener = eventlet_rt::listen("127.0.0.1:0")?;
/// let client = eventlet_rt::connect(listener.local_addr()?)?;
/// let (conn, _) = listener.accept()?;
/// let reader = eventlet_rt::spawn(move || (&conn).read(&mut [0; 8]));
/// let sleeper = eventlet_rt::spawn(|| eventlet_rt::sleep(Duration::from_secs(60)));
/// let stats = hub::stats();
/// assert_eq!(stats.queued, 2, "spawned, not started yet");
/// assert_eq!(stats.live_green_threads, 0);
/// assert_eq!(stats.io_sources, 3, "the listener and both ends of the connection");
///
/// eventlet_rt::yield_now(); // both start and block
/// let stats = hub::stats();
/// assert_eq!((stats.queued, stats.live_green_threads), (0, 2));
/// assert_eq!(stats.timers, 1, "the sleep");
/// assert_eq!(stats.io_waiters, 1, "the reader");
///
/// sleeper.kill();
/// drop(client); // the reader sees end of file
/// assert_eq!(reader.wait().unwrap()?, 0);
/// assert!(sleeper.wait().unwrap_err().is_killed());
/// let stats = hub::stats();
/// assert_eq!((stats.live_green_threads, stats.timers, stats.io_waiters), (0, 0, 0));
/// assert_eq!(stats.io_sources, 1, "the reader's end closed with it; the listener is left");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HubStats {
    /// Green threads that have started and not finished (running, runnable or blocked).
    pub live_green_threads: usize,
    /// Tasks in the run queue, green threads not started yet included.
    pub queued: usize,
    /// Armed timers: sleeps, timeouts, delayed spawns, and one per green
    /// thread whose last socket wait had a timeout while it has not parked
    /// on anything else since (kept for its next socket wait).
    pub timers: usize,
    /// Sockets registered with the poller: every open green socket (listener,
    /// stream, UDP socket) of this thread, one each; a `try_clone` shares it.
    pub io_sources: usize,
    /// Green threads blocked on socket readiness.
    pub io_waiters: usize,
    /// Green threads waiting for a wake-up from another OS thread: a
    /// thread-pool job, a `Send` channel, a remote green thread, a pending
    /// future of [`block_on`](crate::block_on) (which also counts here).
    pub remote_waits: usize,
    /// Green threads (and the main context) waiting in
    /// [`block_on`](crate::block_on) for a pending future.
    pub futures_waiting: usize,
    /// Stacks mapped right now, the pooled ones included.
    pub stacks_mapped: usize,
    /// Finished stacks kept for reuse.
    pub stacks_pooled: usize,
}

/// Counters of the calling thread's hub.
///
/// ```
/// let stats = eventlet_rt::hub::stats();
/// assert_eq!(stats.live_green_threads, 0);
/// assert_eq!(stats.timers, 0);
/// ```
pub fn stats() -> HubStats {
    let hub = current();
    HubStats {
        live_green_threads: hub.live.borrow().len(),
        queued: hub.run_queue.borrow().len(),
        timers: hub.timers.borrow().len(),
        io_sources: hub.poller.sources(),
        io_waiters: hub.poller.io_waiters(),
        remote_waits: hub.poller.remote_waits(),
        futures_waiting: hub.futures_waiting.get(),
        stacks_mapped: hub.stacks.mapped(),
        stacks_pooled: hub.stacks.pooled(),
    }
}

/// Sets the stack size, in bytes, of green threads this OS thread starts from now on.
///
/// The default is [`DEFAULT_STACK_SIZE`](crate::DEFAULT_STACK_SIZE) (128 KiB).
/// Sizes round up to whole pages; each stack also gets a guard page, so an
/// overflow ends the process with a message instead of corrupting memory.
///
/// # Panics
/// If `bytes` is below [`MIN_STACK_SIZE`](crate::MIN_STACK_SIZE).
///
/// ```
/// eventlet_rt::hub::set_default_stack_size(256 * 1024);
/// assert_eq!(eventlet_rt::hub::default_stack_size(), 256 * 1024);
/// ```
pub fn set_default_stack_size(bytes: usize) {
    current().stacks.set_default_stack_size(bytes);
}

/// The stack size, in bytes, of green threads this OS thread starts.
///
/// ```
/// assert_eq!(eventlet_rt::hub::default_stack_size(), eventlet_rt::DEFAULT_STACK_SIZE);
/// ```
pub fn default_stack_size() -> usize {
    current().stacks.default_stack_size()
}

/// Sets how long this OS thread's hub lets killed green threads finish at
/// thread exit: 1 second unless set otherwise.
///
/// At thread exit the hub kills the green threads still alive; their
/// destructors run as the stacks unwind and may block (a polite close sleeps
/// or waits for the peer). The hub keeps firing timers and polling sockets
/// for them until they have all finished or the grace period is over; it then
/// abandons the green threads still blocked (their stacks are leaked, the
/// rest of their destructors never run) and names them on stderr.
///
/// ```
/// use std::time::Duration;
///
/// std::thread::spawn(|| {
///     eventlet_rt::hub::set_teardown_grace_period(Duration::from_millis(200));
///     eventlet_rt::spawn_n(|| eventlet_rt::sleep(Duration::from_secs(60)));
///     eventlet_rt::yield_now();
/// }) // at its exit the sleeper is killed and unwinds at once
/// .join()
/// .unwrap();
/// ```
pub fn set_teardown_grace_period(grace: Duration) {
    current().teardown_grace.set(grace);
}

/// Sets how many finished stacks this OS thread's hub keeps for reuse for good.
///
/// A spawn that finds a pooled stack costs no system call. Every finished
/// stack of the default size goes back to the pool; the hub unmaps those
/// beyond this capacity once they have sat unused for a second or two (it
/// checks when it is about to wait for events), so a burst of green threads
/// maps its stacks once and gives the memory back when the bursts stop.
/// Setting the capacity unmaps the pooled stacks above it at once. The
/// default, [`DEFAULT_STACK_POOL_CAPACITY`](crate::DEFAULT_STACK_POOL_CAPACITY),
/// is 1024.
///
/// ```
/// eventlet_rt::hub::set_stack_pool_capacity(16);
/// for _ in 0..100 {
///     eventlet_rt::spawn(|| ()).wait().unwrap();
/// }
/// assert!(eventlet_rt::hub::stats().stacks_pooled <= 16);
/// ```
pub fn set_stack_pool_capacity(stacks: usize) {
    current().stacks.set_capacity(stacks);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "blocked forever")]
    fn main_blocked_with_nothing_to_wake_it_panics_instead_of_hanging() {
        current().park();
    }

    #[test]
    fn a_parked_green_thread_resumes_only_when_unparked() {
        let parked: Rc<RefCell<Option<TaskRef>>> = Rc::new(RefCell::new(None));
        let p = parked.clone();
        let gt = crate::spawn(move || {
            *p.borrow_mut() = Some(current().current_task());
            current().park();
            "unparked"
        });
        crate::yield_now();
        crate::yield_now();
        assert!(!gt.is_finished(), "park returned without an unpark");
        let task = parked.borrow_mut().take().unwrap();
        current().unpark(&task);
        current().unpark(&task); // a second unpark of a queued task does nothing
        assert_eq!(gt.wait().unwrap(), "unparked");
    }
}
