//! A tokio `current_thread` runtime per hub (feature `tokio`): its context
//! entered for all green code of the hub's thread, its driver turned by the
//! hub's own loop on the hub's own OS thread.
//!
//! The hub holds one [`TokioDriver`]. It knows nothing of the hub: the hub
//! hands it what it needs (its poller's descriptor, a check for runnable
//! green threads, a hook), so the hub may own it without an import cycle.
//!
//! # Who drives what
//! - Green code polls futures (`block_on`) on its own stack; tokio resources
//!   register with this runtime's driver through the entered context.
//! - The hub's loop, on the main context's stack and outside any green
//!   thread, drives the runtime: [`TokioDriver::wait`] when nothing is
//!   runnable (tokio blocks in its own `epoll_wait`, where the hub's epoll
//!   descriptor sits as an `AsyncFd`, next to a tokio timer for the hub's
//!   next deadline), and [`TokioDriver::turn`] now and then while the hub is
//!   busy (a zero-timeout turn). Both run tokio's spawned tasks and wake the
//!   wakers of ready resources: a green `block_on` waker unparks its green
//!   thread into the run queue.
//! - A wait ends when the hub's descriptor is readable (socket events, or
//!   the inbox's eventfd: posts from other threads), when the timer fires,
//!   or when a green thread became runnable during the turn: the hook tokio
//!   calls before it blocks ([`Builder::on_thread_park`]) looks at the run
//!   queue and wakes the wait, so tokio turns once more without blocking.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::runtime::{Builder, EnterGuard, Handle, Id, Runtime, RuntimeMetrics};
use tokio::time::Sleep;

/// The hub's epoll descriptor, borrowed: the poller owns and closes it, after
/// the driver (which deregisters it first) is gone.
struct HubFd(RawFd);

impl AsRawFd for HubFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

/// One hub's tokio runtime, entered for the life of the hub.
pub(crate) struct TokioDriver {
    hub_fd: Option<AsyncFd<HubFd>>,
    /// Fires at the hub's next deadline during a wait.
    sleep: RefCell<Option<Pin<Box<Sleep>>>>,
    /// The waker of the wait in progress, for the before-park hook.
    waiter: RefCell<Option<Waker>>,
    /// True while the runtime runs inside a wait or a turn.
    turning: Cell<bool>,
    id: Id,
    /// Kept: asking the runtime for it each time clones its handle.
    metrics: RuntimeMetrics,
    /// Dropped before `runtime`, which it borrows.
    guard: Option<EnterGuard<'static>>,
    runtime: Option<Box<Runtime>>,
}

impl TokioDriver {
    /// A runtime for the hub whose poller has descriptor `hub_fd`, entered
    /// from now on; `before_park` runs each time tokio is about to block.
    ///
    /// `None` when the thread is already inside a tokio context (a runtime
    /// the user entered or runs here): then that runtime stays the current
    /// one, and the hub does not drive it.
    pub(crate) fn new(hub_fd: RawFd, before_park: fn()) -> Option<TokioDriver> {
        if Handle::try_current().is_ok() {
            return None;
        }
        let mut builder = Builder::new_current_thread();
        builder.enable_all();
        // A `cfg(loom)` tokio has no park hook; the loom models never drive tokio.
        #[cfg(not(loom))]
        builder.on_thread_park(before_park);
        #[cfg(loom)]
        let _ = before_park;
        let runtime = builder
            .build()
            .unwrap_or_else(|e| panic!("eventlet-rt: cannot build the hub's tokio runtime: {e}"));
        let runtime = Box::new(runtime);
        // SAFETY: the runtime lives in a `Box`, whose contents never move,
        // and `Drop` drops the guard before it drops the box; nothing else
        // takes the box out.
        let entered: &'static Runtime = unsafe { &*std::ptr::from_ref::<Runtime>(&*runtime) };
        let guard = entered.enter();
        // SAFETY: `hub_fd` is the hub's epoll descriptor, open until the
        // hub's poller drops, which happens after this driver (the hub
        // declares the driver first and takes it out at teardown).
        let hub_fd = unsafe { AsyncFd::register_with_interest(HubFd(hub_fd), Interest::READABLE) }
            .unwrap_or_else(|e| panic!("eventlet-rt: cannot register the hub with tokio: {e}"));
        Some(TokioDriver {
            hub_fd: Some(hub_fd),
            sleep: RefCell::new(None),
            waiter: RefCell::new(None),
            turning: Cell::new(false),
            id: runtime.handle().id(),
            metrics: runtime.metrics(),
            guard: Some(guard),
            runtime: Some(runtime),
        })
    }

