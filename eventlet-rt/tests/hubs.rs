//! Many hubs: green threads started on other OS threads, waited for from
//! green threads and plain threads, killed, joined, and `serve` on them all.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eventlet_rt::green::mpsc;
use eventlet_rt::hubs::{self, Hubs};
use eventlet_rt::{GreenError, sleep, spawn};

fn thread_name() -> String {
    std::thread::current().name().unwrap_or("").to_owned()
}

#[test]
fn each_hub_runs_its_green_threads_on_its_own_named_thread() {
    let hubs = Hubs::new(3).unwrap();
    assert_eq!(hubs.len(), 3);
    let names: Vec<String> = (0..3)
        .map(|i| hubs.handle(i).spawn(thread_name))
        .map(|remote| remote.wait().unwrap())
        .collect();
    assert_eq!(
        names,
        ["eventlet-hub-0", "eventlet-hub-1", "eventlet-hub-2"]
    );
}

#[test]
fn remote_green_threads_share_rc_with_local_green_threads_of_their_hub() {
    let hubs = Hubs::new(2).unwrap();
    let count = hubs.handle(1).spawn(|| {
        let seen = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let workers: Vec<_> = (0..5)
            .map(|n| {
                let seen = seen.clone();
                spawn(move || {
                    sleep(Duration::from_millis(1));
                    seen.borrow_mut().push((n, thread_name()));
                })
            })
            .collect();
        workers.into_iter().for_each(|w| w.wait().unwrap());
        let seen = seen.borrow();
        assert!(seen.iter().all(|(_, name)| name == "eventlet-hub-1"));
        seen.len()
    });
    assert_eq!(count.wait().unwrap(), 5);
}

#[test]
fn a_green_wait_for_a_remote_green_thread_parks_only_the_waiter() {
    let hubs = Hubs::new(2).unwrap();
    let other = hubs.handle(1);
    let outcome = hubs.handle(0).spawn(move || {
        let slow = other.spawn(|| {
            std::thread::sleep(Duration::from_millis(100)); // hub 1 is busy
            "slow"
        });
        let ticker = spawn(|| {
            let mut ticks = 0;
            while ticks < 5 {
                sleep(Duration::from_millis(2));
                ticks += 1;
            }
            ticks
        });
        let result = slow.wait().unwrap();
        // The ticker finished while the waiter was parked.
        (result, ticker.is_finished(), ticker.wait().unwrap())
    });
    assert_eq!(outcome.wait().unwrap(), ("slow", true, 5));
}

#[test]
fn plain_threads_and_main_contexts_wait_too() {
    let hubs = Hubs::new(1).unwrap();
    let handle = hubs.handle(0);
    let from_plain_thread = std::thread::spawn(move || handle.spawn(|| 2 + 2).wait().unwrap());
    assert_eq!(from_plain_thread.join().unwrap(), 4);
    // This test thread's main context, with a local green thread running meanwhile.
    let local = spawn(|| 7);
    let remote = hubs.handle(0).spawn(|| {
        std::thread::sleep(Duration::from_millis(20));
        8
    });
    assert_eq!(remote.wait().unwrap(), 8);
    assert!(local.is_finished());
}

