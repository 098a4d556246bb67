//! A pool of OS threads for blocking work, so the hub keeps running
//! (Eventlet's `eventlet.tpool`).
//!
//! [`execute`] hands a closure to a worker thread and parks only the calling
//! green thread; when the closure returns, the worker wakes that green thread
//! through its hub's poller (a `mio::Waker`): no polling loop, no busy wait.
//! Use it for what cannot be made green: blocking system calls, C libraries,
//! CPU-heavy work, file I/O. Green name resolution goes through it too.
//!
//! The pool is shared by the whole process and elastic, as tokio's blocking
//! pool: a job that finds no idle worker starts a new one, up to
//! [`num_threads`] (default [`DEFAULT_NUM_THREADS`] = 512, as tokio's, or the
//! value of the `EVENTLET_THREADPOOL_SIZE` environment variable, or
//! [`set_num_threads`]); jobs beyond that wait in a FIFO queue. A worker
//! idle for [`keep_alive`] (default [`DEFAULT_KEEP_ALIVE`] = 10 s, as tokio's;
//! see [`set_keep_alive`]) ends, so a burst leaves no threads behind.
//!
//! # Third-party blocking crates
//! Each job holds an OS thread for as long as it blocks. That is the right
//! tool for a call that cannot be made green: a C library, file I/O, a
//! crate that waits on a `std::sync` lock or condition variable, CPU-heavy
//! work. For a client that talks over sockets (redis, a database driver,
//! an HTTP client), prefer green sockets ([`green::net`](crate::green::net),
//! or [`#[green]`](macro@crate::green) over code written against `std::net`):
//! then a thousand waits cost a thousand green threads, not a thousand OS
//! threads. When a blocking client does go through `execute`, size the cap
//! for the longest waits that can be in flight at once: waits that depend on one another (a `BLPOP` and the
//! `LPUSH` that answers it) deadlock when the waiters fill the pool and the
//! job that would release them queues behind them. Eventlet's fixed pool of
//! 20 starved exactly so; the elastic pool grows to the cap instead.
//!
//! ```
//! use std::time::Duration;
//!
//! // A green thread keeps ticking while the pool does blocking work.
//! let ticker = eventlet_rt::spawn(|| {
//!     let mut ticks = 0;
//!     for _ in 0..5 {
//!         eventlet_rt::sleep(Duration::from_millis(5));
//!         ticks += 1;
//!     }
//!     ticks
//! });
//! let sum = eventlet_rt::tpool::execute(|| {
//!     std::thread::sleep(Duration::from_millis(60)); // blocks a pool thread, not the hub
//!     (1..=10u64).sum::<u64>()
//! });
//! assert_eq!(sum, 55);
//! assert_eq!(ticker.wait().unwrap(), 5);
//! ```

use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::hub::RemoteCompletion;

/// The most OS threads the pool starts by default: tokio's blocking pool's
/// cap (Eventlet's fixed 20 starved long waits).
///
/// ```
/// assert_eq!(eventlet_rt::tpool::DEFAULT_NUM_THREADS, 512);
/// ```
pub const DEFAULT_NUM_THREADS: usize = 512;

/// How long an idle worker waits for a job before it ends, by default (tokio's).
///
/// ```
/// assert_eq!(eventlet_rt::tpool::DEFAULT_KEEP_ALIVE, std::time::Duration::from_secs(10));
/// ```
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(10);

/// The environment variable that sets the pool size, as in Eventlet.
const SIZE_VARIABLE: &str = "EVENTLET_THREADPOOL_SIZE";

type Job = Box<dyn FnOnce() + Send>;

struct Pool {
    state: Mutex<PoolState>,
    work_ready: Condvar,
}

struct PoolState {
    jobs: VecDeque<Job>,
    /// `None` until first use, then the configured or environment size.
    max_threads: Option<usize>,
    keep_alive: Duration,
    threads: usize,
    idle: usize,
    started: usize,
}

impl PoolState {
    fn max_threads(&mut self) -> usize {
        *self.max_threads.get_or_insert_with(|| {
            std::env::var(SIZE_VARIABLE)
                .ok()
                .and_then(|size| size.trim().parse().ok())
                .filter(|&size| size > 0)
                .unwrap_or(DEFAULT_NUM_THREADS)
        })
    }
}

static POOL: Pool = Pool {
    state: Mutex::new(PoolState {
        jobs: VecDeque::new(),
        max_threads: None,
        keep_alive: DEFAULT_KEEP_ALIVE,
        threads: 0,
        idle: 0,
        started: 0,
    }),
    work_ready: Condvar::new(),
};

fn lock() -> MutexGuard<'static, PoolState> {
    // Jobs run outside the lock and catch their own panics: a poisoned lock
    // can only come from a failed thread spawn, and the state is still sound.
    POOL.state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `f` on a pool thread and returns its result; only the calling green
