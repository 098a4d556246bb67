//! The end of a hub: at thread exit, what is left is killed and freed.

use std::cell::Cell;

use super::{HUB, Hub};
use crate::task::{Interrupt, State, TaskRef};

/// Rounds of kills a green thread gets at teardown before it is abandoned.
const KILL_ROUNDS: usize = 3;

/// Owns the thread's hub: its destructor runs at thread exit.
pub(crate) struct HubOwner {
    armed: Cell<bool>,
}

impl HubOwner {
    pub(crate) const fn new() -> HubOwner {
        HubOwner {
            armed: Cell::new(false),
        }
    }

    pub(crate) fn arm(&self) {
        self.armed.set(true);
    }
}

impl Drop for HubOwner {
    fn drop(&mut self) {
        if !self.armed.get() {
            return;
        }
        let hub = HUB.with(Cell::get);
        if hub.is_null() {
            return;
        }
        // SAFETY: `hub` came from `Box::leak` in `create` and has not been
        // freed: only this destructor frees it, and it runs once per thread.
        let hub_ref: &Hub = unsafe { &*hub };
        hub_ref.kill_everything();
        HUB.with(|cell| cell.set(std::ptr::null()));
        // SAFETY: as above; `HUB` no longer points at the hub, so nothing can
        // reach it after this line.
        drop(unsafe { Box::from_raw(hub.cast_mut()) });
    }
}

impl Hub {
    /// Kills every green thread so their destructors run, then drops what is queued.
    fn kill_everything(&self) {
        self.shutting_down.set(true);
        self.watch_blocking(None);
        for _ in 0..KILL_ROUNDS {
            let live: Vec<TaskRef> = self.live.borrow().iter().map(|(_, t)| t.clone()).collect();
            if live.is_empty() {
                break;
            }
            for task in &live {
                task.header().raise(Interrupt::Kill);
                self.unpark(task);
            }
            self.drain_run_queue();
        }
        self.drain_run_queue();
        let timers = self.timers.borrow_mut().drain();
        drop(timers);
        self.poller.clear_remote();
        // Green threads that would not die keep their stacks: cancelling a
        // generator that swallows unwinds could run forever.
        let stubborn: Vec<TaskRef> = self.live.borrow_mut().drain().collect();
        for task in stubborn {
            if let Some(coroutine) = task.header().coroutine.take() {
                std::mem::forget(coroutine);
            }
            task.header().state.set(State::Done);
        }
        self.stacks.clear();
    }

    fn drain_run_queue(&self) {
        loop {
            let next = self.run_queue.borrow_mut().pop_front();
            let Some(task) = next else {
                return;
            };
            if !task.header().is_main {
                self.run_task(task);
            }
        }
    }
}
