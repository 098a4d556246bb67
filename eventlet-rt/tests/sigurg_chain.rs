//! The blocking detector's `SIGURG` handler passes on the signals it did not
//! send to the handler installed before it.

mod child;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use child::{CHILD_DONE, is_child, stderr_of_finished_child};

static OURS: AtomicUsize = AtomicUsize::new(0);

extern "C" fn count_sigurg(_: libc::c_int) {
    OURS.fetch_add(1, Ordering::SeqCst);
}

#[test]
#[ignore = "run in a child process by a_programs_own_sigurg_handler_still_runs_with_the_detector_on"]
fn child_own_sigurg_handler() {
    if !is_child() {
        return;
    }
    // SAFETY: a zeroed sigaction with a plain handler that only touches an atomic.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = count_sigurg as *const () as libc::sighandler_t;
        libc::sigemptyset(&mut action.sa_mask);
        assert_eq!(
            libc::sigaction(libc::SIGURG, &action, std::ptr::null_mut()),
            0
        );
    }
    eventlet_rt::debug::blocking_detection(Duration::from_millis(20));
    // A green thread that blocks the hub: the detector interrupts it with its own SIGURG.
    eventlet_rt::spawn(|| std::thread::sleep(Duration::from_millis(300)))
        .wait()
        .unwrap();
    eventlet_rt::debug::stop_blocking_detection();
    assert_eq!(
        OURS.load(Ordering::SeqCst),
        0,
        "the detector's own signals are not passed on"
    );
    // SAFETY: raising a signal whose handler is installed.
    unsafe { libc::raise(libc::SIGURG) };
    assert_eq!(
        OURS.load(Ordering::SeqCst),
        1,
        "the program's SIGURG reached its handler"
    );
    println!("{CHILD_DONE}");
}

#[test]
fn a_programs_own_sigurg_handler_still_runs_with_the_detector_on() {
    let stderr = stderr_of_finished_child("child_own_sigurg_handler");
    assert!(
        stderr.contains("blocked") || stderr.contains("held"),
        "no report: {stderr}"
    );
}
