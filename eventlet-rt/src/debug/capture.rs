//! Recording the stack of another OS thread: a signal handler that stores raw
//! return addresses in a static buffer, symbolized later by the watchdog.

use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const MAX_FRAMES: usize = 64;

/// One capture at a time: the watchdog is a single thread and waits for each.
static FRAMES: [AtomicUsize; MAX_FRAMES] = [const { AtomicUsize::new(0) }; MAX_FRAMES];
static FRAME_COUNT: AtomicUsize = AtomicUsize::new(0);
static CAPTURED: AtomicBool = AtomicBool::new(false);

extern "C" fn record_stack(_: libc::c_int) {
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
        // only touches atomics and the unwinder, and SA_RESTART keeps the
        // interrupted system calls of the watched thread going.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = record_stack as *const () as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGURG, &action, std::ptr::null_mut());
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

/// Interrupts the thread (through `interrupt`) and returns the symbolized
/// frames of its stack, or `None` if it did not answer within `patience`.
pub(crate) fn stack_of(
    interrupt: impl FnOnce() -> bool,
    patience: Duration,
) -> Option<Vec<String>> {
    CAPTURED.store(false, Ordering::Release);
    if !interrupt() {
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
    let mut lines = Vec::new();
    for frame in &FRAMES[..count] {
        let ip = frame.load(Ordering::Relaxed) as *mut std::ffi::c_void;
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
        .position(|l| l.contains("record_stack"))
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
        .position(|l| l.contains("eventlet_rt::greenthread::TaskCell"))
    {
        frames.truncate(end);
    }
    Some(frames)
}