    fn runtime(&self) -> &Runtime {
        self.runtime
            .as_deref()
            .expect("the runtime lives as long as the driver")
    }

    /// True while tokio has tasks (spawned and not finished): they need
    /// turns even when no green thread waits on a future.
    pub(crate) fn has_tasks(&self) -> bool {
        self.metrics.num_alive_tasks() > 0
    }

    /// True while the runtime runs inside [`TokioDriver::wait`] or
    /// [`TokioDriver::turn`]: code running now is a tokio task (or a waker)
    /// on the hub's loop, outside any green thread.
    pub(crate) fn is_turning(&self) -> bool {
        self.turning.get()
    }

    /// Whether the runtime can be driven now: not already running, and its
    /// context is the current one (a runtime the user entered on top of it,
    /// or whose `block_on` runs further up this stack, would refuse).
    pub(crate) fn can_turn(&self) -> bool {
        !self.turning.get() && Handle::try_current().is_ok_and(|current| current.id() == self.id)
    }

    /// Runs tokio until the hub's poller has events, `deadline` passes, or
    /// `runnable` says a green thread can run (checked before each block).
    /// The caller then polls its poller without waiting.
    pub(crate) fn wait(&self, deadline: Option<Instant>, runnable: &dyn Fn() -> bool) {
        if let Some(deadline) = deadline {
            let deadline = tokio::time::Instant::from_std(deadline);
            let mut sleep = self.sleep.borrow_mut();
            match sleep.as_mut() {
                Some(sleep) => sleep.as_mut().reset(deadline),
                None => *sleep = Some(Box::pin(tokio::time::sleep_until(deadline))),
            }
        }
        let wait = HubReady {
            driver: self,
            timed: deadline.is_some(),
            runnable,
        };
        self.run(|runtime| runtime.block_on(wait));
        self.waiter.borrow_mut().take();
    }

    /// One turn without blocking: tokio's ready tasks run (a bounded batch)
    /// and its driver takes in ready I/O and due timers.
    pub(crate) fn turn(&self) {
        self.run(|runtime| runtime.block_on(tokio::task::yield_now()));
    }

    fn run(&self, f: impl FnOnce(&Runtime)) {
        struct Turning<'a>(&'a Cell<bool>);
        impl Drop for Turning<'_> {
            fn drop(&mut self) {
                self.0.set(false);
            }
        }
        self.turning.set(true);
        let _turning = Turning(&self.turning);
        f(self.runtime());
    }

    /// Called by the before-park hook when a green thread is runnable: the
    /// wait in progress ends after tokio's next (non-blocking) turn.
    pub(crate) fn wake_waiter(&self) {
        if let Some(waker) = self.waiter.borrow().as_ref() {
            waker.wake_by_ref();
        }
    }
}

impl Drop for TokioDriver {
    fn drop(&mut self) {
        self.hub_fd.take();
        self.sleep.borrow_mut().take();
        if let Some(guard) = self.guard.take() {
            // At thread exit tokio's thread-local context may be gone
            // already; leaving the context then would panic.
            if Handle::try_current().is_err_and(|e| e.is_thread_local_destroyed()) {
                std::mem::forget(guard);
            } else {
                drop(guard);
            }
        }
        if let Some(runtime) = self.runtime.take() {
            // Blocking-pool threads (a DNS lookup) are not waited for.
            runtime.shutdown_background();
        }
    }
}

/// Ready when the hub has something to do.
struct HubReady<'a> {
    driver: &'a TokioDriver,
    timed: bool,
    runnable: &'a dyn Fn() -> bool,
}

impl Future for HubReady<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        {
            let mut waiter = self.driver.waiter.borrow_mut();
            if !waiter.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *waiter = Some(cx.waker().clone());
            }
        }
        if (self.runnable)() {
            return Poll::Ready(());
        }
        let hub_fd = self
            .driver
            .hub_fd
            .as_ref()
            .expect("registered for the driver's life");
        match hub_fd.poll_read_ready(cx) {
            Poll::Ready(Ok(mut ready)) => {
                // Edge-triggered: the hub drains its poller next, and any
                // event after this raises a new edge.
                ready.clear_ready();
                return Poll::Ready(());
            }
            Poll::Ready(Err(e)) => panic!("eventlet-rt: tokio lost the hub's poller: {e}"),
            Poll::Pending => {}
        }
        if self.timed {
            let mut sleep = self.driver.sleep.borrow_mut();
            if let Some(sleep) = sleep.as_mut()
                && sleep.as_mut().poll(cx).is_ready()
            {
                return Poll::Ready(());
            }
        }
        Poll::Pending
    }
}
