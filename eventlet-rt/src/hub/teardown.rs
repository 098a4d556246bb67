//! The end of a hub: at thread exit, what is left is killed and freed.
//!
//! Killed green threads unwind, and their destructors may block (a polite
//! close sleeps, writes a goodbye, waits for the peer's answer): teardown
//! drives timers and sockets for them for a grace period, then abandons only
//! what is still blocked, and says so.

use std::cell::Cell;
use std::time::{Duration, Instant};

use super::{HUB, Hub, LoopDepth};
use crate::task::{Interrupt, State, TaskRef};

/// How long teardown lets killed green threads finish unless set otherwise:
/// one second, as gevent's `stop(timeout)`.
pub(super) const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(1);

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

    /// Kills what is left and frees the hub, once.
    fn tear_down(&self) {
        if !self.armed.replace(false) {
            return;
        }
        let hub = HUB.with(Cell::get);
        if hub.is_null() {
            return;
        }
        // SAFETY: `hub` came from `Box::leak` in `create` and has not been
        // freed: only this function frees it, once per arming (`armed` is
        // lowered above), and `create` arms the owner only with a new hub.
        let hub_ref: &Hub = unsafe { &*hub };
        hub_ref.kill_everything();
        HUB.with(|cell| cell.set(std::ptr::null()));
        // SAFETY: as above; `HUB` no longer points at the hub, so nothing can
        // reach it after this line.
        drop(unsafe { Box::from_raw(hub.cast_mut()) });
    }
}

impl Drop for HubOwner {
    fn drop(&mut self) {
        self.tear_down();
    }
}

/// Tears the calling thread's hub down now, as the thread's exit would: its
/// green threads are killed, driven for the grace period, and those still
/// blocked then are abandoned. For a thread whose hub's work is over but
/// which must act once the hub is gone (a hub of `Hubs` settles what its
/// abandoned green threads left unsaid). Using the hub again afterwards
/// creates a new one. Call it from the thread's main context only, outside
/// any green thread and any run of the hub's loop.
pub(crate) fn tear_down() {
    // During thread-local teardown the owner does it itself.
    let _ = super::HUB_OWNER.try_with(HubOwner::tear_down);
}

impl Hub {
    /// Kills every green thread so their destructors run, drives the loop
    /// while they finish (for the grace period at most), then drops what is
    /// queued and abandons what is left.
    fn kill_everything(&self) {
        self.shutting_down.set(true);
        self.set_switch_observer(None);
        // Main's socket deadline timer (kept from its last timed socket
        // wait) waits for nothing now: it must not hold the loop below.
        self.drop_io_deadline(self.main.header());
        let deadline = Instant::now() + self.teardown_grace.get();
        // Main-context parks from here on (a destructor of a body that never
        // ran) are nested in this loop.
        let depth = self.loop_depth.get() + 1;
        let _depth = LoopDepth::enter(self, depth);
        loop {
            let live: Vec<TaskRef> = self.live.borrow().iter().map(|(_, t)| t.clone()).collect();
            for task in &live {
                task.header().raise(Interrupt::Kill);
                self.unpark(task);
            }
            self.drain_run_queue();
            if self.live.borrow().is_empty() || !self.drive_until(deadline) {
                break;
            }
        }
        self.rewake_depth.set(0);
        self.drain_run_queue();
        self.stop_tokio();
        let timers = self.timers.borrow_mut().drain();
        // Main goes on: its record of a socket deadline timer is stale now.
        self.main.header().io_deadline.armed.set(None);
        drop(timers);
        self.poller.clear_remote();
        self.abandon_the_rest();
        self.refusals.flush();
        self.stacks.clear();
    }

    /// Waits for the next due timer or ready socket, up to `deadline`, and
    /// wakes whom it concerns; false when nothing can come any more (past the
    /// deadline, or no timer, socket or thread-pool job left to wait for).
    fn drive_until(&self, deadline: Instant) -> bool {
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        if self.fire_due_timers(now) {
            return true;
        }
        let next_timer = self.timers.borrow_mut().next_deadline();
        let waits_for_io = self.poller.io_waiters() > 0 || self.poller.remote_waits() > 0;
        if next_timer.is_none() && !waits_for_io {
            return false;
        }
        let until = next_timer.map_or(deadline, |timer| timer.min(deadline));
        self.poll_events(Some(until.saturating_duration_since(now)));
        true
    }

    /// Green threads that would not finish in time keep their stacks (their
    /// frames are never resumed nor unwound), and are named on stderr.
    fn abandon_the_rest(&self) {
        let stubborn: Vec<TaskRef> = self.live.borrow_mut().drain().collect();
        if stubborn.is_empty() {
            return;
        }
        let names: Vec<String> = stubborn
            .iter()
            .take(10)
            .map(|task| {
                let header = task.header();
                let name = header.name.borrow().clone();
                let name = name
                    .as_deref()
                    .map_or("<unnamed>".to_string(), |n| format!("'{n}'"));
                format!("{name} spawned at {}", header.spawned_at)
            })
            .collect();
        let more = stubborn.len().saturating_sub(names.len());
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        eprintln!(
            "eventlet-rt: at thread exit, {} green thread(s) were still blocked {:?} after they \
             were killed, and were abandoned (their stacks are leaked, the rest of their \
             destructors never run): {}{more}. A destructor that blocks at thread exit must \
             finish within the grace period (`eventlet_rt::hub::set_teardown_grace_period`).",
            stubborn.len(),
            self.teardown_grace.get(),
            names.join(", "),
        );
        for task in stubborn {
            if let Some(coroutine) = task.header().coroutine.take() {
                std::mem::forget(coroutine);
            }
            task.header().state.set(State::Done);
        }
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
