//! What the hub schedules: a task header, its states and how it is interrupted.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::Location;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use crate::coro::{Coroutine, StackReach};
use crate::stack_pool::StackRefused;
use crate::timer::TimerKey;
#[cfg(doc)]
use crate::tuning::HEADER_LINES;

/// A reference to a schedulable task: a green thread or the thread's main context.
pub(crate) type TaskRef = Rc<dyn Task>;

/// Where a task is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// Created but not scheduled yet (`spawn_after` before its delay).
    New,
    /// In the run queue.
    Queued,
    /// Running on the CPU right now.
    Running,
    /// Blocked in a green primitive, waiting for `unpark`.
    Parked,
    /// Finished: returned, panicked or killed.
    Done,
}

/// Where a heap object lies that a task reads first on every resume (an
/// HTTP connection's wire, its socket), so that the hub can start loading
/// it with the task's stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HotObject {
    /// Its address.
    pub(crate) start: usize,
    /// Its size in bytes.
    pub(crate) len: usize,
}

impl HotObject {
    /// No object.
    pub(crate) const NONE: HotObject = HotObject { start: 0, len: 0 };

    /// Where `object` lies.
    pub(crate) fn of<T: ?Sized>(object: &T) -> HotObject {
        HotObject {
            start: std::ptr::from_ref(object).cast::<u8>() as usize,
            len: std::mem::size_of_val(object),
        }
    }
}

/// What the hub's idle sweeps (`hub/idle.rs`) saw of a parked task's
/// current park, and what it gave back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IdleMark {
    /// Passes in a row that found it parked (0: none since it parked).
    pub(crate) passes: u16,
    pub(crate) released: IdleRelease,
}

/// What a parked task gave back during its current park.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IdleRelease {
    Nothing,
    /// The pages below its frames.
    PagesBelow,
    /// Its whole stack (or as much as it could: it is not tried again).
    Stowed,
}

impl IdleMark {
    /// A new park.
    pub(crate) const FRESH: IdleMark = IdleMark {
        passes: 0,
        released: IdleRelease::Nothing,
    };
}

/// A request to unwind a task at its next blocking point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Interrupt {
    None,
    /// `kill`: sticky; raised again at every later blocking point.
    Kill,
    /// The `with_timeout` scope with this id ran out of time.
    Timeout(u64),
}

/// The payload of the unwinds the runtime starts itself (`kill`, timeouts).
///
/// Raised with `resume_unwind`, so the panic hook never prints it.
#[derive(Debug)]
pub(crate) enum Unwind {
    Killed,
    TimedOut(u64),
}

