//! Green `std::sync`: the locks block only the calling green thread, hand over in arrival
//! order, poison as std's do, and survive kills and timeouts of their waiters.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::TryLockError;
use std::time::Duration;

use eventlet_rt::green::sync::{Barrier, Condvar, Mutex, RwLock};
use eventlet_rt::{GreenError, sleep, spawn, with_timeout, yield_now};

type Log = Rc<RefCell<Vec<String>>>;

fn note(log: &Log, entry: impl Into<String>) {
    log.borrow_mut().push(entry.into());
}

#[test]
fn green_threads_holding_a_mutex_across_a_sleep_take_turns_and_all_finish() {
    // With std's Mutex the second `lock` would block the OS thread, and the first holder
    // would never wake from its sleep to unlock: a deadlock.
    let mutex = Rc::new(Mutex::new(0));
    let log: Log = Rc::default();
    let workers: Vec<_> = ["a", "b", "c"]
        .into_iter()
        .map(|name| {
            let (mutex, log) = (mutex.clone(), log.clone());
            spawn(move || {
                let mut count = mutex.lock().unwrap();
                note(&log, format!("{name} in"));
                sleep(Duration::from_millis(10));
                *count += 1;
                note(&log, format!("{name} out"));
            })
        })
        .collect();
    workers.into_iter().for_each(|w| w.wait().unwrap());
    assert_eq!(*mutex.lock().unwrap(), 3);
    assert_eq!(
        *log.borrow(),
        ["a in", "a out", "b in", "b out", "c in", "c out"]
    );
}

#[test]
fn a_panic_while_holding_the_guard_poisons_the_mutex() {
    let mutex = Rc::new(Mutex::new(vec![1]));
    let holder = mutex.clone();
    let outcome = spawn(move || {
        let mut items = holder.lock().unwrap();
        items.push(2);
        panic!("half-way through an update");
    })
    .wait();
    assert!(matches!(outcome, Err(GreenError::Panicked(_))));
    assert!(mutex.is_poisoned());
    let poisoned = mutex.lock().unwrap_err();
    assert_eq!(
        *poisoned.into_inner(),
        [1, 2],
        "the guard is still in the error"
    );
    assert!(matches!(mutex.try_lock(), Err(TryLockError::Poisoned(_))));
    mutex.clear_poison();
    assert_eq!(mutex.lock().unwrap().len(), 2);
}

#[test]
fn a_waiter_killed_or_timed_out_in_lock_leaves_the_lock_to_the_next() {
    let mutex = Rc::new(Mutex::new(Vec::new()));
    let held = mutex.lock().unwrap();
    let m = mutex.clone();
    let killed = spawn(move || m.lock().unwrap().push("killed"));
    let m = mutex.clone();
    let timed_out = spawn(move || {
        with_timeout(Duration::from_millis(5), || {
            m.lock().unwrap().push("timed out")
        })
        .is_err()
    });
    let m = mutex.clone();
    let patient = spawn(move || m.lock().unwrap().push("patient"));
    yield_now();
    killed.kill();
    assert!(timed_out.wait().unwrap());
    drop(held);
    patient.wait().unwrap();
    assert!(matches!(killed.wait(), Err(GreenError::Killed)));
    assert_eq!(*mutex.lock().unwrap(), ["patient"]);
    assert!(
        !mutex.is_poisoned(),
        "waiters that never held it do not poison"
    );
}

#[test]
fn condvar_consumers_wake_in_the_order_they_waited() {
    let shared = Rc::new((Mutex::new(Vec::<u32>::new()), Condvar::new()));
    let log: Log = Rc::default();
    let consumers: Vec<_> = (0..3)
        .map(|id| {
            let (shared, log) = (shared.clone(), log.clone());
            spawn(move || {
                let (items, ready) = &*shared;
                let mut items = ready
                    .wait_while(items.lock().unwrap(), |i| i.is_empty())
                    .unwrap();
                let item = items.remove(0);
                note(&log, format!("consumer {id} got {item}"));
            })
        })
        .collect();
    yield_now(); // all three wait
    for item in [10, 20, 30] {
        shared.0.lock().unwrap().push(item);
        shared.1.notify_one();
        sleep(Duration::from_millis(1));
    }
    consumers.into_iter().for_each(|c| c.wait().unwrap());
    assert_eq!(
        *log.borrow(),
        [
            "consumer 0 got 10",
            "consumer 1 got 20",
            "consumer 2 got 30"
        ]
    );
}

