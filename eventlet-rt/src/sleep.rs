//! `sleep` and `yield_now`: giving the hub to other green threads.

use std::time::{Duration, Instant};

use crate::hub::{self, TimerAction, TimerGuard};

/// Blocks the calling green thread for `duration`; the others run meanwhile.
///
/// `sleep(Duration::ZERO)` is [`yield_now`]. Sleepers wake in deadline order,
/// those with the same deadline in the order they went to sleep. The hub's
/// poller sleeps in the kernel when nothing else is runnable: no busy loop.
///
/// ```
/// use std::time::{Duration, Instant};
/// let start = Instant::now();
/// let a = eventlet_rt::spawn(|| eventlet_rt::sleep(Duration::from_millis(30)));
/// let b = eventlet_rt::spawn(|| eventlet_rt::sleep(Duration::from_millis(30)));
/// a.wait().unwrap();
/// b.wait().unwrap();
/// // The two sleeps overlapped.
/// assert!(start.elapsed() < Duration::from_millis(55));
/// ```
pub fn sleep(duration: Duration) {
    if duration.is_zero() {
        return yield_now();
    }
    let hub = hub::current();
    let deadline = Instant::now() + duration;
    let timer = hub.add_timer(deadline, TimerAction::Wake(hub.current_task()));
    let _disarm_on_unwind = TimerGuard { hub, timer };
    while hub.timer_armed(timer) {
        hub.park();
    }
}

/// Lets every other runnable green thread run once, then continues.
///
/// ```
/// use std::{cell::Cell, rc::Rc};
/// let ran = Rc::new(Cell::new(false));
/// let r = ran.clone();
/// eventlet_rt::spawn_n(move || r.set(true));
/// assert!(!ran.get());
/// eventlet_rt::yield_now();
/// assert!(ran.get());
/// ```
#[inline]
pub fn yield_now() {
    hub::current().yield_now();
}
