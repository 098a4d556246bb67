//! The task cell: a green thread's body, its outcome and its links, in one
//! allocation, and how it ends.
//!
//! Everything user code gives a green thread (its closure, its result, its
//! links) is dropped or called on that green thread's own stack, where it may
//! block: never inside the hub's loop. The exceptions are a green thread that
//! never ran (its closure drops wherever it was killed, or where the hub
//! refused it a stack) and a result still held by a handle (it drops with the
//! handle).

use std::cell::{Cell, RefCell};
use std::panic::Location;

use super::error::GreenError;

use crate::hub::{self, catch};
use crate::task::{Caught, Header, NeverRan, State, Task};

pub(super) type Link<T> = Box<dyn FnOnce(&Result<T, GreenError>)>;

enum Stage<F, T> {
    Pending(F),
    Running,
    Finished(Result<T, GreenError>),
    Taken,
}

/// A green thread's body, its outcome and its links, in one allocation.
///
/// `repr(C)`: the header comes first, where the hub prefetches it.
#[repr(C)]
pub(super) struct TaskCell<F, T> {
    header: Header,
    stage: RefCell<Stage<F, T>>,
    links: RefCell<Vec<Link<T>>>,
    /// Set when the last handle went away: nobody can take the result, so the
    /// green thread drops it itself when it ends.
    detached: Cell<bool>,
}

/// The typed side of a task: what `GreenThread<T>` needs besides the header.
pub(super) trait Outcome<T>: Task {
    fn take_result(&self) -> Option<Result<T, GreenError>>;
    fn is_finished(&self) -> bool;
    fn add_link(&self, link: Link<T>);
    /// The handle is gone.
    fn detach(&self);
}

impl<F: FnOnce() -> T + 'static, T: 'static> TaskCell<F, T> {
    pub(super) fn new(header: Header, body: F) -> TaskCell<F, T> {
        TaskCell {
            header,
            stage: RefCell::new(Stage::Pending(body)),
            links: RefCell::new(Vec::new()),
            detached: Cell::new(false),
        }
    }

    /// Stores the outcome, runs the links, and wakes the waiter. Runs on the
    /// green thread's stack (or, for one that never ran, in its killer), so
    /// links and destructors may block; nothing that user code does here can
    /// unwind out of it.
    fn complete(&self, result: Result<T, GreenError>) {
        if let Err(error) = &result {
            self.guarded("a tracing subscriber", || {
                tracing::debug!(
                    target: "eventlet_rt::greenthread",
                    name = ?self.header.name.borrow(),
                    spawned_at = %self.header.spawned_at,
                    "green thread ended: {error}"
                );
            });
        }
        *self.stage.borrow_mut() = Stage::Finished(result);
        self.call_links();
        if self.detached.get() {
            let unclaimed = std::mem::replace(&mut *self.stage.borrow_mut(), Stage::Taken);
            self.guarded("the destructor of its unclaimed result", || drop(unclaimed));
        }
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

    /// Runs the links one by one. No borrow is held while one runs but the
    /// shared borrow of the outcome, so a link may block, and `wait`,
    /// `is_finished` and `link` keep working meanwhile.
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
            self.guarded("a link callback", || next(result));
        }
    }

    /// Runs user code whose panic cannot change the outcome: the panic is
    /// reported, and a kill or timeout that unwinds it ends it only (a kill
    /// is raised again at the next blocking point).
    fn guarded(&self, what: &str, f: impl FnOnce()) {
        if let Err(Caught::Panicked(payload)) = catch(f) {
            self.report_panic(what, &GreenError::Panicked(payload));
        }
    }

    /// Reports a panic that could not change the outcome: as an error event
    /// when `tracing` listens, else on stderr.
    #[cold]
    fn report_panic(&self, what: &str, panic: &GreenError) {
        let name = self.header.name.borrow().clone();
        let name = name.as_deref().unwrap_or("<unnamed>");
        let spawned_at: &Location<'_> = self.header.spawned_at;
        let reported = catch(|| {
            if tracing::enabled!(target: "eventlet_rt::greenthread", tracing::Level::ERROR) {
                tracing::error!(
                    target: "eventlet_rt::greenthread",
                    green_thread = name,
                    spawned_at = %spawned_at,
                    "{what} panicked: {panic}"
                );
                true
            } else {
                false
            }
        });
        if !matches!(reported, Ok(true)) {
            eprintln!(
                "eventlet-rt: {what} of green thread '{name}' (spawned at {spawned_at}) \
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
        let result = catch(body).map_err(|caught| match caught {
            Caught::Runtime(_) => GreenError::Killed,
            Caught::Panicked(payload) => GreenError::Panicked(payload),
        });
        self.complete(result);
    }

    fn finish_unstarted(&self, reason: NeverRan) {
        let body = std::mem::replace(&mut *self.stage.borrow_mut(), Stage::Running);
        // Ended before the body drops: a destructor that blocks lets the hub
        // run, and the hub must skip this task if it is still queued.
        self.header.state.set(State::Done);
        let error = match reason {
            NeverRan::Killed => GreenError::Killed,
            NeverRan::StackRefused(refused) => GreenError::StackRefused(refused),
        };
        // The body's captures drop in whoever kills: a destructor that panics
        // becomes this green thread's outcome, not the killer's problem.
        match catch(|| drop(body)) {
            Ok(()) => self.complete(Err(error)),
            Err(Caught::Panicked(payload)) => self.complete(Err(GreenError::Panicked(payload))),
            Err(runtime) => {
                // The killer's own kill or timeout, raised by a destructor that blocked.
                self.complete(Err(error));
                hub::rethrow(runtime);
            }
        }
    }
}

impl<F: FnOnce() -> T + 'static, T: 'static> Outcome<T> for TaskCell<F, T> {
    fn take_result(&self) -> Option<Result<T, GreenError>> {
        // The state first: while links run, the outcome is borrowed.
        if self.header.state.get() != State::Done {
            return None;
        }
        let mut stage = self.stage.borrow_mut();
        if !matches!(*stage, Stage::Finished(_)) {
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

    fn detach(&self) {
        self.detached.set(true);
    }
}
