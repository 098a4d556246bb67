//! The thread pool: blocking work off the hub, results and panics back to
//! the waiting green thread, kills while a job runs.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use eventlet_rt::{hub, spawn, tpool};

mod child;
use child::{CHILD_DONE, is_child, stderr_of_finished_child_with_env};

#[test]
fn the_hub_keeps_ticking_while_the_pool_blocks() {
    // The job holds its pool thread until the ticker has ticked five times:
    // it can only end if the hub runs green threads meanwhile.
    let ticks = Arc::new(AtomicUsize::new(0));
    let t = ticks.clone();
    let ticker = spawn(move || {
        while t.load(Ordering::SeqCst) < 5 {
            eventlet_rt::sleep(Duration::from_millis(5));
            t.fetch_add(1, Ordering::SeqCst);
        }
    });
    let seen = ticks.clone();
    let (ticks_seen, thread_name) = tpool::execute(move || {
        let give_up = Instant::now() + Duration::from_secs(30);
        while seen.load(Ordering::SeqCst) < 5 && Instant::now() < give_up {
            std::thread::sleep(Duration::from_millis(1));
        }
        let name = std::thread::current().name().map(str::to_owned);
        (seen.load(Ordering::SeqCst), name)
    });
    assert_eq!(ticks_seen, 5, "the hub did not run while the job blocked");
    assert!(thread_name.unwrap().starts_with("eventlet-tpool-"));
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
fn with_timeout_around_a_slow_job_returns_while_the_job_still_runs() {
    let (release, released) = std::sync::mpsc::channel::<()>();
    let finished = Arc::new(AtomicBool::new(false));
    let f = finished.clone();
    let outcome = eventlet_rt::with_timeout(Duration::from_millis(30), move || {
        tpool::execute(move || {
            let _ = released.recv(); // held until the test lets it go
            f.store(true, Ordering::SeqCst);
        })
    });
    assert!(outcome.is_err());
    assert!(
        !finished.load(Ordering::SeqCst),
        "the timeout waited for the job"
    );
    release.send(()).unwrap();
    while !finished.load(Ordering::SeqCst) {
        eventlet_rt::sleep(Duration::from_millis(1));
    }
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

#[test]
fn fifty_jobs_blocked_until_a_fifty_first_releases_them_all_finish() {
    // Fifty long waits and the job that ends them (a BLPOP and its LPUSH):
    // the pool must grow past them instead of queueing the releaser.
    let barrier = Arc::new(Barrier::new(51));
    let jobs: Vec<_> = (0..51u64)
        .map(|i| {
            let barrier = barrier.clone();
            spawn(move || {
                tpool::execute(move || {
                    barrier.wait();
                    i
                })
            })
        })
        .collect();
    let finished = eventlet_rt::with_timeout(Duration::from_secs(60), || {
        jobs.into_iter().map(|gt| gt.wait().unwrap()).sum::<u64>()
    });
    assert_eq!(finished, Ok((0..51).sum()), "the jobs were stranded");
    assert!(tpool::running_threads() >= 51);
    assert!(tpool::num_threads() >= 51);
}

#[test]
#[ignore = "run in a child process by the_size_variable_caps_the_pool_and_idle_threads_end"]
fn child_with_a_pool_of_three() {
    if !is_child() {
        return;
    }
    assert_eq!(
        tpool::num_threads(),
        3,
        "EVENTLET_THREADPOOL_SIZE=3 is the cap"
    );
    static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
    static MOST_IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
    let jobs: Vec<_> = (0..12)
        .map(|_| {
            spawn(|| {
                tpool::execute(|| {
                    let now = IN_FLIGHT.fetch_add(1, Ordering::SeqCst) + 1;
                    MOST_IN_FLIGHT.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
                })
            })
        })
        .collect();
    for job in jobs {
        job.wait().unwrap();
    }
    assert!(MOST_IN_FLIGHT.load(Ordering::SeqCst) <= 3);
    assert!((1..=3).contains(&tpool::running_threads()));
    // Idle workers end after the keep-alive.
    tpool::set_keep_alive(Duration::from_millis(50));
    let give_up = Instant::now() + Duration::from_secs(30);
    while tpool::running_threads() > 0 && Instant::now() < give_up {
        eventlet_rt::sleep(Duration::from_millis(10));
    }
    assert_eq!(tpool::running_threads(), 0, "idle workers stayed");
    // And the pool grows again on demand.
    assert_eq!(tpool::execute(|| 6 * 7), 42);
    println!("{CHILD_DONE}");
}

#[test]
fn the_size_variable_caps_the_pool_and_idle_threads_end() {
    stderr_of_finished_child_with_env(
        "child_with_a_pool_of_three",
        &[("EVENTLET_THREADPOOL_SIZE", "3")],
    );
}
