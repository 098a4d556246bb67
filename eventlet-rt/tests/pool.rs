//! Eventlet's `tests/greenpool_test.py` (the `GreenPool` part), restated,
//! plus the failure paths. `imap` has its own file.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;

use eventlet_rt::{Event, GreenPool, TimedOut, sleep, spawn, with_timeout, yield_now};

fn passthru<T>(a: T) -> T {
    sleep(Duration::from_millis(1));
    a
}

#[test]
fn spawn_gives_each_result() {
    let p = GreenPool::new(4);
    let waiters: Vec<_> = (0..10).map(|i| p.spawn(move || passthru(i))).collect();
    let results: Vec<_> = waiters.into_iter().map(|w| w.wait().unwrap()).collect();
    assert_eq!(results, (0..10).collect::<Vec<_>>());
}

#[test]
fn spawn_n_runs_everything() {
    let p = GreenPool::new(4);
    let results = Rc::new(RefCell::new(Vec::new()));
    for i in 0..10 {
        let results = results.clone();
        p.spawn_n(move || {
            sleep(Duration::from_millis(1));
            results.borrow_mut().push(i);
        });
    }
    p.waitall();
    assert_eq!(*results.borrow(), (0..10).collect::<Vec<_>>());
}

#[test]
fn waiting() {
    let pool = GreenPool::new(1);
    let done = Event::new();
    let waiter = || {
        let (pool, done) = (pool.clone(), done.clone());
        spawn(move || pool.spawn(move || done.wait()).wait().unwrap())
    };
    assert_eq!(pool.running(), 0);
    let mut waiters = vec![waiter()];
    yield_now();
    assert_eq!(pool.waiting(), 0);
    waiters.push(waiter());
    yield_now();
    assert_eq!(pool.waiting(), 1);
    waiters.push(waiter());
    yield_now();
    assert_eq!(pool.waiting(), 2);
    assert_eq!(pool.running(), 1);
    done.send(());
    waiters.into_iter().for_each(|w| w.wait().unwrap());
    assert_eq!(pool.waiting(), 0);
    assert_eq!(pool.running(), 0);
}

#[test]
fn multiple_coros() {
    let evt = Event::new();
    let results = Rc::new(RefCell::new(Vec::new()));
    let pool = GreenPool::new(2);
    let (e, r) = (evt.clone(), results.clone());
    let done = pool.spawn(move || {
        r.borrow_mut().push("cons1");
        e.wait();
        r.borrow_mut().push("cons2");
    });
    let r = results.clone();
    pool.spawn_n(move || {
        r.borrow_mut().push("prod");
        evt.send(());
    });
    done.wait().unwrap();
    assert_eq!(*results.borrow(), ["cons1", "prod", "cons2"]);
}

#[test]
fn reentrant() {
    let pool = GreenPool::new(1);
    let p = pool.clone();
    let outer = pool.spawn(move || p.spawn(|| "reenter").wait().unwrap());
    assert_eq!(outer.wait().unwrap(), "reenter");

    let evt = Event::new();
    let (p, e) = (pool.clone(), evt.clone());
    pool.spawn_n(move || {
        p.spawn_n(|| ());
        e.send("done");
    });
    assert_eq!(evt.wait(), "done");
    pool.waitall();
    assert_eq!(pool.running(), 0);
}

/// Eventlet's `assert_pool_has_free`: exactly `num_free` spawns go through
/// without blocking, and one more blocks.
fn assert_pool_has_free(pool: &GreenPool, num_free: usize) {
    assert_eq!(pool.free(), num_free);
    let evt = Event::new();
    let wait_long_time = |e: Event<()>| move || e.wait();
    let filled = with_timeout(Duration::from_secs(1), || {
        for _ in 0..num_free {
            pool.spawn(wait_long_time(evt.clone()));
        }
    });
    assert_eq!(
        filled,
        Ok(()),
        "the pool had fewer free slots than expected"
    );
    let one_more = with_timeout(Duration::ZERO, || {
        drop(pool.spawn(wait_long_time(evt.clone())))
    });
    assert_eq!(
        one_more,
        Err(TimedOut),
        "the pool had more free slots than expected"
    );
    assert_eq!(pool.waiting(), 0);
    evt.send(());
    yield_now();
    yield_now();
}

#[test]
fn resize() {
    let pool = GreenPool::new(2);
    let evt = Event::new();
    for _ in 0..2 {
        let e = evt.clone();
        pool.spawn(move || e.wait());
    }
    assert_eq!(pool.free(), 0);
    assert_eq!(pool.running(), 2);
    assert_pool_has_free(&pool, 0);

    // Shrinking lets the running threads finish.
    pool.resize(1);
    evt.send(());
    yield_now();
    yield_now();
    assert_eq!(pool.free(), 1);
    assert_eq!(pool.running(), 0);
    assert_pool_has_free(&pool, 1);

    pool.resize(2);
    assert_eq!(pool.free(), 2);
    assert_eq!(pool.running(), 0);
    assert_pool_has_free(&pool, 2);
}

#[test]
fn growing_wakes_blocked_spawners_oldest_first() {
    let pool = GreenPool::new(1);
    let release = Event::new();
    let r = release.clone();
    pool.spawn_n(move || r.wait());
    let order = Rc::new(RefCell::new(Vec::new()));
    let spawners: Vec<_> = (0..2)
        .map(|i| {
            let (pool, order) = (pool.clone(), order.clone());
            spawn(move || pool.spawn_n(move || order.borrow_mut().push(i)))
        })
        .collect();
    yield_now();
    assert_eq!(pool.waiting(), 2);
    pool.resize(3);
    assert_eq!(pool.waiting(), 0);
    spawners.into_iter().for_each(|s| s.wait().unwrap());
    yield_now();
    assert_eq!(*order.borrow(), [0, 1]);
    release.send(());
    pool.waitall();
}

