//! Debugging aids: Eventlet's blocking detector.
//!
//! Green threads are cooperative: one that computes for long, or calls a
//! *real* blocking function (`std::thread::sleep`, a blocking `std::net`
//! socket, a mutex held elsewhere) holds up every other green thread of its OS
//! thread. [`blocking_detection`] finds them, as Eventlet's
//! `debug.hub_blocking_detection` does.
//!
//! A watchdog OS thread (started on first use, one for the process) checks
//! each watched hub every quarter of its threshold. When the same green thread
//! has held the hub for longer than the threshold, the watchdog interrupts the
//! hub's OS thread with `SIGURG` and records its stack there; a reporter
//! thread then names that stack (slow the first time: it loads debug info)
//! while the watchdog goes on watching, and reports the green thread's name, where it was spawned, how long it has run and that
//! backtrace: as a `tracing` warning (target `eventlet_rt::blocking`) when a
//! `tracing` subscriber is set, else on stderr. Each stall is reported once.
//!
//! The first report installs a `SIGURG` handler for the process. A `SIGURG`
//! the watchdog did not send (TCP urgent data, a program's own use) goes on
//! to the handler that was installed before it, so a program that handles
//! `SIGURG` itself keeps working; one that installs its handler *after*
//! turning the detector on replaces the detector's and loses its backtraces.
//!
//! Off by default, and free when off: a hub that is not watched only tests a
//! flag per switch. The main context is not watched (the hub only runs while
//! it is blocked), only green threads are. Recording the stack runs the
//! unwinder inside a signal handler, which is fine for debugging but not
//! something to leave on in production.
//!
//! ```
//! use std::time::Duration;
//! eventlet_rt::debug::blocking_detection(Duration::from_millis(100));
//! let polite = eventlet_rt::spawn(|| eventlet_rt::sleep(Duration::from_millis(10)));
//! polite.wait().unwrap(); // blocks green, never reported
//! eventlet_rt::debug::stop_blocking_detection();
//! ```

mod capture;
mod reporter;
mod watchdog;

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use crate::hub;
use watchdog::HubProbe;

thread_local! {
    /// The probe this OS thread's hub reports its switches to, while watched.
    static PROBE: RefCell<Option<Arc<HubProbe>>> = const { RefCell::new(None) };
}

/// Watches the calling OS thread's hub: any green thread that holds it
/// longer than `threshold` without yielding is reported (see the module docs).
///
/// Calling it again changes the threshold.
///
/// # Panics
/// If `threshold` is zero.
///
/// ```
/// use std::time::Duration;
/// eventlet_rt::debug::blocking_detection(Duration::from_millis(250));
/// assert!(eventlet_rt::debug::is_blocking_detection_on());
/// eventlet_rt::debug::stop_blocking_detection();
/// assert!(!eventlet_rt::debug::is_blocking_detection_on());
/// ```
pub fn blocking_detection(threshold: Duration) {
    assert!(
        !threshold.is_zero(),
        "blocking_detection needs a threshold above zero; to turn it off call stop_blocking_detection()"
    );
    let hub = hub::current();
    PROBE.with(|probe| {
        let mut probe = probe.borrow_mut();
        match &*probe {
            Some(existing) if hub.has_switch_observer() => existing.set_threshold(threshold),
            _ => {
                let new = HubProbe::new(threshold);
                hub.set_switch_observer(Some(new.clone()));
                *probe = Some(new);
            }
        }
    });
}

/// Stops watching the calling OS thread's hub.
///
/// Returns once every stall seen so far is reported (naming a stack can take
/// seconds the first time debug info loads), so a program that stops
/// watching before it exits loses none.
///
/// ```
/// eventlet_rt::debug::stop_blocking_detection(); // harmless when it was off
/// ```
pub fn stop_blocking_detection() {
    hub::current().set_switch_observer(None);
    let _ = PROBE.try_with(|probe| probe.borrow_mut().take());
    watchdog::flush_reports();
}

/// True while the calling OS thread's hub is watched.
///
/// ```
/// assert!(!eventlet_rt::debug::is_blocking_detection_on());
/// ```
pub fn is_blocking_detection_on() -> bool {
    hub::current().has_switch_observer()
}