#[test]
fn kill_unwinds_a_blocked_remote_green_thread_and_runs_its_destructors() {
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let hubs = Hubs::new(1).unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    let (started_tx, started_rx) = mpsc::channel();
    let d = drops.clone();
    let sleeper = hubs.handle(0).spawn(move || {
        let _counted = Counted(d);
        started_tx.send(()).unwrap();
        sleep(Duration::from_secs(3600));
    });
    started_rx.recv().unwrap();
    assert!(!sleeper.is_finished());
    sleeper.kill();
    assert!(sleeper.wait().unwrap_err().is_killed());
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn a_panic_on_one_hub_is_reported_and_the_hubs_go_on() {
    let hubs = Hubs::new(2).unwrap();
    let panicked = hubs.handle(0).spawn(|| -> u8 { panic!("hub 0 fails") });
    match panicked.wait() {
        Err(GreenError::Panicked(payload)) => {
            assert_eq!(payload.downcast_ref::<&str>(), Some(&"hub 0 fails"))
        }
        other => panic!("expected a panic, got {other:?}"),
    }
    assert_eq!(hubs.handle(0).spawn(|| 1).wait().unwrap(), 1);
    assert_eq!(hubs.handle(1).spawn(|| 2).wait().unwrap(), 2);
}

#[test]
fn join_waits_for_every_green_thread_the_remote_ones_spawned() {
    let hubs = Hubs::new(2).unwrap();
    let finished = Arc::new(AtomicUsize::new(0));
    for i in 0..6 {
        let finished = finished.clone();
        hubs.handle(i % 2).spawn(move || {
            for depth in 0..3u64 {
                let finished = finished.clone();
                eventlet_rt::spawn_n(move || {
                    sleep(Duration::from_millis(5 * depth));
                    finished.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
    }
    hubs.join();
    assert_eq!(finished.load(Ordering::SeqCst), 18);
    hubs.join(); // nothing left: returns at once
}

#[test]
fn a_handle_outliving_its_hubs_gives_killed() {
    let hubs = Hubs::new(1).unwrap();
    let handle = hubs.handle(0);
    drop(hubs);
    assert!(handle.spawn(|| 1).wait().unwrap_err().is_killed());
}

#[test]
fn pinned_hubs_each_run_on_one_cpu() {
    let hubs = Hubs::builder()
        .threads(2)
        .pin_to_cores(true)
        .build()
        .unwrap();
    for i in 0..2 {
        let cpus = hubs
            .handle(i)
            .spawn(|| {
                // SAFETY: a zeroed cpu_set_t is a valid empty set, filled by the call.
                let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
                let size = std::mem::size_of::<libc::cpu_set_t>();
                // SAFETY: `set` is a valid cpu_set_t of `size` bytes.
                assert_eq!(unsafe { libc::sched_getaffinity(0, size, &mut set) }, 0);
                // SAFETY: `set` was filled by sched_getaffinity.
                unsafe { libc::CPU_COUNT(&set) }
            })
            .wait()
            .unwrap();
        assert_eq!(cpus, 1);
    }
}

#[test]
#[should_panic(expected = "use an index below Hubs::len()")]
fn a_handle_past_the_end_panics_with_what_to_do() {
    Hubs::new(1).unwrap().handle(1);
}

fn echo(mut stream: eventlet_rt::green::net::TcpStream) {
    let mut buf = [0; 4096];
    while let Ok(n @ 1..) = stream.read(&mut buf) {
        if stream.write_all(&buf[..n]).is_err() {
            return;
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn connect_retrying(port: u16) -> std::net::TcpStream {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(stream) => return stream,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("cannot connect: {e}"),
        }
    }
}

#[test]
fn serve_spreads_connections_over_every_hub() {
    let hubs = Arc::new(Hubs::new(2).unwrap());
    let port = free_port();
    let served_by = Arc::new(Mutex::new(HashSet::new()));
    let serving = hubs.clone();
    let seen = served_by.clone();
    std::thread::spawn(move || {
        hubs::serve_on(&serving, ("127.0.0.1", port), move |stream, _| {
            seen.lock().unwrap().insert(thread_name());
            echo(stream);
        })
    });
    let first = connect_retrying(port);
    // Flows hash to one listener or the other: 64 connections all on one
    // hub would be a one in 2^63 chance.
    let clients: Vec<_> = (0..64)
        .map(|i| {
            std::thread::spawn(move || {
                let mut client = connect_retrying(port);
                let message = format!("client {i}");
                client.write_all(message.as_bytes()).unwrap();
                let mut back = vec![0; message.len()];
                client.read_exact(&mut back).unwrap();
                assert_eq!(back, message.as_bytes());
            })
        })
        .collect();
    clients.into_iter().for_each(|c| c.join().unwrap());
    drop(first);
    let served_by = served_by.lock().unwrap();
    assert_eq!(
        *served_by,
        HashSet::from(["eventlet-hub-0".to_owned(), "eventlet-hub-1".to_owned()])
    );
}

#[test]
fn serve_reports_a_bind_failure() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    // `taken` has no SO_REUSEPORT: the hubs cannot share its port.
    let error = hubs::serve(("127.0.0.1", port), 2, |_, _| {}).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::AddrInUse);
}
