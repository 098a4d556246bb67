//! `with_timeout`: scopes, nesting, and what they leave behind.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use eventlet_rt::{TimedOut, hub, sleep, spawn, with_timeout, yield_now};

const SHORT: Duration = Duration::from_millis(10);
const LONG: Duration = Duration::from_secs(3600);

struct SetOnDrop(Rc<Cell<bool>>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

#[test]
fn a_timeout_unwinds_the_blocking_call_and_runs_destructors() {
    let dropped = Rc::new(Cell::new(false));
    let d = dropped.clone();
    let result = with_timeout(SHORT, move || {
        let _guard = SetOnDrop(d);
        sleep(LONG);
        "slept"
    });
    assert_eq!(result, Err(TimedOut));
    assert!(dropped.get());
    assert_eq!(hub::stats().timers, 0);
}

#[test]
fn a_body_that_ends_in_time_keeps_its_value_and_disarms_the_timer() {
    assert_eq!(with_timeout(LONG, || 11), Ok(11));
    assert_eq!(hub::stats().timers, 0);
}

#[test]
fn inner_timeout_fires_for_its_scope_only() {
    let steps = RefCell::new(Vec::new());
    let outer = with_timeout(Duration::from_secs(10), || {
        let inner = with_timeout(SHORT, || sleep(LONG));
        steps.borrow_mut().push(format!("inner: {inner:?}"));
        sleep(Duration::from_millis(1));
        steps.borrow_mut().push("outer body went on".to_string());
        "outer done"
    });
    assert_eq!(outer, Ok("outer done"));
    assert_eq!(
        *steps.borrow(),
        ["inner: Err(TimedOut)", "outer body went on"]
    );
}

#[test]
fn inner_scope_never_swallows_the_outer_timeout() {
    let after_inner = Cell::new(false);
    let inner_result = RefCell::new(None);
    let outer = with_timeout(SHORT, || {
        let inner = with_timeout(LONG, || sleep(LONG));
        *inner_result.borrow_mut() = Some(inner);
        after_inner.set(true);
    });
    assert_eq!(outer, Err(TimedOut));
    assert!(
        !after_inner.get(),
        "the outer timeout must unwind through the inner scope"
    );
    assert!(inner_result.borrow().is_none());
    assert_eq!(hub::stats().timers, 0);
}

#[test]
fn both_deadlines_passing_at_once_unwinds_to_the_outer_scope() {
    let reached = Cell::new(false);
    let outer = with_timeout(SHORT, || {
        let _ = with_timeout(SHORT, || sleep(LONG));
        reached.set(true);
        sleep(LONG);
    });
    assert_eq!(outer, Err(TimedOut));
    // Whichever fired first, nothing after the outer deadline survives.
    assert_eq!(hub::stats().timers, 0);
}

#[test]
fn a_timeout_that_fired_unraised_does_not_hit_later_code() {
    // The deadline passes while the body does not block; the body ends
    // normally, and a later blocking call must not see that timeout.
    let result = with_timeout(Duration::from_millis(1), || {
        std::thread::sleep(Duration::from_millis(5)); // not green: nothing can interrupt
        yield_now(); // the timer fires while the body is queued
        "kept"
    });
    assert!(matches!(result, Ok("kept") | Err(TimedOut)));
    sleep(Duration::from_millis(2));
    assert_eq!(with_timeout(LONG, || 1), Ok(1));
}

#[test]
fn a_timeout_inside_a_green_thread_ends_only_that_scope() {
    let gt = spawn(|| {
        let first = with_timeout(SHORT, || sleep(LONG));
        let second = with_timeout(LONG, || {
            sleep(Duration::from_millis(1));
            2
        });
        (first, second)
    });
    assert_eq!(gt.wait().unwrap(), (Err(TimedOut), Ok(2)));
}

#[test]
fn main_waiting_on_a_slow_thread_can_time_out_and_wait_again() {
    let gt = spawn(|| {
        sleep(Duration::from_millis(30));
        "slow"
    });
    let gt = Rc::new(RefCell::new(Some(gt)));
    let g = gt.clone();
    let timed = with_timeout(SHORT, move || {
        // `wait` consumes the handle, so wait on a clone of the shared slot's thread.
        let handle = g.borrow_mut().take().unwrap();
        handle.wait()
    });
    assert_eq!(timed.unwrap_err(), TimedOut);
    sleep(Duration::from_millis(40));
    assert_eq!(hub::stats().live_green_threads, 0);
}

#[test]
fn timed_out_converts_to_an_io_timed_out_error() {
    let error: std::io::Error = TimedOut.into();
    assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
}
