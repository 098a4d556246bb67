//! `GreenPool::imap`: Eventlet's imap tests, restated, plus streaming,
//! concurrency bounds and panics.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::time::Duration;

use eventlet_rt::{GreenPool, sleep, yield_now};

mod lcg;
use lcg::Lcg;

fn passthru<T>(a: T) -> T {
    sleep(Duration::from_millis(1));
    a
}

#[test]
fn imap() {
    let p = GreenPool::new(4);
    let results: Vec<_> = p.imap(passthru, 0..10).collect();
    assert_eq!(results, (0..10).collect::<Vec<_>>());
}

#[test]
fn empty_imap() {
    let p = GreenPool::new(4);
    let mut results = p.imap(passthru::<u32>, []);
    assert_eq!(results.next(), None);
    assert_eq!(results.next(), None);
}

#[test]
fn imap_nonefunc() {
    let p = GreenPool::new(4);
    let results: Vec<_> = p.imap(|x| (x,), 0..10).collect();
    assert_eq!(results, (0..10).map(|x| (x,)).collect::<Vec<_>>());
}

#[test]
fn imap_multi_args() {
    let p = GreenPool::new(4);
    let results: Vec<_> = p
        .imap(|(a, b)| passthru((a, b)), (0..10).zip(10..20))
        .collect();
    assert_eq!(results, (0..10).zip(10..20).collect::<Vec<_>>());
}

#[test]
fn imap_raises_and_goes_on() {
    let p = GreenPool::new(4);
    let raiser = |item: i32| {
        if item == 1 || item == 7 {
            panic!("intentional error");
        }
        item
    };
    let mut it = p.imap(raiser, 0..10);
    let mut results = Vec::new();
    loop {
        match catch_unwind(AssertUnwindSafe(|| it.next())) {
            Ok(Some(item)) => results.push(item.to_string()),
            Ok(None) => break,
            Err(payload) => {
                assert_eq!(payload.downcast_ref::<&str>(), Some(&"intentional error"));
                results.push("r".to_string());
            }
        }
    }
    assert_eq!(results, ["0", "r", "2", "3", "4", "5", "6", "r", "8", "9"]);
    // The pool is still usable.
    assert_eq!(p.running(), 0);
    assert_eq!(p.spawn(|| 5).wait().unwrap(), 5);
    assert_eq!(p.imap(|x| x * 2, 0..3).collect::<Vec<_>>(), [0, 2, 4]);
}

#[test]
fn results_come_in_input_order_whatever_the_finishing_order() {
    let p = GreenPool::new(10);
    let results: Vec<_> = p
        .imap(
            |i: u64| {
                sleep(Duration::from_millis(10 - i));
                i
            },
            0..10,
        )
        .collect();
    assert_eq!(results, (0..10).collect::<Vec<_>>());
}

#[test]
fn at_most_size_calls_are_in_flight_and_the_pool_fills_up() {
    let p = GreenPool::new(3);
    let in_flight = Rc::new(Cell::new(0));
    let most = Rc::new(Cell::new(0));
    let (f, m) = (in_flight.clone(), most.clone());
    let results: Vec<_> = p
        .imap(
            move |i: u32| {
                f.set(f.get() + 1);
                m.set(m.get().max(f.get()));
                sleep(Duration::from_millis(1));
                f.set(f.get() - 1);
                i
            },
            0..20,
        )
        .collect();
    assert_eq!(results.len(), 20);
    assert_eq!(most.get(), 3);
}

#[test]
fn imap_streams_an_endless_input_lazily() {
    let p = GreenPool::new(4);
    let pulled = Rc::new(Cell::new(0));
    let pl = pulled.clone();
    let input = (0..).inspect(move |_| pl.set(pl.get() + 1));
    let mut results = p.imap(passthru, input);
    assert_eq!(results.next(), Some(0));
    assert!(pulled.get() <= 5, "pulled {} items ahead", pulled.get());
    let first: Vec<_> = results.by_ref().take(9).collect();
    assert_eq!(first, (1..10).collect::<Vec<_>>());
    assert!(
        pulled.get() <= 10 + 4,
        "pulled {} items for 10 results",
        pulled.get()
    );
    drop(results);
    p.waitall();
    assert_eq!(p.running(), 0);
}

#[test]
fn a_panic_in_the_input_is_raised_at_its_position_and_ends_the_input() {
    let p = GreenPool::new(2);
    let input = (0..5).map(|i| if i == 3 { panic!("bad input") } else { i });
    let mut results = p.imap(|i| i, input);
    assert_eq!(results.by_ref().take(3).collect::<Vec<_>>(), [0, 1, 2]);
    assert!(catch_unwind(AssertUnwindSafe(|| results.next())).is_err());
    assert_eq!(results.next(), None);
}

#[test]
fn a_shared_busy_pool_bounds_imap_too() {
    let p = GreenPool::new(2);
    let release = eventlet_rt::Event::new();
    let r = release.clone();
    p.spawn_n(move || r.wait()); // takes one of the two slots
    let in_flight = Rc::new(Cell::new(0));
    let most = Rc::new(Cell::new(0));
    let (f, m) = (in_flight.clone(), most.clone());
    let mut results = p.imap(
        move |i: u32| {
            f.set(f.get() + 1);
            m.set(m.get().max(f.get()));
            sleep(Duration::from_millis(1));
            f.set(f.get() - 1);
            i
        },
        0..6,
    );
    assert_eq!(results.by_ref().take(3).collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(most.get(), 1);
    release.send(());
    assert_eq!(results.collect::<Vec<_>>(), [3, 4, 5]);
}

#[test]
fn imap_from_inside_a_full_pool_does_not_deadlock() {
    let p = GreenPool::new(1);
    let inner = p.clone();
    let outer = p.spawn(move || {
        inner
            .imap(|x: u8| passthru(x + 1), 0..3)
            .collect::<Vec<_>>()
    });
    assert_eq!(outer.wait().unwrap(), [1, 2, 3]);
}

fn imap_order_and_memory_check(concurrency: usize) {
    // Eventlet's imap_memory_check: strictly ordered, and the input is
    // pulled no further than about `size` items ahead of the results.
    let p = GreenPool::new(concurrency);
    let rng = Rc::new(Lcg(Cell::new(7)));
    let pulled = Rc::new(Cell::new(0usize));
    let pl = pulled.clone();
    let count = 1000;
    let input = (0..count).inspect(move |_| pl.set(pl.get() + 1));
    let r = rng.clone();
    let results = p.imap(
        move |i: usize| {
            while r.below(2) == 0 {
                sleep(Duration::from_micros(r.below(1000)));
            }
            i
        },
        input,
    );
    let mut latest = None;
    for (yielded, i) in results.enumerate() {
        assert!(latest < Some(i));
        latest = Some(i);
        assert!(pulled.get() <= yielded + 1 + concurrency);
        if i % 5 == 0 {
            yield_now();
        }
    }
    assert_eq!(latest, Some(count - 1));
}

#[test]
fn imap_order_and_memory_50() {
    imap_order_and_memory_check(50);
}

#[test]
fn imap_order_and_memory_500() {
    imap_order_and_memory_check(500);
}

#[test]
fn debug_shows_progress() {
    let p = GreenPool::new(2);
    let mut results = p.imap(|x: u8| x, 0..4);
    assert_eq!(results.next(), Some(0));
    let shown = format!("{results:?}");
    assert!(shown.starts_with("Imap { yielded: 1,"), "{shown}");
}
