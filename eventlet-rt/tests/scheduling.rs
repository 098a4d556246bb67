//! Run order of green threads, sleepers and delayed spawns.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use eventlet_rt::{hub, sleep, spawn, spawn_after, spawn_n, yield_now};

type Log<T> = Rc<RefCell<Vec<T>>>;

fn log<T>() -> Log<T> {
    Rc::new(RefCell::new(Vec::new()))
}

#[test]
fn spawned_threads_start_in_spawn_order_when_main_yields() {
    let order = log();
    for i in 0..5 {
        let order = order.clone();
        spawn_n(move || order.borrow_mut().push(i));
    }
    assert!(order.borrow().is_empty(), "nothing runs before main blocks");
    yield_now();
    assert_eq!(*order.borrow(), [0, 1, 2, 3, 4]);
}

#[test]
fn yielding_threads_interleave_round_robin() {
    let order = log();
    let threads: Vec<_> = ["a", "b", "c"]
        .into_iter()
        .map(|name| {
            let order = order.clone();
            spawn(move || {
                for round in 0..3 {
                    order.borrow_mut().push(format!("{name}{round}"));
                    yield_now();
                }
            })
        })
        .collect();
    for gt in threads {
        gt.wait().unwrap();
    }
    assert_eq!(
        *order.borrow(),
        ["a0", "b0", "c0", "a1", "b1", "c1", "a2", "b2", "c2"]
    );
}

#[test]
fn main_yield_lets_each_ready_thread_run_exactly_once() {
    let runs = log();
    for name in ["x", "y"] {
        let runs = runs.clone();
        spawn_n(move || {
            loop {
                runs.borrow_mut().push(name);
                yield_now();
            }
        });
    }
    yield_now();
    assert_eq!(*runs.borrow(), ["x", "y"]);
    sleep(Duration::ZERO);
    assert_eq!(*runs.borrow(), ["x", "y", "x", "y"]);
}

#[test]
fn sleepers_wake_in_deadline_order_then_in_sleep_order() {
    let woke = log();
    let mut threads = Vec::new();
    for (name, millis) in [("30ms", 30), ("10ms-a", 10), ("20ms", 20), ("10ms-b", 10)] {
        let woke = woke.clone();
        threads.push(spawn(move || {
            sleep(Duration::from_millis(millis));
            woke.borrow_mut().push(name);
        }));
    }
    for gt in threads {
        gt.wait().unwrap();
    }
    assert_eq!(*woke.borrow(), ["10ms-a", "10ms-b", "20ms", "30ms"]);
}

#[test]
fn sleeps_overlap_instead_of_adding_up() {
    let start = Instant::now();
    let sleepers: Vec<_> = (0..200)
        .map(|_| {
            spawn(move || {
                sleep(Duration::from_millis(50));
                start.elapsed()
            })
        })
        .collect();
    let woke_at: Vec<Duration> = sleepers.into_iter().map(|gt| gt.wait().unwrap()).collect();
    assert!(woke_at.iter().all(|t| *t >= Duration::from_millis(50)));
    // One after another they would take 10 s; together they take one sleep.
    let last = woke_at.iter().max().unwrap();
    assert!(
        *last < Duration::from_secs(5),
        "sleeps did not overlap: {last:?}"
    );
    assert_eq!(hub::stats().timers, 0);
}

#[test]
fn spawn_after_starts_after_the_delay_and_in_deadline_order() {
    let order = log();
    let start = Instant::now();
    let late = {
        let order = order.clone();
        spawn_after(Duration::from_millis(30), move || {
            order.borrow_mut().push("late");
            start.elapsed()
        })
    };
    let early = {
        let order = order.clone();
        spawn_after(Duration::from_millis(10), move || {
            order.borrow_mut().push("early");
            start.elapsed()
        })
    };
    yield_now();
    assert!(
        order.borrow().is_empty(),
        "a delayed spawn ran before its delay"
    );
    assert!(late.wait().unwrap() >= Duration::from_millis(30));
    assert!(early.wait().unwrap() >= Duration::from_millis(10));
    assert_eq!(*order.borrow(), ["early", "late"]);
}

#[test]
fn cancelled_spawn_after_never_runs_and_leaves_no_timer() {
    let ran = Rc::new(RefCell::new(false));
    let r = ran.clone();
    let gt = spawn_after(Duration::from_millis(5), move || *r.borrow_mut() = true);
    assert_eq!(hub::stats().timers, 1);
    assert!(gt.cancel());
    assert_eq!(hub::stats().timers, 0, "cancel must disarm the start timer");
    sleep(Duration::from_millis(15));
    assert!(!*ran.borrow());
    assert!(gt.wait().unwrap_err().is_killed());
}

#[test]
fn cancel_does_nothing_to_a_started_thread() {
    let gt = spawn(|| {
        sleep(Duration::from_millis(5));
        "finished"
    });
    yield_now();
    assert!(!gt.cancel());
    assert_eq!(gt.wait().unwrap(), "finished");
}

#[test]
fn green_threads_wait_for_each_other() {
    let inner = spawn(|| {
        sleep(Duration::from_millis(5));
        21
    });
    let outer = spawn(move || inner.wait().unwrap() * 2);
    assert_eq!(outer.wait().unwrap(), 42);
}

#[test]
fn links_see_the_outcome_in_the_order_they_were_added() {
    let seen = log();
    let gt = spawn(|| {
        sleep(Duration::from_millis(1));
        7
    });
    for tag in ["first", "second"] {
        let seen = seen.clone();
        gt.link(move |outcome| {
            seen.borrow_mut()
                .push(format!("{tag}:{}", outcome.as_ref().unwrap()))
        });
    }
    assert!(!gt.is_finished());
    let gt2 = spawn(|| ());
    gt2.wait().unwrap();
    let late = seen.clone();
    // A link added after the end runs at once.
    let finished = spawn(|| 1);
    yield_now();
    assert!(finished.is_finished());
    finished.link(move |outcome| {
        late.borrow_mut()
            .push(format!("late:{}", outcome.as_ref().unwrap()))
    });
    assert_eq!(*seen.borrow(), ["late:1"]);
    assert_eq!(gt.wait().unwrap(), 7);
    assert_eq!(*seen.borrow(), ["late:1", "first:7", "second:7"]);
}

#[test]
fn hundred_thousand_green_threads_spawned_and_waited() {
    let threads: Vec<_> = (0..100_000u64).map(|i| spawn(move || i * 2)).collect();
    assert_eq!(
        hub::stats().stacks_mapped,
        hub::stats().stacks_pooled,
        "no stack before a thread runs"
    );
    assert_eq!(hub::stats().queued, 100_000);
    let sum: u64 = threads.into_iter().map(|gt| gt.wait().unwrap()).sum();
    assert_eq!(sum, 2 * (0..100_000u64).sum::<u64>());
    let stats = hub::stats();
    assert_eq!(stats.live_green_threads, 0);
    assert!(
        stats.stacks_mapped <= 2,
        "finished stacks are reused: {stats:?}"
    );
}
