//! Panics everywhere: in handlers, in `imap` functions, in `link` callbacks,
//! in destructors. The hub survives and each panic reaches the code that
//! waits for its outcome.

use std::cell::{Cell, RefCell};
use std::io::{BufRead, BufReader, Write};
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Duration;

use eventlet_rt::green::net::TcpStream;
use eventlet_rt::{Builder, GreenError, GreenPool, hub, sleep, spawn, with_timeout, yield_now};

mod child;
use child::{CHILD_DONE, is_child, run_child, stderr_of_finished_child};

/// The panic message of a payload made by `panic!`.
fn message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("<not a string>")
}

/// Nothing is left on the hub: no green thread, timer, waiter or socket.
fn assert_hub_is_clean() {
    let stats = hub::stats();
    assert_eq!(
        (
            stats.live_green_threads,
            stats.queued,
            stats.timers,
            stats.io_waiters,
            stats.io_sources
        ),
        (0, 0, 0, 0, 0),
        "{stats:?}"
    );
}

/// Panics when dropped.
struct Bomb(&'static str);

impl Drop for Bomb {
    fn drop(&mut self) {
        panic!("{}", self.0);
    }
}

/// Echoes lines; "panic" panics with a string, "panic-any" with a number, and
/// "imap" runs an `imap` whose function panics on one item.
fn handle(stream: TcpStream, pool: &GreenPool) {
    let mut writer = stream.try_clone().unwrap();
    for line in BufReader::new(stream).lines() {
        let line = line.unwrap();
        match line.as_str() {
            "panic" => panic!("the handler was asked to panic"),
            "panic-any" => panic::panic_any(500u16),
            "imap" => {
                let squares: Vec<u32> = pool
                    .imap(
                        |n: u32| {
                            if n == 3 {
                                panic!("no square for 3")
                            } else {
                                n * n
                            }
                        },
                        0..5,
                    )
                    .collect();
                unreachable!("imap re-raises the panic of item 3, got {squares:?}");
            }
            _ => writeln!(writer, "{line}").unwrap(),
        }
    }
}

fn ask(client: &TcpStream, line: &str) -> String {
    writeln!(&*client, "{line}").unwrap();
    let mut reply = String::new();
    match BufReader::new(client).read_line(&mut reply) {
        Ok(_) => reply,
        Err(e) => format!("error: {:?}", e.kind()),
    }
}

#[test]
fn handlers_that_panic_close_only_their_own_connection() {
    let listener = eventlet_rt::listen("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handlers = GreenPool::new(8);
    let work = GreenPool::new(4);
    let server = {
        let (handlers, work) = (handlers.clone(), work.clone());
        spawn(move || {
            eventlet_rt::serve_with_pool(listener, &handlers, move |stream, _| {
                handle(stream, &work)
            })
        })
    };
    let steady = eventlet_rt::connect(addr).unwrap();
    for round in 0..30 {
        let doomed = eventlet_rt::connect(addr).unwrap();
        let trigger = ["panic", "panic-any", "imap"][round % 3];
        assert_eq!(ask(&doomed, "hello"), "hello\n");
        assert_eq!(
            ask(&doomed, trigger),
            "",
            "round {round}: the connection of a panicking handler closes"
        );
        assert_eq!(
            ask(&steady, &format!("round {round}")),
            format!("round {round}\n")
        );
    }
    let newcomer = eventlet_rt::connect(addr).unwrap();
    assert_eq!(ask(&newcomer, "still serving"), "still serving\n");
    drop((steady, newcomer));
    handlers.waitall();
    assert_eq!(
        (work.free(), handlers.free()),
        (4, 8),
        "every slot came back"
    );
    assert!(!server.is_finished());
    server.kill();
    assert!(server.wait().unwrap_err().is_killed());
    assert_hub_is_clean();
}

#[test]
fn an_imap_panic_reaches_the_green_thread_that_iterates_and_the_pool_stays_usable() {
    let pool = GreenPool::new(3);
    let seen = Rc::new(RefCell::new(Vec::new()));
    let consumer = {
        let (pool, seen) = (pool.clone(), seen.clone());
        spawn(move || {
            let mut results = pool.imap(
                |n: u32| {
                    sleep(Duration::from_millis(u64::from(n % 3)));
                    if n == 4 || n == 7 {
                        panic!("f failed on {n}");
                    }
                    n * 10
                },
                0..10,
            );
            loop {
                match panic::catch_unwind(AssertUnwindSafe(|| results.next())) {
                    Ok(Some(value)) => seen.borrow_mut().push(Ok(value)),
                    Ok(None) => break,
                    Err(payload) => seen.borrow_mut().push(Err(message(&*payload).to_string())),
                }
            }
            // A panic the consumer does not catch ends the consumer.
            let mut again = pool.imap(
                |n: u32| if n == 1 { panic!("uncaught on {n}") } else { n },
                0..3,
            );
            assert_eq!(again.next(), Some(0));
            again.next()
        })
    };
    let outcome = consumer.wait().unwrap_err();
    assert_eq!(outcome.panic_message(), Some("uncaught on 1"));
    let expected: Vec<Result<u32, String>> = (0..10)
        .map(|n| match n {
            4 | 7 => Err(format!("f failed on {n}")),
            n => Ok(n * 10),
        })
        .collect();
    assert_eq!(*seen.borrow(), expected);
    pool.waitall();
    assert_eq!(pool.free(), 3);
    let sums: Vec<u32> = pool.imap(|n: u32| n + 1, 0..5).collect();
    assert_eq!(sums, [1, 2, 3, 4, 5]);
    assert_hub_is_clean();
}

#[test]
fn a_panicking_link_cannot_change_the_outcome_and_the_other_links_run() {
    let ran = Rc::new(Cell::new(0));
    let ok = Builder::new().name("linked-ok").spawn(|| 7);
    let failed = Builder::new()
        .name("linked-failed")
        .spawn(|| -> u32 { panic!("the body failed") });
    for gt in [&ok, &failed] {
        gt.link(|_| panic!("the first link failed"));
        let ran = ran.clone();
        gt.link(move |_| ran.set(ran.get() + 1));
    }
    assert_eq!(ok.wait().unwrap(), 7);
    assert_eq!(
        failed.wait().unwrap_err().panic_message(),
        Some("the body failed"),
        "the waiter gets the body's panic, not the link's"
    );
    assert_eq!(ran.get(), 2);
    assert_hub_is_clean();
}

#[test]
fn a_link_added_after_the_end_runs_at_once_and_its_panic_is_the_callers() {
    let gt = spawn(|| 1);
    yield_now();
    assert!(gt.is_finished());
    let payload = panic::catch_unwind(AssertUnwindSafe(|| {
        gt.link(|outcome| panic!("late link saw {:?}", outcome.as_ref().ok()))
    }))
    .unwrap_err();
    assert_eq!(message(&*payload), "late link saw Some(1)");
    assert_eq!(gt.wait().unwrap(), 1);
    assert_hub_is_clean();
}

#[test]
#[ignore = "run in a child process by link_panics_are_reported_with_the_green_thread_name"]
fn child_with_a_panicking_link() {
    if !is_child() {
        return;
    }
    let gt = Builder::new().name("linked").spawn(|| 3);
    gt.link(|_| panic!("link exploded"));
    assert_eq!(gt.wait().unwrap(), 3);
    println!("{CHILD_DONE}");
}

#[test]
fn link_panics_are_reported_with_the_green_thread_name() {
    let stderr = stderr_of_finished_child("child_with_a_panicking_link");
    assert!(
        stderr.contains("eventlet-rt: a link callback of green thread 'linked'")
            && stderr.contains("panicked: the green thread panicked: link exploded"),
        "{stderr}"
    );
}

#[test]
fn a_destructor_that_panics_at_a_normal_end_is_the_outcome() {
    let gt = spawn(|| {
        let _bomb = Bomb("dropped at the end");
        5
    });
    assert_eq!(
        gt.wait().unwrap_err().panic_message(),
        Some("dropped at the end")
    );
    assert_hub_is_clean();
}

#[test]
fn a_destructor_that_panics_when_an_unstarted_green_thread_is_killed_is_its_outcome() {
    let bomb = Bomb("dropped by the kill");
    let gt = spawn(move || drop(bomb));
    gt.kill(); // the killer is not disturbed
    assert!(gt.is_finished());
    assert_eq!(
        gt.wait().unwrap_err().panic_message(),
        Some("dropped by the kill")
    );
    assert_eq!(spawn(|| 2).wait().unwrap(), 2);
    assert_hub_is_clean();
}

#[test]
fn a_panic_inside_with_timeout_is_a_panic_not_a_timeout() {
    let payload = panic::catch_unwind(|| {
        with_timeout(Duration::from_secs(60), || -> u32 {
            panic!("inside the scope")
        })
    })
    .unwrap_err();
    assert_eq!(message(&*payload), "inside the scope");
    assert_hub_is_clean();
}

#[test]
#[ignore = "run in a child process by a_destructor_that_panics_while_a_kill_unwinds_aborts"]
fn child_killing_a_green_thread_whose_destructor_panics() {
    if !is_child() {
        return;
    }
    let gt = spawn(|| {
        let _bomb = Bomb("the guard panicked while the kill unwound");
        sleep(Duration::from_secs(3600));
    });
    yield_now();
    gt.kill();
    let _ = gt.wait();
    println!("CHILD SURVIVED");
}

#[test]
fn a_destructor_that_panics_while_a_kill_unwinds_aborts() {
    use std::os::unix::process::ExitStatusExt;
    let output = run_child("child_killing_a_green_thread_whose_destructor_panics");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stdout.contains("CHILD SURVIVED"), "{stdout}");
    assert_eq!(
        output.status.signal(),
        Some(libc::SIGABRT),
        "Rust aborts on a panic during an unwind: {stderr}"
    );
    assert!(
        stderr.contains("the guard panicked while the kill unwound"),
        "{stderr}"
    );
    assert!(
        stderr.contains("panic in a destructor during cleanup"),
        "{stderr}"
    );
}

#[test]
fn green_threads_that_panic_while_others_block_leave_the_hub_intact() {
    let blocked: Vec<_> = (0..50)
        .map(|i| {
            spawn(move || {
                sleep(Duration::from_millis(20));
                i
            })
        })
        .collect();
    let panicking: Vec<_> = (0..50)
        .map(|i| {
            spawn(move || -> u32 {
                sleep(Duration::from_millis(i % 5));
                panic!("panicker {i}")
            })
        })
        .collect();
    for (i, gt) in panicking.into_iter().enumerate() {
        match gt.wait() {
            Err(GreenError::Panicked(payload)) => {
                assert_eq!(message(&*payload), format!("panicker {i}"));
            }
            other => panic!("expected a panic, got {other:?}"),
        }
    }
    let sum: u32 = blocked.into_iter().map(|gt| gt.wait().unwrap()).sum();
    assert_eq!(sum, (0..50).sum());
    assert_hub_is_clean();
}
