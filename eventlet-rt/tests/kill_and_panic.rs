//! Killing green threads and containing their panics.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Duration;

use eventlet_rt::{GreenError, hub, sleep, spawn, spawn_n, yield_now};

/// Counts its drops, to prove destructors run exactly once.
struct DropCounter(Rc<Cell<u32>>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[test]
fn kill_before_start_never_runs_the_body_and_drops_it() {
    let drops = Rc::new(Cell::new(0));
    let ran = Rc::new(Cell::new(false));
    let guard = DropCounter(drops.clone());
    let r = ran.clone();
    let gt = spawn(move || {
        let _guard = guard;
        r.set(true);
    });
    gt.kill();
    assert_eq!(drops.get(), 1, "the unstarted body is dropped by kill");
    assert!(gt.is_finished());
    yield_now();
    assert!(!ran.get());
    assert!(matches!(gt.wait(), Err(GreenError::Killed)));
    assert_eq!(drops.get(), 1);
}

#[test]
fn kill_while_blocked_unwinds_and_runs_destructors_once() {
    let drops = Rc::new(Cell::new(0));
    let reached_end = Rc::new(Cell::new(false));
    let (d, end) = (drops.clone(), reached_end.clone());
    let gt = spawn(move || {
        let _guard = DropCounter(d);
        sleep(Duration::from_secs(3600));
        end.set(true);
    });
    yield_now();
    assert_eq!(hub::stats().timers, 1);
    gt.kill();
    assert!(gt.wait().unwrap_err().is_killed());
    assert_eq!(drops.get(), 1);
    assert!(!reached_end.get());
    let stats = hub::stats();
    assert_eq!(
        (stats.timers, stats.live_green_threads),
        (0, 0),
        "{stats:?}"
    );
}

#[test]
fn kill_of_a_queued_started_thread_unwinds_when_it_next_runs() {
    let steps = Rc::new(RefCell::new(Vec::new()));
    let s = steps.clone();
    let gt = spawn(move || {
        s.borrow_mut().push("started");
        yield_now();
        s.borrow_mut().push("after yield");
    });
    yield_now(); // it starts, yields, and is queued again
    gt.kill();
    assert!(gt.wait().unwrap_err().is_killed());
    assert_eq!(*steps.borrow(), ["started"]);
}

#[test]
fn a_thread_that_kills_itself_unwinds_at_once() {
    let slot: Rc<RefCell<Option<eventlet_rt::GreenThread<()>>>> = Rc::new(RefCell::new(None));
    let after = Rc::new(Cell::new(false));
    let (s, a) = (slot.clone(), after.clone());
    let gt = spawn(move || {
        s.borrow().as_ref().unwrap().kill();
        a.set(true);
    });
    *slot.borrow_mut() = Some(gt);
    yield_now();
    assert!(!after.get());
    let gt = slot.borrow_mut().take().unwrap();
    assert!(gt.wait().unwrap_err().is_killed());
}

#[test]
fn a_swallowed_kill_is_raised_again_at_the_next_blocking_point() {
    let progress = Rc::new(RefCell::new(Vec::new()));
    let p = progress.clone();
    let gt = spawn(move || {
        let caught = panic::catch_unwind(AssertUnwindSafe(|| sleep(Duration::from_secs(3600))));
        p.borrow_mut().push(if caught.is_err() {
            "swallowed"
        } else {
            "slept"
        });
        sleep(Duration::from_secs(3600));
        p.borrow_mut().push("unreachable");
    });
    yield_now();
    gt.kill();
    assert!(gt.wait().unwrap_err().is_killed());
    assert_eq!(*progress.borrow(), ["swallowed"]);
    // The hub is fine afterwards.
    assert_eq!(spawn(|| 5).wait().unwrap(), 5);
    assert_eq!(hub::stats().timers, 0);
}

#[test]
fn kill_after_the_end_keeps_the_result() {
    let gt = spawn(|| 3);
    yield_now();
    gt.kill();
    assert_eq!(gt.wait().unwrap(), 3);
}

#[test]
fn a_panic_stays_in_its_green_thread_with_its_payload() {
    let survivors = Rc::new(Cell::new(0));
    let mut threads = Vec::new();
    for i in 0..4 {
        let survivors = survivors.clone();
        threads.push(spawn(move || {
            sleep(Duration::from_millis(1));
            if i == 1 {
                panic!("green thread {i} failed");
            }
            survivors.set(survivors.get() + 1);
            i
        }));
    }
    let outcomes: Vec<_> = threads.into_iter().map(|gt| gt.wait()).collect();
    assert_eq!(survivors.get(), 3);
    assert_eq!(outcomes[0].as_ref().unwrap(), &0);
    let error = outcomes[1].as_ref().unwrap_err();
    assert_eq!(error.panic_message(), Some("green thread 1 failed"));
    assert_eq!(
        error.to_string(),
        "the green thread panicked: green thread 1 failed"
    );
    assert_eq!(outcomes[3].as_ref().unwrap(), &3);
}

#[test]
fn any_panic_payload_reaches_the_waiter() {
    let gt = spawn(|| panic::panic_any(404u16));
    match gt.wait() {
        Err(GreenError::Panicked(payload)) => assert_eq!(payload.downcast_ref::<u16>(), Some(&404)),
        other => panic!("expected a panic payload, got {other:?}"),
    }
}

#[test]
fn a_panicking_spawn_n_thread_does_not_disturb_the_others() {
    let done = Rc::new(Cell::new(false));
    spawn_n(|| panic!("spawn_n body panicked"));
    let d = done.clone();
    spawn_n(move || d.set(true));
    sleep(Duration::from_millis(1));
    assert!(done.get());
}

#[test]
fn a_panicking_link_is_reported_and_the_other_links_still_run() {
    let later = Rc::new(Cell::new(false));
    let gt = spawn(|| 1);
    gt.link(|_| panic!("link failed"));
    let l = later.clone();
    gt.link(move |_| l.set(true));
    assert_eq!(gt.wait().unwrap(), 1);
    assert!(later.get());
}

#[test]
fn waiting_on_a_killed_waiter_leaves_the_target_running() {
    let target = spawn(|| {
        sleep(Duration::from_millis(20));
        "target done"
    });
    let target = Rc::new(RefCell::new(Some(target)));
    let t = target.clone();
    let waiter = spawn(move || {
        let target = t.borrow_mut().take().unwrap();
        target.wait()
    });
    yield_now();
    waiter.kill();
    assert!(waiter.wait().unwrap_err().is_killed());
    // The target was moved into the killed waiter and dropped there; it still runs.
    sleep(Duration::from_millis(30));
    assert_eq!(hub::stats().live_green_threads, 0);
}

#[test]
fn a_kill_lands_while_another_green_thread_is_suspended_mid_unwind() {
    let log = Rc::new(RefCell::new(Vec::new()));
    struct SlowClose(Rc<RefCell<Vec<&'static str>>>);
    impl Drop for SlowClose {
        fn drop(&mut self) {
            sleep(Duration::from_millis(50));
            self.0.borrow_mut().push("slow close done");
        }
    }
    let guard = SlowClose(log.clone());
    let closing = spawn(move || {
        let _guard = guard;
        sleep(Duration::from_secs(60));
    });
    let l = log.clone();
    let other = spawn(move || {
        sleep(Duration::from_secs(60));
        l.borrow_mut().push("other woke normally");
    });
    yield_now();
    closing.kill(); // unwinds into SlowClose, which sleeps mid-unwind
    yield_now();
    other.kill(); // must unwind now, not wait for the other's unwind to end
    assert!(other.wait().unwrap_err().is_killed());
    assert!(
        log.borrow().is_empty(),
        "the kill waited for the other unwind: {log:?}"
    );
    assert!(closing.wait().unwrap_err().is_killed());
    assert_eq!(*log.borrow(), ["slow close done"]);
}
