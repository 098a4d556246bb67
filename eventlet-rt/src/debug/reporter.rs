//! The reporter thread: names the stacks of the stalls the watchdog found and
//! writes the reports, off the watchdog's thread.

use std::panic::Location;
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

/// A stall the watchdog saw, with the raw stack it recorded.
pub(crate) struct Stall {
    pub(crate) name: Option<Arc<str>>,
    pub(crate) spawned_at: Option<&'static Location<'static>>,
    pub(crate) held: Duration,
    /// Return addresses, or `None` if the hub's thread did not answer.
    pub(crate) frames: Option<Vec<usize>>,
}

/// The reporter's queue, and the count of stalls sent but not yet written.
struct Reporter {
    stalls: Sender<Stall>,
    pending: Mutex<usize>,
    written: Condvar,
}

fn reporter() -> &'static Reporter {
    static REPORTER: OnceLock<Reporter> = OnceLock::new();
    REPORTER.get_or_init(|| {
        let (stalls, receiver) = mpsc::channel();
        std::thread::Builder::new()
            .name("eventlet-blocking-reporter".into())
            .spawn(move || {
                for stall in receiver {
                    report(stall);
                    let reporter = reporter();
                    *reporter.pending.lock().unwrap_or_else(|p| p.into_inner()) -= 1;
                    reporter.written.notify_all();
                }
            })
            .expect("eventlet-rt: cannot start the blocking-detection reporter thread");
        Reporter {
            stalls,
            pending: Mutex::new(0),
            written: Condvar::new(),
        }
    })
}

/// Queues `stall` to be reported.
pub(crate) fn send(stall: Stall) {
    let reporter = reporter();
    *reporter.pending.lock().unwrap_or_else(|p| p.into_inner()) += 1;
    let sent = reporter.stalls.send(stall);
    // The reporter thread never ends while the process runs.
    debug_assert!(sent.is_ok());
}

/// Returns once every stall sent so far is written.
pub(crate) fn flush() {
    let reporter = reporter();
    let mut pending = reporter.pending.lock().unwrap_or_else(|p| p.into_inner());
    while *pending > 0 {
        pending = reporter
            .written
            .wait(pending)
            .unwrap_or_else(|p| p.into_inner());
    }
}

fn report(stall: Stall) {
    let Stall {
        name,
        spawned_at,
        held,
        frames,
    } = stall;
    let name = name.as_deref().unwrap_or("<unnamed>");
    let spawned_at = spawned_at.map_or_else(|| "an unknown place".to_string(), |at| at.to_string());
    let frames = match frames {
        Some(frames) => super::capture::symbolize(&frames)
            .iter()
            .map(|frame| format!("\n    {frame}"))
            .collect::<String>(),
        None => "\n    (the thread did not answer the backtrace signal)".to_string(),
    };
    let message = format!(
        "green thread '{name}' (spawned at {spawned_at}) has held the hub for {held:?} without \
         yielding: it blocks every other green thread of its OS thread. Use green primitives \
         (eventlet_rt::sleep, green sockets) or move the work to eventlet_rt::tpool. Its stack:{frames}"
    );
    if tracing::dispatcher::has_been_set() {
        tracing::warn!(target: "eventlet_rt::blocking", green_thread = name, spawned_at = %spawned_at, held = ?held, "{message}");
    } else {
        eprintln!("eventlet-rt: {message}");
    }
}
