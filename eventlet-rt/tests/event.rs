//! Eventlet's `tests/event_test.py`, restated, plus the failure paths.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::time::{Duration, Instant};

use eventlet_rt::{Event, TimedOut, spawn, spawn_after, spawn_n, with_timeout, yield_now};

#[test]
fn waiting_for_event() {
    let evt = Event::new();
    let e = evt.clone();
    spawn_n(move || e.send("some stuff"));
    assert_eq!(evt.wait(), "some stuff");
}

fn multiple_waiters(panic_after: bool) {
    let evt = Event::new();
    let results = Rc::new(RefCell::new(Vec::new()));
    let done: Vec<Event<()>> = (0..5).map(|_| Event::new()).collect();
    for (i, i_am_done) in done.iter().enumerate() {
        let (evt, results, i_am_done) = (evt.clone(), results.clone(), i_am_done.clone());
        spawn_n(move || {
            evt.wait();
            results.borrow_mut().push(i);
            i_am_done.send(());
            if panic_after {
                std::panic::resume_unwind(Box::new("waiter fails after waking"));
            }
        });
    }
    yield_now(); // let every waiter block in `wait`
    evt.send(());
    for d in &done {
        d.wait();
    }
    // All five woke, in the order they started waiting.
    assert_eq!(*results.borrow(), [0, 1, 2, 3, 4]);
}

#[test]
fn multiple_waiters_all_wake_in_order() {
    multiple_waiters(false);
}

#[test]
fn multiple_waiters_with_panics() {
    multiple_waiters(true);
}

#[test]
fn reset() {
    let evt = Event::new();
    // Eventlet raises on a reset before any send; here it is harmless.
    evt.reset();
    assert!(!evt.ready());

    let e = evt.clone();
    spawn_n(move || e.send("some stuff"));
    assert_eq!(evt.wait(), "some stuff");

    // The same value again, and no second send without a reset.
    let second = catch_unwind(AssertUnwindSafe(|| evt.send("second stuff")));
    let payload = second.unwrap_err();
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap();
    assert!(message.contains("already sent; call reset()"), "{message}");
    assert_eq!(evt.wait(), "some stuff");

    evt.reset();
    let e = evt.clone();
    spawn_n(move || e.send("second stuff"));
    assert_eq!(evt.wait(), "second stuff");
}

#[test]
fn an_error_sent_through_the_event_is_not_seen_after_reset() {
    // Eventlet's test_double_exception, with the error as the value.
    let evt: Event<Result<(), &str>> = Event::new();
    evt.send(Err("from test_double_exception"));
    assert_eq!(evt.wait(), Err("from test_double_exception"));
    evt.reset();
    assert_eq!(
        with_timeout(Duration::from_millis(1), || evt.wait()),
        Err(TimedOut)
    );
}

#[test]
fn wait_timeout_ok() {
    let evt = Event::new();
    let delay = Duration::from_millis(20);
    let e = evt.clone();
    spawn_after(delay, move || e.send(true));
    let start = Instant::now();
    assert_eq!(evt.wait_timeout(delay * 10), Some(true));
    assert!(start.elapsed() >= delay);
}

#[test]
fn wait_timeout_exceed() {
    let evt = Event::new();
    let delay = Duration::from_millis(20);
    let e = evt.clone();
    let late = spawn_after(delay * 10, move || e.send(true));
    let start = Instant::now();
    assert_eq!(evt.wait_timeout(delay), None);
    assert!(start.elapsed() >= delay);
    late.kill();
}

#[test]
fn kill_and_timeout_while_waiting_leave_no_trace() {
    let evt = Event::new();
    let (e1, e2, e3) = (evt.clone(), evt.clone(), evt.clone());
    let killed = spawn(move || e1.wait());
    let timed_out = spawn(move || with_timeout(Duration::from_millis(1), || e2.wait()));
    let patient = spawn(move || e3.wait());
    yield_now();
    killed.kill();
    assert!(killed.wait().unwrap_err().is_killed());
    assert_eq!(timed_out.wait().unwrap(), Err(TimedOut));
    assert_eq!(format!("{evt:?}"), "Event { ready: false, waiting: 1 }");
    evt.send(7);
    assert_eq!(patient.wait().unwrap(), 7);
    assert_eq!(format!("{evt:?}"), "Event { ready: true, waiting: 0 }");
}

#[test]
fn a_waiter_killed_after_the_send_does_not_disturb_the_others() {
    let evt = Event::new();
    let (e1, e2) = (evt.clone(), evt.clone());
    let first = spawn(move || e1.wait());
    let second = spawn(move || e2.wait());
    yield_now();
    evt.send("v");
    first.kill(); // woken with its value, killed before it ran
    assert!(first.wait().unwrap_err().is_killed());
    assert_eq!(second.wait().unwrap(), "v");
}
