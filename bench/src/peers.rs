//! The peers, set up for one core: tokio `current_thread` and `may` with one worker.

use std::sync::Once;

/// A tokio runtime on the calling thread only, with timers and I/O on.
pub fn tokio_current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio current_thread runtime")
}

/// Configures `may` for one worker thread, once, before its scheduler starts.
///
/// Pinning stays off so that `taskset` (run.sh) decides the core.
pub fn may_one_worker() {
    static CONFIGURE: Once = Once::new();
    CONFIGURE.call_once(|| {
        may::config().set_workers(1).set_worker_pin(false);
    });
}

/// Runs `f` inside a `may` coroutine on its one worker and returns its result.
///
/// The benchmarks time their loops inside `f`, so the cross-thread hand-off
/// from the calling thread to the worker is not measured.
pub fn in_may<T, F>(f: F) -> T
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    may_one_worker();
    may::go!(f).join().expect("may coroutine panicked")
}
