//! `green::thread`: std-style thread code running on green threads.

use std::time::{Duration, Instant};

use eventlet_rt::green::thread;

#[test]
fn std_style_spawn_and_join_run_concurrently() {
    let start = Instant::now();
    let handles: Vec<thread::JoinHandle<usize>> = (0..50)
        .map(|i| {
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(50));
                i
            })
        })
        .collect();
    let total: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(total, (0..50).sum());
    // One after another they take 2.5 s; the bound leaves room for a loaded machine.
    assert!(
        start.elapsed() < Duration::from_millis(1500),
        "sleeps did not overlap: {:?}",
        start.elapsed()
    );
}

#[test]
fn join_reports_panics_and_kills_as_std_payloads() {
    let what = String::from("it");
    let panicked = thread::spawn(move || panic!("{what} went wrong"));
    let payload = panicked.join().unwrap_err();
    assert_eq!(
        payload.downcast_ref::<String>().map(String::as_str),
        Some("it went wrong")
    );

    let sleeper = thread::spawn(|| thread::sleep(Duration::from_secs(60)));
    thread::yield_now();
    sleeper.kill();
    let payload = sleeper.join().unwrap_err();
    assert_eq!(
        payload.downcast_ref::<&str>(),
        Some(&"the green thread was killed")
    );
}

#[test]
fn builder_names_green_threads_and_plain_items_describe_the_os_thread() {
    let os_thread = thread::current().id();
    let handle = thread::Builder::new()
        .name("named".to_string())
        .spawn(move || thread::current().id() == os_thread)
        .unwrap();
    assert_eq!(handle.name().as_deref(), Some("named"));
    assert!(handle.join().unwrap(), "green threads share the OS thread");
    assert!(!thread::panicking());
    assert!(thread::available_parallelism().unwrap().get() >= 1);
}

#[test]
fn sleep_until_a_deadline_in_the_past_returns_at_once() {
    let start = Instant::now();
    thread::sleep_until(start);
    thread::sleep_until(start + Duration::from_millis(10));
    assert!(start.elapsed() >= Duration::from_millis(10));
}
