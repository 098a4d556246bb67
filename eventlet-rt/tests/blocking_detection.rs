//! The blocking detector reports a green thread that blocks its OS thread,
//! and only that one.

use std::process::Command;
use std::time::Duration;

use eventlet_rt::{Builder, debug, sleep};

#[test]
#[ignore = "run in a child process by a_blocking_green_thread_is_reported_and_a_polite_one_is_not"]
fn child_with_one_blocking_and_one_polite_green_thread() {
    if std::env::var_os("EVENTLET_CHILD").is_none() {
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
    println!("CHILD DONE");
}

#[test]
fn a_blocking_green_thread_is_reported_and_a_polite_one_is_not() {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "child_with_one_blocking_and_one_polite_green_thread",
            "--nocapture",
        ])
        .env("EVENTLET_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stdout.contains("CHILD DONE"),
        "child failed:\n{stdout}\n{stderr}"
    );
    let reports: Vec<&str> = stderr.split("eventlet-rt: green thread").skip(1).collect();
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