#[test]
fn condvar_notify_all_wakes_every_waiter_and_wait_timeout_times_out() {
    let shared = Rc::new((Mutex::new(false), Condvar::new()));
    let waiters: Vec<_> = (0..4)
        .map(|_| {
            let shared = shared.clone();
            spawn(move || {
                let (go, cv) = &*shared;
                let (guard, result) = cv
                    .wait_timeout_while(go.lock().unwrap(), Duration::from_secs(10), |go| !*go)
                    .unwrap();
                *guard && !result.timed_out()
            })
        })
        .collect();
    yield_now();
    *shared.0.lock().unwrap() = true;
    shared.1.notify_all();
    assert!(waiters.into_iter().all(|w| w.wait().unwrap()));

    let (lock, cv) = &*shared;
    let (_guard, result) = cv
        .wait_timeout(lock.lock().unwrap(), Duration::from_millis(5))
        .unwrap();
    assert!(result.timed_out());
}

#[test]
fn a_barrier_lets_no_green_thread_past_until_all_arrive_round_after_round() {
    const N: usize = 5;
    let barrier = Rc::new(Barrier::new(N));
    let log: Log = Rc::default();
    let threads: Vec<_> = (0..N)
        .map(|i| {
            let (barrier, log) = (barrier.clone(), log.clone());
            spawn(move || {
                let mut leaders = 0;
                for round in 0..2 {
                    sleep(Duration::from_millis(i as u64));
                    note(&log, format!("arrive {round}"));
                    leaders += usize::from(barrier.wait().is_leader());
                    note(&log, format!("leave {round}"));
                }
                leaders
            })
        })
        .collect();
    let leaders: usize = threads.into_iter().map(|t| t.wait().unwrap()).sum();
    assert_eq!(leaders, 2, "one leader per round");
    let log = log.borrow();
    for round in 0..2 {
        let last_arrival = log.iter().rposition(|e| *e == format!("arrive {round}"));
        let first_leave = log.iter().position(|e| *e == format!("leave {round}"));
        assert!(last_arrival < first_leave, "round {round}: {log:?}");
    }
}

#[test]
fn a_green_thread_killed_at_a_barrier_no_longer_counts() {
    let barrier = Rc::new(Barrier::new(2));
    let b = barrier.clone();
    let quitter = spawn(move || b.wait());
    yield_now();
    quitter.kill();
    assert!(matches!(quitter.wait(), Err(GreenError::Killed)));
    let b = barrier.clone();
    let partner = spawn(move || b.wait().is_leader());
    let me = barrier.wait().is_leader();
    assert!(me ^ partner.wait().unwrap());
}

#[test]
fn a_waiter_killed_after_the_barrier_released_it_leaves_the_next_round_whole() {
    let barrier = Rc::new(Barrier::new(2));
    let b = barrier.clone();
    let released = spawn(move || b.wait().is_leader());
    yield_now(); // it waits
    assert!(
        barrier.wait().is_leader(),
        "the second arrival leads and releases the first"
    );
    released.kill(); // released, but killed before it ran again
    assert!(released.wait().unwrap_err().is_killed());
    assert!(format!("{barrier:?}").contains("arrived: 0"), "{barrier:?}");
    // The next round still needs two: one waits alone, then a second releases it.
    let b = barrier.clone();
    let partner = spawn(move || b.wait().is_leader());
    yield_now();
    assert!(
        !partner.is_finished(),
        "one green thread alone passed a barrier of two"
    );
    let me = barrier.wait().is_leader();
    assert!(me ^ partner.wait().unwrap());
}

