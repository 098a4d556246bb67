//! Recording the stack of another OS thread: a signal handler that stores raw
//! return addresses in a static buffer, symbolized later by the watchdog.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Once, OnceLock};
use std::time::{Duration, Instant};

use crate::signal_chain::call_previous;

const MAX_FRAMES: usize = 64;

/// One capture at a time: the watchdog is a single thread and waits for each.
static FRAMES: [AtomicUsize; MAX_FRAMES] = [const { AtomicUsize::new(0) }; MAX_FRAMES];
static FRAME_COUNT: AtomicUsize = AtomicUsize::new(0);
static CAPTURED: AtomicBool = AtomicBool::new(false);
/// Set by the watchdog just before it sends its `SIGURG`: a `SIGURG` that
/// finds it clear is somebody else's (TCP urgent data, the program's own)
/// and goes to the handler that was installed before ours.
static REQUESTED: AtomicBool = AtomicBool::new(false);
/// The `SIGURG` action in place before ours.
static PREVIOUS: OnceLock<libc::sigaction> = OnceLock::new();

extern "C" fn on_sigurg(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    if REQUESTED.swap(false, Ordering::AcqRel) {
        record_stack();
    } else {
        forward(signal, info, context);
    }
}

/// Hands a `SIGURG` that is not ours to the previous handler, if any.
fn forward(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    let Some(previous) = PREVIOUS.get() else {
        return;
    };
    // SIGURG's default action is to ignore it: nothing to do then.
    call_previous(previous, signal, info, context);
}

fn record_stack() {
    let mut count = 0;
    // SAFETY: `trace_unsynchronized` must not run concurrently with other
    // unsynchronized traces; the watchdog sends one signal at a time and waits
    // for `CAPTURED` before it sends the next. The closure only stores to
    // atomics: no allocation, no locks.
    unsafe {
        backtrace::trace_unsynchronized(|frame| {
            FRAMES[count].store(frame.ip() as usize, Ordering::Relaxed);
            count += 1;
            count < MAX_FRAMES
        });
    }
    FRAME_COUNT.store(count, Ordering::Relaxed);
    CAPTURED.store(true, Ordering::Release);
}

fn install_handler() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // SAFETY: a zeroed `sigaction` is a valid empty action; the handler
        // only touches atomics and the unwinder (or calls the previous
        // handler), and SA_RESTART keeps the interrupted system calls of the
        // watched thread going. `sigaction` swaps the actions in one call; a
        // `SIGURG` that arrives before `PREVIOUS` is set is dropped, as the
        // default action (ignore) would have done.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_sigurg as *const () as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART | libc::SA_SIGINFO;
            libc::sigemptyset(&mut action.sa_mask);
            let mut previous: libc::sigaction = std::mem::zeroed();
            libc::sigaction(libc::SIGURG, &action, &mut previous);
            let _ = PREVIOUS.set(previous);
        }
    });
}

/// Sends `SIGURG` to `thread` while `alive` holds.
///
/// The hub's thread sets `alive` to false (under the same lock) before it
/// ends, so the id is never used for a thread that has exited.
pub(crate) fn interrupt(thread: libc::pthread_t, alive: &std::sync::Mutex<bool>) -> bool {
    install_handler();
    let alive = alive.lock().unwrap_or_else(|p| p.into_inner());
    // SAFETY: `thread` is a live thread: `alive` is true and the thread
    // cannot end before it takes the lock we hold to set it to false.
    *alive && unsafe { libc::pthread_kill(thread, libc::SIGURG) } == 0
}

/// Interrupts the thread (through `interrupt`) and returns the return
/// addresses on its stack, or `None` if it did not answer within `patience`.
pub(crate) fn stack_of(interrupt: impl FnOnce() -> bool, patience: Duration) -> Option<Vec<usize>> {
    CAPTURED.store(false, Ordering::Release);
    REQUESTED.store(true, Ordering::Release);
    if !interrupt() {
        REQUESTED.store(false, Ordering::Release);
        return None;
    }
    let deadline = Instant::now() + patience;
    while !CAPTURED.load(Ordering::Acquire) {
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let count = FRAME_COUNT.load(Ordering::Relaxed);
    Some(
        FRAMES[..count]
            .iter()
            .map(|frame| frame.load(Ordering::Relaxed))
            .collect(),
    )
}

/// Names the frames recorded by [`stack_of`], from the blocking call down to
/// the green thread's body. Slow the first time (it loads debug info).
pub(crate) fn symbolize(frames: &[usize]) -> Vec<String> {
    let mut lines = Vec::new();
    for &frame in frames {
        let ip = frame as *mut std::ffi::c_void;
        backtrace::resolve(ip, |symbol| {
            let name = symbol
                .name()
                .map(|n| format!("{n:#}"))
                .unwrap_or_else(|| format!("{ip:?}"));
            let place = match (symbol.filename(), symbol.lineno()) {
                (Some(file), Some(line)) => format!(" at {}:{line}", file.display()),
                _ => String::new(),
            };
            lines.push(format!("{name}{place}"));
        });
    }
    // Drop the frames of the signal handler itself.
    let skip = lines
        .iter()
        .position(|l| l.contains("on_sigurg"))
        .map_or(0, |at| at + 1);
    let skip = lines
        .iter()
        .skip(skip)
        .position(|l| !l.contains("sigreturn") && !l.starts_with("0x"))
        .map_or(skip, |at| skip + at);
    let mut frames = lines.split_off(skip.min(lines.len()));
    // Below the green thread's body there is only the runtime's machinery.
    if let Some(end) = frames
        .iter()
        .position(|l| l.contains("eventlet_rt::greenthread::cell::TaskCell"))
    {
        frames.truncate(end);
    }
    frames
}
