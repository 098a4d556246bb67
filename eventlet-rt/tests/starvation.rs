//! Green threads that keep yielding to each other do not starve timers or
//! sockets: the hub looks at both within a bounded number of switches.

use std::cell::Cell;
use std::io::{Read, Write};
use std::rc::Rc;
use std::time::{Duration, Instant};

use eventlet_rt::{sleep, spawn, yield_now};

/// Spins for about `busy` of CPU, then yields, until `stop` is set; counts its rounds.
fn spawn_yielders(count: usize, busy: Duration, stop: &Rc<Cell<bool>>, rounds: &Rc<Cell<u64>>) {
    for _ in 0..count {
        let stop = stop.clone();
        let rounds = rounds.clone();
        eventlet_rt::spawn_n(move || {
            while !stop.get() {
                let start = Instant::now();
                while start.elapsed() < busy {
                    std::hint::spin_loop();
                }
                rounds.set(rounds.get() + 1);
                yield_now();
            }
        });
    }
}

/// The busy loops of one test at a time: they would starve each other's
/// OS threads (and the writer thread) of the machine's few cores.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn alone() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// How many yields the busy green threads made in all before `f` returned.
fn rounds_while(f: impl FnOnce()) -> u64 {
    let stop = Rc::new(Cell::new(false));
    let rounds = Rc::new(Cell::new(0));
    spawn_yielders(50, Duration::from_micros(20), &stop, &rounds);
    yield_now(); // they all start
    let before = rounds.get();
    f();
    let during = rounds.get() - before;
    stop.set(true);
    sleep(Duration::from_millis(1));
    during
}

#[test]
fn a_sleep_returns_soon_after_it_is_due_while_green_threads_yield_to_each_other() {
    let _alone = alone();
    let rounds = rounds_while(|| sleep(Duration::from_millis(1)));
    // 1 ms is about 50 rounds of 20 us; the hub must notice the timer within
    // a small number of switches after that. Before the bound, the hub looked
    // only once every 100,000 switches (about 2 s of rounds here).
    assert!(
        rounds < 5_000,
        "{rounds} yields went by before a 1 ms sleep returned"
    );
}

#[test]
fn a_sleeping_green_thread_wakes_while_others_yield() {
    let _alone = alone();
    let rounds = rounds_while(|| {
        spawn(|| sleep(Duration::from_millis(1))).wait().unwrap();
    });
    assert!(rounds < 5_000, "{rounds} yields before the sleeper woke");
}

#[test]
fn a_socket_read_completes_soon_while_green_threads_yield_to_each_other() {
    let _alone = alone();
    let listener = eventlet_rt::listen("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let writer = std::thread::spawn(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        // Long enough for the reader to block first, even on a loaded machine.
        std::thread::sleep(Duration::from_millis(50));
        stream.write_all(b"ping").unwrap();
        stream
    });
    let (mut conn, _) = listener.accept().unwrap();
    let rounds = rounds_while(|| {
        let mut buf = [0; 4];
        conn.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping");
    });
    drop(writer.join().unwrap());
    // The writer's 50 ms are about 2,500 rounds; a loaded machine may
    // stretch that, but not to the 100,000 switches of the old bound.
    assert!(rounds < 40_000, "{rounds} yields before the read completed");
}