#[test]
fn readers_queued_behind_a_writer_that_leaves_the_queue_get_the_lock() {
    for leave in ["kill", "timeout"] {
        let lock = Rc::new(RwLock::new(5));
        let reading = lock.read().unwrap();
        let l = lock.clone();
        let writer = spawn(move || {
            with_timeout(Duration::from_millis(20), || *l.write().unwrap() += 1).is_ok()
        });
        yield_now(); // the writer waits for the reader
        let l = lock.clone();
        let reader = spawn(move || *l.read().unwrap());
        yield_now(); // queued behind the writer
        match leave {
            "kill" => {
                writer.kill();
                assert!(writer.wait().unwrap_err().is_killed());
            }
            _ => assert!(!writer.wait().unwrap(), "the writer timed out in the queue"),
        }
        // Only readers hold or want the lock now: the queued reader gets it.
        let read = with_timeout(Duration::from_secs(10), || reader.wait().unwrap());
        assert_eq!(read, Ok(5), "after a {leave}, the reader stayed blocked");
        drop(reading);
        assert!(
            lock.try_write().is_ok(),
            "after a {leave}, nothing is left holding it"
        );
    }
}

#[test]
fn rwlock_readers_share_it_and_a_writer_has_it_alone_in_arrival_order() {
    let lock = Rc::new(RwLock::new(0));
    let log: Log = Rc::default();
    let reader = |name: &'static str| {
        let (lock, log) = (lock.clone(), log.clone());
        spawn(move || {
            let value = lock.read().unwrap();
            note(&log, format!("{name} reads {}", *value));
            sleep(Duration::from_millis(10));
            note(&log, format!("{name} done"));
        })
    };
    let writer = |name: &'static str| {
        let (lock, log) = (lock.clone(), log.clone());
        spawn(move || {
            let mut value = lock.write().unwrap();
            note(&log, format!("{name} writes"));
            sleep(Duration::from_millis(10));
            *value += 1;
            note(&log, format!("{name} done"));
        })
    };
    // r1 and r2 read together; w waits for both; r3 came after w, so it waits for w.
    let threads = [reader("r1"), reader("r2"), writer("w"), reader("r3")];
    threads.into_iter().for_each(|t| t.wait().unwrap());
    assert_eq!(
        *log.borrow(),
        [
            "r1 reads 0",
            "r2 reads 0",
            "r1 done",
            "r2 done",
            "w writes",
            "w done",
            "r3 reads 1",
            "r3 done"
        ]
    );
}

#[test]
fn a_writer_that_panics_poisons_the_rwlock_and_a_reader_does_not() {
    let lock = Rc::new(RwLock::new(1));
    let l = lock.clone();
    let _ = spawn(move || {
        let _reading = l.read().unwrap();
        panic!("reader panics");
    })
    .wait();
    assert!(!lock.is_poisoned());
    let l = lock.clone();
    let _ = spawn(move || {
        let mut writing = l.write().unwrap();
        *writing = 2;
        panic!("writer panics");
    })
    .wait();
    assert!(lock.is_poisoned());
    assert_eq!(*lock.read().unwrap_err().into_inner(), 2);
}

#[test]
fn a_writer_killed_right_after_its_grant_passes_the_lock_on() {
    let lock = Rc::new(RwLock::new(0));
    let reading = lock.read().unwrap();
    let l = lock.clone();
    let writer = spawn(move || *l.write().unwrap() += 1);
    yield_now(); // the writer waits
    let l = lock.clone();
    let late_reader = spawn(move || *l.read().unwrap());
    yield_now(); // behind the writer
    drop(reading); // grants the lock to the writer, which has not run yet
    writer.kill();
    assert!(matches!(writer.wait(), Err(GreenError::Killed)));
    assert_eq!(late_reader.wait().unwrap(), 0);
    assert!(lock.try_write().is_ok(), "nothing is left holding it");
}

#[test]
fn another_green_threads_unwind_does_not_poison_a_lock() {
    struct SlowClose;
    impl Drop for SlowClose {
        fn drop(&mut self) {
            sleep(Duration::from_millis(20));
        }
    }
    let mutex = Mutex::new(0);
    let guard = mutex.lock().unwrap();
    let closing = spawn(|| {
        let _close = SlowClose;
        sleep(Duration::from_secs(60));
    });
    yield_now();
    closing.kill(); // it unwinds into SlowClose and is suspended there, mid-unwind
    yield_now();
    drop(guard); // this green thread is not unwinding
    assert!(!mutex.is_poisoned());
    assert!(closing.wait().unwrap_err().is_killed());
}