/// thread waits, the hub runs the others meanwhile.
///
/// A panic in `f` is raised again in the caller with the same payload.
/// Killing the waiting green thread (or a [`with_timeout`](crate::with_timeout)
/// around the call) unwinds it at once; `f` still runs to its end on its pool
/// thread and its result is dropped there.
///
/// Calling `execute` from inside a job ties up two pool threads; a pool full
/// of jobs doing so deadlocks, as in Eventlet.
///
/// ```
/// let hash = eventlet_rt::tpool::execute(|| {
///     // Stand-in for a blocking call: file I/O, a C library, heavy hashing.
///     (0..1_000_000u64).fold(0u64, |h, i| h.wrapping_mul(31).wrapping_add(i))
/// });
/// assert_ne!(hash, 0);
///
/// let caught = std::panic::catch_unwind(|| eventlet_rt::tpool::execute(|| panic!("in the pool")));
/// assert!(caught.is_err());
/// ```
pub fn execute<F, T>(f: F) -> T
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let (completion, waker) = RemoteCompletion::new();
    let outcome = Arc::new(Mutex::new(None));
    let slot = outcome.clone();
    submit(Box::new(move || {
        let result = panic::catch_unwind(AssertUnwindSafe(f));
        *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(result);
        waker.wake();
    }));
    completion.wait();
    let result = outcome
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
        .expect("eventlet-rt: a pool job woke its caller before storing its result");
    match result {
        Ok(value) => value,
        Err(payload) => panic::resume_unwind(payload),
    }
}

fn submit(job: Job) {
    let mut state = lock();
    state.jobs.push_back(job);
    let start_worker = state.jobs.len() > state.idle && state.threads < state.max_threads();
    if !start_worker {
        drop(state);
        POOL.work_ready.notify_one();
        return;
    }
    state.threads += 1;
    state.started += 1;
    let name = format!("eventlet-tpool-{}", state.started);
    drop(state);
    if let Err(error) = std::thread::Builder::new().name(name).spawn(work) {
        let mut state = lock();
        state.threads -= 1;
        if state.threads == 0 {
            panic!("eventlet-rt: the thread pool cannot start a worker thread: {error}");
        }
    }
}

/// A worker: runs jobs in FIFO order; waits while there are none; leaves
/// when it has been idle for the keep-alive, or when the pool has been made
/// smaller than the number of workers.
fn work() {
    let mut state = lock();
    let mut idle_since = Instant::now();
    loop {
        if state.threads > state.max_threads() {
            state.threads -= 1;
            return;
        }
        if let Some(job) = state.jobs.pop_front() {
            drop(state);
            job();
            state = lock();
            idle_since = Instant::now();
            continue;
        }
        let Some(patience) = state.keep_alive.checked_sub(idle_since.elapsed()) else {
            state.threads -= 1;
            return;
        };
        state.idle += 1;
        state = POOL
            .work_ready
            .wait_timeout(state, patience)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
        state.idle -= 1;
    }
}

/// Sets the most OS threads the pool runs at once (Eventlet's
/// `tpool.set_num_threads`). Growing takes effect with the next jobs;
/// shrinking lets surplus workers finish their job and leave.
///
/// # Panics
/// If `threads` is 0: the pool needs a thread to run anything.
///
/// ```
/// eventlet_rt::tpool::set_num_threads(8);
/// assert_eq!(eventlet_rt::tpool::num_threads(), 8);
/// assert_eq!(eventlet_rt::tpool::execute(|| 2 + 2), 4);
/// # eventlet_rt::tpool::set_num_threads(eventlet_rt::tpool::DEFAULT_NUM_THREADS);
/// ```
pub fn set_num_threads(threads: usize) {
    assert!(
        threads > 0,
        "eventlet-rt: tpool::set_num_threads(0): the pool needs at least one thread"
    );
    lock().max_threads = Some(threads);
    POOL.work_ready.notify_all();
}

/// The most OS threads the pool runs at once; see [`set_num_threads`].
///
/// ```
/// assert!(eventlet_rt::tpool::num_threads() >= 1);
/// ```
pub fn num_threads() -> usize {
    lock().max_threads()
}

/// OS threads the pool has running now (started on demand, at most
/// [`num_threads`]; idle ones end after [`keep_alive`]).
///
/// ```
/// eventlet_rt::tpool::execute(|| ());
/// assert!(eventlet_rt::tpool::running_threads() >= 1);
/// ```
pub fn running_threads() -> usize {
    lock().threads
}

/// Sets how long an idle worker waits for a job before it ends (default
/// [`DEFAULT_KEEP_ALIVE`]). Idle workers see the new value when they next
/// wait: at once for a shorter one.
///
/// ```
/// use std::time::Duration;
/// eventlet_rt::tpool::set_keep_alive(Duration::from_secs(30));
/// assert_eq!(eventlet_rt::tpool::keep_alive(), Duration::from_secs(30));
/// # eventlet_rt::tpool::set_keep_alive(eventlet_rt::tpool::DEFAULT_KEEP_ALIVE);
/// ```
pub fn set_keep_alive(keep_alive: Duration) {
    lock().keep_alive = keep_alive;
    POOL.work_ready.notify_all();
}

/// How long an idle worker waits for a job before it ends; see [`set_keep_alive`].
///
/// ```
/// assert!(eventlet_rt::tpool::keep_alive() > std::time::Duration::ZERO);
/// ```
pub fn keep_alive() -> Duration {
    lock().keep_alive
}
