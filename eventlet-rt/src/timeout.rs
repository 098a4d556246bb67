//! `with_timeout`: a deadline for a block of green code.

use std::fmt;
use std::time::{Duration, Instant};

use crate::hub::{self, TimerAction, TimerGuard};
use crate::task::{Caught, Interrupt, Unwind};

/// The error of [`with_timeout`] when time ran out.
///
/// ```
/// use std::time::Duration;
/// let outcome = eventlet_rt::with_timeout(Duration::from_millis(5), || {
///     eventlet_rt::sleep(Duration::from_secs(60))
/// });
/// assert_eq!(outcome, Err(eventlet_rt::TimedOut));
/// assert_eq!(eventlet_rt::TimedOut.to_string(), "the operation timed out");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimedOut;

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the operation timed out")
    }
}

impl std::error::Error for TimedOut {}

impl From<TimedOut> for std::io::Error {
    fn from(_: TimedOut) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::TimedOut, TimedOut)
    }
}

/// Runs `f` in the calling green thread; if `duration` passes first, the
/// green blocking call in progress unwinds and `Err(TimedOut)` comes back.
///
/// The unwind runs the destructors of everything `f` holds. Code that never
/// blocks on a green primitive cannot be interrupted (nothing is preempted).
/// Nested timeouts each fire for their own scope only: an inner scope never
/// swallows the outer one's timeout.
///
/// ```
/// use std::time::Duration;
/// use eventlet_rt::{with_timeout, sleep, TimedOut};
///
/// let slow = with_timeout(Duration::from_millis(10), || sleep(Duration::from_secs(60)));
/// assert_eq!(slow, Err(TimedOut));
/// let fast = with_timeout(Duration::from_secs(60), || 7);
/// assert_eq!(fast, Ok(7));
/// ```
pub fn with_timeout<T>(duration: Duration, f: impl FnOnce() -> T) -> Result<T, TimedOut> {
    let hub = hub::current();
    let scope = hub.next_scope_id();
    let task = hub.current_task();
    let timer = hub.add_timer(
        Instant::now() + duration,
        TimerAction::Interrupt(task.clone(), Interrupt::Timeout(scope)),
    );
    let guard = TimerGuard { hub, timer };
    let outcome = hub::catch(f);
    drop(guard);
    // A timeout of this scope that fired but was not raised (the body ended
    // first) must not unwind some later, unrelated blocking call.
    let header = task.header();
    if header.interrupt.get() == Interrupt::Timeout(scope) {
        header.interrupt.set(Interrupt::None);
    }
    match outcome {
        Ok(value) => Ok(value),
        Err(Caught::Runtime(Unwind::TimedOut(id))) if id == scope => Err(TimedOut),
        Err(other) => hub::rethrow(other),
    }
}
