//! Destructors and links may block: a detached result's destructor runs on its
//! green thread's stack, a link may sleep, and neither loses a wake-up of the
//! main context or breaks `wait`.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use eventlet_rt::{sleep, spawn, yield_now};

/// Closes "politely": its destructor blocks (green) before it counts itself closed.
struct SlowClose {
    closed: Rc<Cell<u32>>,
}

impl Drop for SlowClose {
    fn drop(&mut self) {
        sleep(Duration::from_millis(5));
        self.closed.set(self.closed.get() + 1);
    }
}

#[test]
fn a_detached_result_whose_destructor_blocks_does_not_strand_main() {
    let closed = Rc::new(Cell::new(0));
    let c = closed.clone();
    drop(spawn(move || SlowClose { closed: c }));
    sleep(Duration::from_millis(20));
    assert_eq!(
        closed.get(),
        1,
        "the result's destructor ran to its end once"
    );
}

#[test]
fn many_detached_results_with_blocking_destructors_all_close() {
    let closed = Rc::new(Cell::new(0));
    for _ in 0..50 {
        let c = closed.clone();
        drop(spawn(move || SlowClose { closed: c }));
    }
    let waiter = spawn(|| sleep(Duration::from_millis(30)));
    waiter.wait().unwrap();
    while closed.get() < 50 {
        sleep(Duration::from_millis(1));
    }
    assert_eq!(closed.get(), 50);
}

#[test]
fn a_result_kept_by_its_handle_is_dropped_where_the_handle_drops() {
    let closed = Rc::new(Cell::new(0));
    let c = closed.clone();
    let gt = spawn(move || SlowClose { closed: c });
    while !gt.is_finished() {
        yield_now();
    }
    assert_eq!(closed.get(), 0, "the handle still holds the result");
    drop(gt); // main blocks in the destructor's sleep, as any drop that blocks
    assert_eq!(closed.get(), 1);
}

#[test]
fn a_blocking_body_destructor_of_a_cancelled_green_thread_does_not_strand_main() {
    let closed = Rc::new(Cell::new(0));
    let guard = SlowClose {
        closed: closed.clone(),
    };
    let gt = spawn(move || drop(guard));
    assert!(gt.cancel(), "not started yet");
    assert_eq!(
        closed.get(),
        1,
        "the body's captures dropped in the canceller"
    );
    assert!(gt.wait().unwrap_err().is_killed());
    sleep(Duration::from_millis(2));
}

#[test]
fn a_link_that_blocks_runs_before_wait_returns() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let gt = spawn(|| 5);
    let l = log.clone();
    gt.link(move |outcome| {
        sleep(Duration::from_millis(10));
        l.borrow_mut().push(*outcome.as_ref().unwrap());
    });
    let l = log.clone();
    gt.link(move |_| l.borrow_mut().push(6));
    assert_eq!(gt.wait().unwrap(), 5);
    assert_eq!(
        *log.borrow(),
        [5, 6],
        "both links, in order, before wait returned"
    );
}

#[test]
fn a_link_that_blocks_leaves_is_finished_and_other_waiters_working() {
    let gt = spawn(|| "done");
    gt.link(|_| sleep(Duration::from_millis(10)));
    let finished_seen = Rc::new(Cell::new(false));
    while !gt.is_finished() {
        yield_now();
    }
    finished_seen.set(true);
    let ticker = spawn(|| {
        for _ in 0..3 {
            sleep(Duration::from_millis(1));
        }
    });
    assert_eq!(gt.wait().unwrap(), "done");
    ticker.wait().unwrap();
    assert!(finished_seen.get());
}

#[test]
fn a_link_killed_while_it_blocks_does_not_change_the_outcome() {
    let gt = spawn(|| 7);
    let ran_on = Rc::new(Cell::new(false));
    let r = ran_on.clone();
    gt.link(move |_| {
        sleep(Duration::from_secs(60));
        r.set(true);
    });
    while !gt.is_finished() {
        yield_now();
    }
    // The link sleeps in the finishing green thread; kill that green thread.
    gt.kill();
    match gt.wait() {
        Ok(7) => {}
        other => panic!("the outcome changed: {other:?}"),
    }
    assert!(!ran_on.get(), "the kill unwound the link's sleep");
}