/// What a catch site at a green thread boundary caught.
pub(crate) enum Caught {
    /// The runtime's own unwind (a kill or a timeout).
    Runtime(Unwind),
    /// A panic of user code, with its payload.
    Panicked(Box<dyn Any + Send + 'static>),
}

/// Why a task ended without running its body.
pub(crate) enum NeverRan {
    /// Killed (or cancelled) before it started, or at teardown.
    Killed,
    /// The kernel refused it a stack.
    StackRefused(StackRefused),
}

/// A task's timer for the deadlines of its socket waits, armed by one wait
/// and kept for the next (see `hub/io_deadline.rs`).
#[derive(Default)]
pub(crate) struct IoDeadline {
    /// The armed timer and when it fires: never after the deadline of the
    /// socket wait the task is in.
    pub(crate) armed: Cell<Option<(TimerKey, Instant)>>,
    /// The deadline of the socket wait the task is parked in, if it is.
    pub(crate) waiting_until: Cell<Option<Instant>>,
    /// That wait's deadline passed.
    pub(crate) expired: Cell<bool>,
}

/// The data every task carries, whatever its result type.
///
/// `repr(C)`, hot fields first: switches and wake-ups read the fields up to
/// `suspended_at`, which lie in the first [`HEADER_LINES`] cache lines of a
/// task's allocation (after the `Rc`'s two counts) that the hub prefetches;
/// a test below checks it.
#[repr(C)]
pub(crate) struct Header {
    pub(crate) state: Cell<State>,
    pub(crate) interrupt: Cell<Interrupt>,
    /// Set while a panic or the runtime's unwind runs through this task's
    /// stack (`std::thread::panicking` says so for the whole OS thread, which
    /// is true as long as any of its green threads is suspended mid-unwind).
    pub(crate) unwinding: Cell<bool>,
    pub(crate) started: Cell<bool>,
    pub(crate) is_main: bool,
    /// The stack, once the task has started and while it is suspended.
    pub(crate) coroutine: Cell<Option<Coroutine>>,
    /// How much of its stack its work between suspensions spans, if it said
    /// so (`hub::mark_stack_reach`, `hub::mark_stack_loop`): what a resume
    /// will touch besides the frames down to `suspended_at`.
    pub(crate) stack_reach: Cell<StackReach>,
    /// The heap objects its every resume reads first, if it said so
    /// (`hub::mark_hot_objects`): prefetched with its stack.
    pub(crate) hot_objects: Cell<[HotObject; 2]>,
    /// About where its stack pointer was when it last suspended (0 before
    /// its first suspension): how deep a resume will read into its stack.
    pub(crate) suspended_at: Cell<usize>,
    /// What the hub's idle sweeps (`hub/idle.rs`) saw of its current park;
    /// written by every park, next to `suspended_at`, in the same line.
    pub(crate) idle: Cell<IdleMark>,
    /// Its slot among the hub's live green threads, once started.
    pub(crate) live_slot: Cell<usize>,
    /// The task blocked in `GreenThread::wait` on this one.
    pub(crate) joiner: RefCell<Option<TaskRef>>,
    /// The `spawn_after` timer that will queue this task.
    pub(crate) start_timer: Cell<Option<TimerKey>>,
    /// The timer behind its socket waits' deadlines (`hub/io_deadline.rs`).
    pub(crate) io_deadline: IoDeadline,
    /// Bytes of stack asked for with `Builder::stack_size`; the hub default otherwise.
    pub(crate) stack_size: Option<usize>,
    pub(crate) name: RefCell<Option<Arc<str>>>,
    /// Where `spawn` was called, for diagnostics.
    pub(crate) spawned_at: &'static Location<'static>,
    /// The `tracing` span the green thread runs in, when a subscriber wanted
    /// it at spawn (boxed: most green threads have none).
    pub(crate) span: Option<Box<tracing::Span>>,
}

impl Header {
    pub(crate) fn new(
        stack_size: Option<usize>,
        name: Option<Arc<str>>,
        spawned_at: &'static Location<'static>,
        span: Option<Box<tracing::Span>>,
        is_main: bool,
    ) -> Header {
        Header {
            state: Cell::new(State::New),
            interrupt: Cell::new(Interrupt::None),
            unwinding: Cell::new(false),
            coroutine: Cell::new(None),
            started: Cell::new(false),
            joiner: RefCell::new(None),
            start_timer: Cell::new(None),
            io_deadline: IoDeadline::default(),
            stack_size,
            name: RefCell::new(name),
            spawned_at,
            span,
            live_slot: Cell::new(usize::MAX),
            stack_reach: Cell::new(StackReach::default()),
            hot_objects: Cell::new([HotObject::NONE; 2]),
            suspended_at: Cell::new(0),
            idle: Cell::new(IdleMark::FRESH),
            is_main,
        }
    }

    /// Records a new interrupt, keeping the one that unwinds the most: a kill
    /// beats any timeout, and an outer `with_timeout` scope (smaller id) beats
    /// an inner one.
    pub(crate) fn raise(&self, interrupt: Interrupt) {
        let merged = match (self.interrupt.get(), interrupt) {
            (Interrupt::Kill, _) | (_, Interrupt::Kill) => Interrupt::Kill,
            (Interrupt::Timeout(a), Interrupt::Timeout(b)) => Interrupt::Timeout(a.min(b)),
            (Interrupt::None, other) | (other, Interrupt::None) => other,
        };
        self.interrupt.set(merged);
    }
}

/// A green thread (or the main context) as the hub sees it.
pub(crate) trait Task {
    fn header(&self) -> &Header;

    /// Runs the body to its end on the current stack, inside the task's coroutine.
    ///
    /// Catches every unwind of the body, stores the outcome, calls the links
    /// and wakes the joiner.
    fn run(&self);

    /// Ends a task that never started: drops its body; `reason` is its outcome.
    fn finish_unstarted(&self, reason: NeverRan);
}

/// The thread's main context: the code that is not inside any green thread.
#[repr(C)]
pub(crate) struct MainTask {
    header: Header,
}

impl MainTask {
    #[track_caller]
    pub(crate) fn new() -> MainTask {
        let header = Header::new(
            None,
            Some(Arc::from("main")),
            Location::caller(),
            None,
            true,
        );
        header.state.set(State::Running);
        header.started.set(true);
        MainTask { header }
    }
}

impl Task for MainTask {
    fn header(&self) -> &Header {
        &self.header
    }

    fn run(&self) {
        unreachable!("the main context runs on the thread's own stack")
    }

    fn finish_unstarted(&self, _: NeverRan) {
        unreachable!("the main context is always started")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tuning::HEADER_LINES;

    #[test]
    fn the_fields_a_switch_reads_lie_in_the_prefetched_lines() {
        // An `Rc`'s allocation starts with its two counts, then the value,
        // whose `repr(C)` task types start with the header.
        let counts = 2 * std::mem::size_of::<usize>();
        let end = counts
            + std::mem::offset_of!(Header, suspended_at)
            + std::mem::size_of::<Cell<usize>>();
        assert!(end <= HEADER_LINES * 64, "{end} bytes");
    }
}
