//! The blocking detector reports a green thread that blocks its OS thread,
//! and only that one.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use eventlet_rt::{Builder, GreenThread, debug, sleep};

mod child;
use child::{CHILD_DONE, is_child, stderr_of_finished_child};

/// The blocking reports a child wrote on stderr, one per stall.
fn reports_in(stderr: &str) -> Vec<&str> {
    stderr.split("eventlet-rt: green thread").skip(1).collect()
}

#[test]
#[ignore = "run in a child process by a_blocking_green_thread_is_reported_and_a_polite_one_is_not"]
fn child_with_one_blocking_and_one_polite_green_thread() {
    if !is_child() {
        return;
    }
    debug::blocking_detection(Duration::from_millis(200));
    let polite = Builder::new().name("polite-sleeper").spawn(|| {
        for _ in 0..30 {
            sleep(Duration::from_millis(10)); // green: gives the hub back
        }
    });
    let blocker = Builder::new().name("rude-blocker").spawn(|| {
        std::thread::sleep(Duration::from_millis(1500)); // holds the hub
    });
    polite.wait().unwrap();
    blocker.wait().unwrap();
    debug::stop_blocking_detection();
    println!("{CHILD_DONE}");
}

#[test]
fn a_blocking_green_thread_is_reported_and_a_polite_one_is_not() {
    let stderr = stderr_of_finished_child("child_with_one_blocking_and_one_polite_green_thread");
    let reports = reports_in(&stderr);
    assert_eq!(reports.len(), 1, "expected exactly one report:\n{stderr}");
    let report = reports[0];
    assert!(report.contains("'rude-blocker'"), "{report}");
    assert!(
        report.contains("blocking_detection.rs"),
        "no spawn site: {report}"
    );
    assert!(report.contains("sleep"), "no backtrace: {report}");
    assert!(
        report.contains("child_with_one_blocking_and_one_polite_green_thread"),
        "the backtrace misses the blocking closure: {report}"
    );
    assert!(
        !stderr.contains("polite-sleeper"),
        "a polite green thread was reported:\n{stderr}"
    );
}

#[test]
fn detection_is_off_by_default_and_can_be_turned_off() {
    assert!(!debug::is_blocking_detection_on());
    debug::blocking_detection(Duration::from_millis(20));
    assert!(debug::is_blocking_detection_on());
    debug::blocking_detection(Duration::from_millis(40)); // re-tune
    debug::stop_blocking_detection();
    assert!(!debug::is_blocking_detection_on());
}

#[test]
#[should_panic(expected = "threshold above zero")]
fn a_zero_threshold_is_refused() {
    debug::blocking_detection(Duration::ZERO);
}

#[test]
#[ignore = "run in a child process by names_given_with_set_name_show_in_the_report"]
fn child_with_green_threads_named_by_set_name() {
    if !is_child() {
        return;
    }
    debug::blocking_detection(Duration::from_millis(100));
    // Each stall lasts ten thresholds: enough for the watchdog to see it
    // even when a loaded machine schedules its thread late.
    let before = eventlet_rt::spawn(|| std::thread::sleep(Duration::from_millis(1000)));
    before.set_name("named-before-start");
    before.wait().unwrap();
    // A green thread that renames itself while it runs, then blocks.
    let me: Rc<RefCell<Option<GreenThread<()>>>> = Rc::new(RefCell::new(None));
    let handle = me.clone();
    let itself = eventlet_rt::spawn(move || {
        handle
            .borrow()
            .as_ref()
            .unwrap()
            .set_name("renamed-while-running");
        std::thread::sleep(Duration::from_millis(1000));
    });
    *me.borrow_mut() = Some(itself);
    eventlet_rt::yield_now();
    me.borrow_mut().take().unwrap().wait().unwrap();
    debug::stop_blocking_detection();
    println!("{CHILD_DONE}");
}

#[test]
fn names_given_with_set_name_show_in_the_report() {
    let stderr = stderr_of_finished_child("child_with_green_threads_named_by_set_name");
    let reports = reports_in(&stderr);
    // One report per stall, each under the name the green thread had then.
    let names: Vec<&str> = reports
        .iter()
        .map(|report| report.split('\'').nth(1).unwrap_or(""))
        .collect();
    assert_eq!(
        names,
        ["named-before-start", "renamed-while-running"],
        "{stderr}"
    );
}
