//! The peers, set up for one core: tokio `current_thread` and `may` with one worker.

use std::future::Future;
use std::sync::Once;
use std::time::{Duration, Instant};

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

/// Times `iters` runs of `round` inside `block_on` on `runtime` (for
/// criterion's `iter_custom`): the loop starts after the runtime is entered.
pub fn time_tokio_rounds<R, F>(
    runtime: &tokio::runtime::Runtime,
    iters: u64,
    mut round: R,
) -> Duration
where
    R: FnMut() -> F,
    F: Future<Output = ()>,
{
    runtime.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            round().await;
        }
        start.elapsed()
    })
}

/// Times `iters` runs of `round` inside a `may` coroutine on its one worker
/// (for criterion's `iter_custom`; see [`in_may`]).
pub fn time_may_rounds<R>(iters: u64, mut round: R) -> Duration
where
    R: FnMut() + Send + 'static,
{
    in_may(move || {
        let start = Instant::now();
        for _ in 0..iters {
            round();
        }
        start.elapsed()
    })
}
