//! Thread exit: the hub kills what is left, then drives timers and sockets
//! for a grace period so that destructors that block (a polite close) finish;
//! only what is still blocked after it is abandoned, and the hub says so.

mod child;

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use child::{CHILD_DONE, is_child, stderr_of_finished_child};
use eventlet_rt::{sleep, spawn_n, yield_now};

/// Counts itself closed after a green sleep of `delay`.
struct PoliteClose {
    closed: Arc<AtomicUsize>,
    delay: Duration,
}

impl Drop for PoliteClose {
    fn drop(&mut self) {
        sleep(self.delay);
        self.closed.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn thread_exit_lets_blocking_destructors_of_killed_green_threads_finish() {
    let closed = Arc::new(AtomicUsize::new(0));
    let c = closed.clone();
    std::thread::spawn(move || {
        let polite = |closed: &Arc<AtomicUsize>| PoliteClose {
            closed: closed.clone(),
            delay: Duration::from_millis(1),
        };
        // Started and blocked: killed at its sleep, its guard sleeps while unwinding.
        let started = polite(&c);
        spawn_n(move || {
            let _guard = started;
            sleep(Duration::from_secs(3600));
        });
        yield_now();
        // Never started: its closure (and the guard in it) is dropped at teardown.
        let unstarted = polite(&c);
        spawn_n(move || drop(unstarted));
    })
    .join()
    .unwrap();
    assert_eq!(
        closed.load(Ordering::SeqCst),
        2,
        "both destructors finished"
    );
}

#[test]
fn thread_exit_drives_sockets_for_a_goodbye_exchange() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut goodbye = [0; 3];
        stream.read_exact(&mut goodbye).unwrap();
        stream.write_all(b"ok").unwrap();
        goodbye
    });
    let answered = Arc::new(AtomicUsize::new(0));
    let a = answered.clone();
    std::thread::spawn(move || {
        struct Goodbye {
            stream: eventlet_rt::green::net::TcpStream,
            answered: Arc<AtomicUsize>,
        }
        impl Drop for Goodbye {
            fn drop(&mut self) {
                self.stream.write_all(b"bye").unwrap();
                let mut reply = [0; 2];
                self.stream.read_exact(&mut reply).unwrap();
                assert_eq!(&reply, b"ok");
                self.answered.fetch_add(1, Ordering::SeqCst);
            }
        }
        let stream = eventlet_rt::connect(addr).unwrap();
        spawn_n(move || {
            let _goodbye = Goodbye {
                stream,
                answered: a,
            };
            sleep(Duration::from_secs(3600));
        });
        yield_now();
    })
    .join()
    .unwrap();
    assert_eq!(&peer.join().unwrap(), b"bye");
    assert_eq!(answered.load(Ordering::SeqCst), 1);
}

#[test]
#[ignore = "run in a child process by a_destructor_blocked_past_the_grace_period_is_abandoned_and_reported"]
fn child_destructor_blocks_past_the_grace_period() {
    if !is_child() {
        return;
    }
    let closed = Arc::new(AtomicUsize::new(0));
    let c = closed.clone();
    let started = Instant::now();
    std::thread::spawn(move || {
        eventlet_rt::hub::set_teardown_grace_period(Duration::from_millis(200));
        let stubborn = PoliteClose {
            closed: c.clone(),
            delay: Duration::from_secs(3600),
        };
        let quick = PoliteClose {
            closed: c,
            delay: Duration::from_millis(1),
        };
        eventlet_rt::Builder::new()
            .name("stubborn-closer")
            .spawn(move || {
                let _guard = stubborn;
                sleep(Duration::from_secs(3600));
            });
        spawn_n(move || {
            let _guard = quick;
            sleep(Duration::from_secs(3600));
        });
        yield_now();
    })
    .join()
    .unwrap();
    let took = started.elapsed();
    assert_eq!(
        closed.load(Ordering::SeqCst),
        1,
        "only the quick one closed"
    );
    assert!(took < Duration::from_secs(60), "teardown took {took:?}");
    println!("{CHILD_DONE}");
}

#[test]
fn a_destructor_blocked_past_the_grace_period_is_abandoned_and_reported() {
    let stderr = stderr_of_finished_child("child_destructor_blocks_past_the_grace_period");
    assert!(
        stderr.contains("abandoned") && stderr.contains("stubborn-closer"),
        "the abandoned green thread is not named: {stderr}"
    );
    assert_eq!(
        stderr.matches("abandoned").count(),
        1,
        "reported once: {stderr}"
    );
}
