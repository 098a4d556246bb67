//! Deadlines of socket waits on one timer per task, kept armed from one wait
//! to the next.
//!
//! A connection waits for its next request with a read timeout, is woken by
//! the bytes long before it passes, and waits again a moment later with a
//! deadline a little further on. Arming and cancelling a timer per wait is
//! most of what such a wait costs. Instead the task keeps the timer it armed
//! (see [`IoDeadline`]) while it only runs or waits on sockets: a later wait
//! whose deadline is no earlier reuses it, and when it fires during such a
//! wait it either times the wait out or, the deadline having moved on,
//! re-arms itself for the new one. So a busy connection arms a timer about
//! once per timeout, not once per request.
//!
//! The timer never outlives the reason for it: any other kind of park drops
//! it (so a hub whose green threads all wait on something else sees no timer
//! and can tell it is stuck), and so does the end of the task (the timer
//! holds a reference to it).

use std::time::Instant;

use super::{Hub, TimerAction};
use crate::task::{Header, IoDeadline, TaskRef};

impl Hub {
    /// Parks the running task in a socket wait until it is unparked or
    /// `deadline` passes; true when unparked first.
    pub(crate) fn park_for_io(&self, deadline: Instant) -> bool {
        let header = self.current_header();
        let timer = &header.io_deadline;
        match timer.armed.get() {
            // It fires first, and re-arms itself if the wait goes on.
            Some((_, fires_at)) if fires_at <= deadline => {}
            armed => {
                if let Some((key, _)) = armed {
                    self.cancel_timer(key);
                }
                let key = self.add_timer(deadline, TimerAction::IoDeadline(self.current_task()));
                timer.armed.set(Some((key, deadline)));
            }
        }
        // A wait of the main context can nest in another (a destructor the
        // hub's loop runs while main waits): the outer wait's state comes back
        // when this one ends.
        let outer = (
            timer.waiting_until.replace(Some(deadline)),
            timer.expired.replace(false),
        );
        let _waiting = IoWait { timer, outer };
        self.park();
        !timer.expired.get()
    }

    /// A task's I/O deadline timer fired at `now`: the task's socket wait
    /// times out, or the timer follows the wait's later deadline, or (the
    /// task waits for no socket now) it lapses.
    pub(super) fn io_deadline_fired(&self, task: TaskRef, now: Instant) {
        let timer = &task.header().io_deadline;
        timer.armed.set(None);
        match timer.waiting_until.get() {
            Some(until) if until <= now => {
                timer.expired.set(true);
                self.unpark(&task);
            }
            Some(until) => {
                let key = self.add_timer(until, TimerAction::IoDeadline(task.clone()));
                timer.armed.set(Some((key, until)));
            }
            None => {}
        }
    }

    /// Drops the task's I/O deadline timer: it parks for something else, or
    /// it has ended.
    #[inline]
    pub(super) fn drop_io_deadline(&self, header: &Header) {
        if let Some((key, _)) = header.io_deadline.armed.take() {
            self.cancel_timer(key);
        }
    }
}

/// Ends a socket wait's deadline however the park ends (a kill unwinds
/// through it), giving back the state of the wait it nested in, if any.
struct IoWait<'a> {
    timer: &'a IoDeadline,
    /// The enclosing wait's deadline and whether it passed.
    outer: (Option<Instant>, bool),
}

impl Drop for IoWait<'_> {
    fn drop(&mut self) {
        self.timer.waiting_until.set(self.outer.0);
        self.timer.expired.set(self.outer.1);
    }
}
