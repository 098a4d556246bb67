//! Eventlet's `tests/greenpool_test.py` (the `GreenPile` part), restated.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::rc::Rc;
use std::time::Duration;

use eventlet_rt::{Event, GreenPile, GreenPool, TimedOut, sleep, spawn, with_timeout, yield_now};

mod lcg;
use lcg::Lcg;

fn passthru<T>(a: T) -> T {
    sleep(Duration::from_millis(1));
    a
}

#[test]
fn pile() {
    let p = GreenPile::new(4);
    for i in 0..10 {
        p.spawn(move || passthru(i));
    }
    assert_eq!(p.collect::<Vec<_>>(), (0..10).collect::<Vec<_>>());
}

#[test]
fn pile_spawn_times_out() {
    let p = GreenPile::new(4);
    for i in 0..4 {
        p.spawn(move || passthru(i));
    }
    // Now it is full and this spawn times out...
    assert_eq!(
        with_timeout(Duration::ZERO, || p.spawn(|| passthru(-1))),
        Err(TimedOut)
    );
    // ...without breaking the sequence.
    for i in 4..10 {
        p.spawn(move || passthru(i));
    }
    assert_eq!(p.collect::<Vec<_>>(), (0..10).collect::<Vec<_>>());
}

#[test]
fn empty_pile() {
    let p = GreenPile::<u8>::new(4);
    assert_eq!(p.collect::<Vec<_>>(), []);
}

#[test]
fn constructing_from_pool() {
    let pool = GreenPool::new(2);
    let pile1 = GreenPile::with_pool(&pool);
    let pile2 = GreenPile::with_pool(&pool);
    let bunch_of_work = |pile: &GreenPile<i32>, unique: i32| {
        let pile = pile.clone();
        spawn(move || {
            for i in 0..10 {
                pile.spawn(move || passthru(i + unique));
            }
        })
    };
    let w1 = bunch_of_work(&pile1, 0);
    let w2 = bunch_of_work(&pile2, 100);
    yield_now();
    assert_eq!(pile2.collect::<Vec<_>>(), (100..110).collect::<Vec<_>>());
    assert_eq!(pile1.collect::<Vec<_>>(), (0..10).collect::<Vec<_>>());
    w1.wait().unwrap();
    w2.wait().unwrap();
}

#[test]
fn a_panic_is_raised_at_its_position_and_the_pile_goes_on() {
    let p = GreenPile::new(2);
    for i in 0..4 {
        p.spawn(move || {
            if i == 1 {
                resume_unwind(Box::new("one"))
            } else {
                i
            }
        });
    }
    let mut it = p.clone();
    assert_eq!(it.next(), Some(0));
    let payload = catch_unwind(AssertUnwindSafe(|| it.next())).unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"one"));
    assert_eq!(it.collect::<Vec<_>>(), [2, 3]);
}

/// Eventlet's stress `spawn_order_check`: three producers spawn into one
/// pile while it is drained; every producer's results come out in order.
fn spawn_order_check(concurrency: usize) {
    let p = GreenPile::new(concurrency);
    let rng = Rc::new(Lcg(Cell::new(0)));
    let pressure = move |token: (usize, usize)| {
        let rng = rng.clone();
        move || {
            while rng.below(2) == 0 {
                sleep(Duration::from_micros(rng.below(1000)));
            }
            if rng.below(5) == 0 {
                resume_unwind(Box::new(token)); // Eventlet's StressException
            }
            token
        }
    };
    let iters = 200;
    let producers: Vec<_> = (1..=3)
        .map(|unique| {
            let (p, pressure) = (p.clone(), pressure.clone());
            spawn(move || {
                for i in 0..iters {
                    p.spawn(pressure((unique, i)));
                }
            })
        })
        .collect();
    p.spawn(pressure((0, 0)));
    let mut latest = [None; 4];
    let mut received = 0;
    let mut it = p.clone();
    loop {
        let (unique, order) = match catch_unwind(AssertUnwindSafe(|| it.next())) {
            Ok(Some(token)) => token,
            Ok(None) => break,
            Err(payload) => *payload.downcast::<(usize, usize)>().unwrap(),
        };
        received += 1;
        if received % 5 == 0 {
            sleep(Duration::from_micros(100));
        }
        assert!(latest[unique] < Some(order));
        latest[unique] = Some(order);
    }
    assert_eq!(latest[1..], [Some(iters - 1); 3]);
    producers.into_iter().for_each(|gt| gt.wait().unwrap());
}

#[test]
fn ordering_5() {
    spawn_order_check(5);
}

#[test]
fn ordering_50() {
    spawn_order_check(50);
}

#[test]
fn debug_shows_the_counts() {
    let p = GreenPile::new(2);
    p.spawn(|| 1);
    assert!(format!("{p:?}").starts_with("GreenPile { spawning: 0, queued: 1,"));
}

#[test]
fn a_spawn_killed_while_waiting_for_a_slot_does_not_hang_the_iteration() {
    let pool = GreenPool::new(1);
    let release = Event::new();
    let r = release.clone();
    pool.spawn_n(move || r.wait()); // fills the pool
    let pile = GreenPile::with_pool(&pool);
    let p = pile.clone();
    let spawner = spawn(move || p.spawn(|| 2));
    yield_now(); // the spawner waits for a slot
    let consumer = spawn(move || pile.collect::<Vec<i32>>());
    yield_now(); // the consumer waits for the spawner
    spawner.kill();
    assert!(spawner.wait().unwrap_err().is_killed());
    assert_eq!(consumer.wait().unwrap(), []);
    release.send(());
    pool.waitall();
}
