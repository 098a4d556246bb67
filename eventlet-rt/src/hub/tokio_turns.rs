//! When and how the hub's loop drives its tokio runtime (feature `tokio`):
//! its waits inside tokio's driver, its turns while busy, the hook that ends
//! a wait once a green thread is runnable, and the refusal to block inside a
//! turn. `future/tokio_driver.rs` holds the runtime; this decides when it runs.

#[cfg(feature = "tokio")]
use std::time::{Duration, Instant};

use super::Hub;
#[cfg(feature = "tokio")]
use super::existing;
#[cfg(feature = "tokio")]
use crate::future::tokio_driver::TokioDriver;

impl Hub {
    /// True while the hub's tokio runtime has spawned tasks alive.
    pub(super) fn tokio_has_tasks(&self) -> bool {
        #[cfg(feature = "tokio")]
        if let Some(driver) = self.tokio.borrow().as_ref() {
            return driver.has_tasks();
        }
        false
    }

    /// The hub's tokio runtime if tokio has work (tasks, or green threads
    /// waiting on futures) and can be driven from here now.
    #[cfg(feature = "tokio")]
    fn tokio_to_drive(&self) -> Option<std::cell::Ref<'_, TokioDriver>> {
        let driver = std::cell::Ref::filter_map(self.tokio.borrow(), Option::as_ref).ok()?;
        let busy = self.futures_waiting.get() > 0 || driver.has_tasks();
        (busy && driver.can_turn()).then_some(driver)
    }

    /// Waits for events inside tokio's driver when tokio has work: true when
    /// it did (and took in the hub's own events after).
    ///
    /// The inbox is told the hub is parked first, as for a wait in the
    /// poller, so posts from other threads write its eventfd, which is in
    /// the hub's epoll set, which tokio watches.
    #[cfg(feature = "tokio")]
    pub(super) fn wait_in_tokio(&self, deadline: Option<Instant>) -> bool {
        let Some(driver) = self.tokio_to_drive() else {
            return false;
        };
        let timeout = deadline.map(|deadline| deadline.saturating_duration_since(Instant::now()));
        self.poller.inbox().parked(timeout, |timeout| {
            if timeout != Some(Duration::ZERO) {
                driver.wait(deadline, &|| !self.run_queue.borrow().is_empty());
            }
        });
        drop(driver);
        self.last_tokio_turn.set(Instant::now());
        while self
            .poller
            .poll(Some(Duration::ZERO), |task| self.unpark_owned(task))
        {}
        self.fire_due_timers(Instant::now());
        true
    }

    /// A busy hub gives tokio a turn (its tasks, I/O and timers) at most
    /// every [`TOKIO_TURN_INTERVAL`](crate::tuning::TOKIO_TURN_INTERVAL)
    /// while tokio has work.
    #[cfg(feature = "tokio")]
    pub(super) fn tokio_turn_if_due(&self) {
        let Some(driver) = self.tokio_to_drive() else {
            return;
        };
        let now = Instant::now();
        if now.duration_since(self.last_tokio_turn.get()) >= crate::tuning::TOKIO_TURN_INTERVAL {
            self.last_tokio_turn.set(now);
            driver.turn();
        }
    }

    /// Tokio is about to block in its driver during a wait of the hub's: if
    /// a green thread became runnable meanwhile, the wait ends instead.
    #[cfg(feature = "tokio")]
    fn before_tokio_blocks(&self) {
        if self.run_queue.borrow().is_empty() {
            return;
        }
        if let Ok(tokio) = self.tokio.try_borrow()
            && let Some(driver) = tokio.as_ref()
        {
            driver.wake_waiter();
        }
    }

    /// The main context may not block while the hub's loop runs tokio: the
    /// code asking is a tokio task (or a waker) polled by the hub itself.
    #[cfg(feature = "tokio")]
    pub(super) fn refuse_to_block_in_a_tokio_turn(&self) {
        let turning = self
            .tokio
            .try_borrow()
            .is_ok_and(|tokio| tokio.as_ref().is_some_and(TokioDriver::is_turning));
        if turning {
            panic!(
                "eventlet-rt: a tokio task (run by the hub's tokio driver, outside any green \
                 thread) called eventlet_rt::block_on or a blocking green primitive, which would \
                 block the hub that runs it. Inside async code, `.await` the future instead; to \
                 run blocking-style code, start a green thread with eventlet_rt::spawn and let \
                 the task await a channel it sends to."
            );
        }
    }

    /// Drops the hub's tokio runtime (teardown): its tasks are dropped, its
    /// context is left.
    pub(crate) fn stop_tokio(&self) {
        #[cfg(feature = "tokio")]
        {
            let driver = self.tokio.borrow_mut().take();
            drop(driver);
        }
    }
}

/// The hook tokio calls before it blocks in its driver.
#[cfg(feature = "tokio")]
pub(super) fn before_tokio_parks() {
    if let Some(hub) = existing() {
        hub.before_tokio_blocks();
    }
}
