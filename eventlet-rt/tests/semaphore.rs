//! Eventlet's `tests/semaphore_test.py`, restated, plus the failure paths.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use eventlet_rt::{Semaphore, TimedOut, spawn, with_timeout, yield_now};

#[test]
fn non_blocking() {
    let sem = Semaphore::new(0);
    assert!(sem.try_acquire().is_none());
}

#[test]
fn timeout() {
    let sem = Semaphore::new(0);
    let start = Instant::now();
    assert!(sem.acquire_timeout(Duration::from_millis(100)).is_none());
    assert!(start.elapsed() >= Duration::from_millis(100));
    assert_eq!(sem.waiting(), 0);
}

#[test]
fn acquire_and_release_like_reinit() {
    let sem = Semaphore::new(2);
    let a = sem.acquire();
    let b = sem.try_acquire();
    assert!(b.is_some());
    assert!(sem.try_acquire().is_none());
    drop((a, b));
    assert_eq!(sem.available(), 2);
}

#[test]
fn contention_is_fair() {
    // Eventlet's test_semaphore_contention checks that two workers get the
    // mutex about equally often; with FIFO hand-off they strictly alternate.
    let mutex = Semaphore::new(1);
    let log = Rc::new(RefCell::new(Vec::new()));
    let workers: Vec<_> = [1, 2]
        .into_iter()
        .map(|no| {
            let (mutex, log) = (mutex.clone(), log.clone());
            spawn(move || {
                for _ in 0..50 {
                    let _held = mutex.acquire();
                    log.borrow_mut().push(no);
                    yield_now();
                }
            })
        })
        .collect();
    workers.into_iter().for_each(|w| w.wait().unwrap());
    let log = log.borrow();
    assert_eq!(log.len(), 100);
    assert!(log.chunks(2).all(|pair| pair == [1, 2]), "{log:?}");
}

#[test]
fn waiters_get_permits_in_arrival_order() {
    let sem = Semaphore::new(1);
    let held = sem.acquire();
    let order = Rc::new(RefCell::new(Vec::new()));
    let waiters: Vec<_> = (0..4)
        .map(|i| {
            let (sem, order) = (sem.clone(), order.clone());
            spawn(move || {
                let _permit = sem.acquire();
                order.borrow_mut().push(i);
            })
        })
        .collect();
    yield_now();
    assert_eq!(sem.waiting(), 4);
    drop(held);
    // A newcomer cannot overtake: the permit already belongs to waiter 0.
    assert!(sem.try_acquire().is_none());
    waiters.into_iter().for_each(|w| w.wait().unwrap());
    assert_eq!(*order.borrow(), [0, 1, 2, 3]);
}

#[test]
fn kill_while_blocked_in_acquire_leaves_no_trace() {
    let sem = Semaphore::new(1);
    let held = sem.acquire();
    let s = sem.clone();
    let waiter = spawn(move || drop(s.acquire()));
    yield_now();
    assert_eq!(sem.waiting(), 1);
    waiter.kill();
    assert!(waiter.wait().unwrap_err().is_killed());
    assert_eq!(sem.waiting(), 0);
    drop(held);
    assert_eq!(sem.available(), 1);
}

#[test]
fn timeout_while_blocked_in_acquire_leaves_no_trace() {
    let sem = Semaphore::new(0);
    assert_eq!(
        with_timeout(Duration::from_millis(1), || drop(sem.acquire())),
        Err(TimedOut)
    );
    assert_eq!((sem.waiting(), sem.available()), (0, 0));
    sem.add_permits(1);
    assert!(sem.try_acquire().is_some());
}

#[test]
fn a_permit_handed_to_a_killed_waiter_passes_to_the_next() {
    let sem = Semaphore::new(1);
    let held = sem.acquire();
    let (s1, s2) = (sem.clone(), sem.clone());
    let first = spawn(move || drop(s1.acquire()));
    let second = spawn(move || drop(s2.acquire()));
    yield_now();
    drop(held); // the permit goes to `first`, which has not run yet
    first.kill();
    assert!(first.wait().unwrap_err().is_killed());
    second.wait().unwrap();
    assert_eq!((sem.available(), sem.waiting()), (1, 0));
}

#[test]
fn a_guard_can_move_to_another_green_thread() {
    let sem = Semaphore::new(1);
    let permit = sem.acquire();
    let holder = spawn(move || {
        yield_now();
        drop(permit);
    });
    let _second = sem.acquire(); // blocks until the holder drops the permit
    assert!(holder.is_finished());
    assert_eq!(format!("{sem:?}"), "Semaphore { available: 0, waiting: 0 }");
}