#[test]
fn pool_smash() {
    // A pool thread times out while blocked elsewhere (a token queue); neither
    // the pool nor the queue is affected.
    let pool = GreenPool::new(1);
    let tp = eventlet_rt::Queue::new();
    let tp1 = tp.clone();
    let e1 = pool.spawn(move || match with_timeout(Duration::ZERO, || tp1.get()) {
        Ok(_) => "received",
        Err(TimedOut) => "timed out",
    });
    assert_eq!(e1.wait().unwrap(), "timed out");
    let tp2 = tp.clone();
    let gt = spawn(move || tp2.put("wakeup"));
    let e2 = pool.spawn(|| "resumed");
    assert_eq!(e2.wait().unwrap(), "resumed");
    assert_eq!(tp.get(), "wakeup");
    gt.wait().unwrap();
}

#[test]
fn spawn_n_2() {
    let p = GreenPool::new(2);
    assert_eq!(p.free(), 2);
    let r = Rc::new(RefCell::new(BTreeSet::new()));
    let foo = |a: i32| {
        let r = r.clone();
        move || {
            r.borrow_mut().insert(a);
        }
    };
    let gt = p.spawn(foo(1));
    assert_eq!(p.free(), 1);
    gt.wait().unwrap();
    assert_eq!(*r.borrow(), BTreeSet::from([1]));
    yield_now();
    assert_eq!(p.free(), 2);

    // Once the pool is exhausted, spawning forces a yield.
    p.spawn_n(foo(2));
    assert_eq!(p.free(), 1);
    assert_eq!(*r.borrow(), BTreeSet::from([1]));
    p.spawn_n(foo(3));
    assert_eq!(p.free(), 0);
    assert_eq!(*r.borrow(), BTreeSet::from([1]));
    p.spawn_n(foo(4));
    assert_eq!(*r.borrow(), BTreeSet::from([1, 2, 3]));
    yield_now();
    assert_eq!(*r.borrow(), BTreeSet::from([1, 2, 3, 4]));
}

#[test]
fn panics_free_their_slot() {
    let p = GreenPool::new(2);
    let raiser = || std::panic::resume_unwind(Box::new("raiser"));
    assert_pool_has_free(&p, 2);
    let gt = p.spawn(raiser);
    assert_eq!(p.free(), 1); // held until the thread ends
    p.waitall();
    assert_pool_has_free(&p, 2);
    assert_eq!(gt.wait().unwrap_err().panic_message(), Some("raiser"));
    p.spawn_n(raiser);
    assert_eq!(p.free(), 1);
    p.waitall();
    assert_pool_has_free(&p, 2);
}

#[test]
fn waitall_on_nothing() {
    GreenPool::default().waitall();
}

#[test]
fn recursive_waitall() {
    let p = GreenPool::default();
    let p2 = p.clone();
    let gt = p.spawn(move || p2.waitall());
    let error = gt.wait().unwrap_err();
    assert!(
        error
            .panic_message()
            .unwrap()
            .contains("would wait for itself forever"),
        "{error}"
    );
}

#[test]
fn size_zero_is_allowed() {
    let pool = GreenPool::new(0);
    assert_eq!((pool.size(), pool.free()), (0, 0));
    assert_eq!(
        with_timeout(Duration::from_millis(1), || pool.spawn_n(|| ())),
        Err(TimedOut)
    );
}

#[test]
fn kill_while_blocked_in_spawn_on_a_full_pool_leaves_no_trace() {
    let pool = GreenPool::new(1);
    let release = Event::new();
    let r = release.clone();
    pool.spawn_n(move || r.wait());
    let p = pool.clone();
    let spawner = spawn(move || p.spawn_n(|| unreachable!("never spawned")));
    yield_now();
    assert_eq!(pool.waiting(), 1);
    spawner.kill();
    assert!(spawner.wait().unwrap_err().is_killed());
    assert_eq!((pool.waiting(), pool.running()), (0, 1));
    release.send(());
    pool.waitall();
    assert_pool_has_free(&pool, 1);
}

#[test]
fn a_slot_handed_to_a_killed_spawner_passes_to_the_next() {
    let pool = GreenPool::new(1);
    let release = Event::new();
    let r = release.clone();
    pool.spawn_n(move || r.wait());
    let (p1, p2) = (pool.clone(), pool.clone());
    let first = spawn(move || p1.spawn(|| "first"));
    let second = spawn(move || p2.spawn(|| "second").wait().unwrap());
    yield_now();
    release.send(());
    yield_now(); // the pool thread ends; its slot goes to `first`
    first.kill();
    assert!(first.wait().unwrap_err().is_killed());
    assert_eq!(second.wait().unwrap(), "second");
    pool.waitall();
    assert_eq!(pool.free(), 1);
}

#[test]
fn killing_a_pool_thread_frees_its_slot() {
    let pool = GreenPool::new(1);
    let gt = pool.spawn(|| sleep(Duration::from_secs(3600)));
    yield_now();
    gt.kill();
    assert!(gt.wait().unwrap_err().is_killed());
    assert_eq!((pool.free(), pool.running()), (1, 0));
    let unstarted = pool.spawn(|| ());
    unstarted.kill(); // never runs, still gives its slot back
    assert_eq!((pool.free(), pool.running()), (1, 0));
}

#[test]
fn debug_shows_the_counters() {
    let pool = GreenPool::new(3);
    pool.spawn_n(|| ());
    assert_eq!(
        format!("{pool:?}"),
        "GreenPool { size: 3, running: 1, waiting: 0 }"
    );
}
