//! The thread pool: blocking work off the hub, results and panics back to
//! the waiting green thread, kills while a job runs.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use eventlet_rt::{hub, spawn, tpool};

#[test]
fn the_hub_keeps_ticking_while_the_pool_blocks() {
    let ticks = Rc::new(Cell::new(0));
    let t = ticks.clone();
    let ticker = spawn(move || {
        while t.get() < 20 {
            eventlet_rt::sleep(Duration::from_millis(5));
            t.set(t.get() + 1);
        }
    });
    let start = Instant::now();
    let thread_name = tpool::execute(|| {
        std::thread::sleep(Duration::from_millis(200));
        std::thread::current().name().map(str::to_owned)
    });
    assert!(start.elapsed() >= Duration::from_millis(200));
    assert!(thread_name.unwrap().starts_with("eventlet-tpool-"));
    assert!(
        ticks.get() >= 10,
        "only {} ticks during the job",
        ticks.get()
    );
    ticker.wait().unwrap();
    assert_eq!(hub::stats().remote_waits, 0);
}

#[test]
fn green_threads_wait_for_jobs_running_in_parallel() {
    // Four jobs that can only finish together prove four pool threads ran them.
    let barrier = Arc::new(Barrier::new(4));
    let jobs: Vec<_> = (0..4u64)
        .map(|i| {
            let barrier = barrier.clone();
            spawn(move || {
                tpool::execute(move || {
                    barrier.wait();
                    i * 10
                })
            })
        })
        .collect();
    let results: Vec<u64> = jobs.into_iter().map(|gt| gt.wait().unwrap()).collect();
    assert_eq!(results, [0, 10, 20, 30]);
    assert!(tpool::running_threads() >= 4);
    assert!(tpool::running_threads() <= tpool::num_threads());
}

#[test]
fn a_panic_in_the_job_is_raised_again_in_the_caller() {
    let caught = spawn(|| tpool::execute(|| -> u32 { panic!("job failed: {}", 42) }));
    let error = caught.wait().unwrap_err();
    assert_eq!(error.panic_message(), Some("job failed: 42"));
    assert_eq!(tpool::execute(|| 1), 1, "the pool still works");
}

#[test]
fn killing_the_waiting_green_thread_lets_the_job_finish_harmlessly() {
    static FINISHED: AtomicUsize = AtomicUsize::new(0);
    let waiting = spawn(|| {
        tpool::execute(|| {
            std::thread::sleep(Duration::from_millis(50));
            FINISHED.fetch_add(1, Ordering::SeqCst);
            "late result"
        })
    });
    eventlet_rt::yield_now();
    assert_eq!(hub::stats().remote_waits, 1);
    waiting.kill();
    assert!(waiting.wait().unwrap_err().is_killed());
    assert_eq!(hub::stats().remote_waits, 0);
    // The job's late wake-up reaches nobody; the hub and the pool go on.
    while FINISHED.load(Ordering::SeqCst) == 0 {
        eventlet_rt::sleep(Duration::from_millis(5));
    }
    assert_eq!(tpool::execute(|| 2 + 2), 4);
}

#[test]
fn with_timeout_around_a_slow_job_returns_on_time() {
    let start = Instant::now();
    let outcome = eventlet_rt::with_timeout(Duration::from_millis(30), || {
        tpool::execute(|| std::thread::sleep(Duration::from_millis(300)))
    });
    assert!(outcome.is_err());
    assert!(start.elapsed() < Duration::from_millis(250));
}

#[test]
fn more_jobs_than_threads_queue_and_all_complete() {
    let jobs: Vec<_> = (0..100u64)
        .map(|i| spawn(move || tpool::execute(move || i * i)))
        .collect();
    let sum: u64 = jobs.into_iter().map(|gt| gt.wait().unwrap()).sum();
    assert_eq!(sum, (0..100u64).map(|i| i * i).sum());
    assert!(tpool::running_threads() <= tpool::num_threads());
}
