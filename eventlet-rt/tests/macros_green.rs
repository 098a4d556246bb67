//! What the macros do at run time: `#[green]` code blocks only its own green thread, and
//! `spawn!` takes its arguments before the green thread starts.

use std::cell::RefCell;
use std::io::{Read, Write};
use std::rc::Rc;
use std::time::{Duration, Instant};

use eventlet_rt::{GreenThread, green, spawn, spawn_n};

const SLEEPERS: usize = 40;
const NAP: Duration = Duration::from_millis(50);
/// One after the other, 40 naps take 2 s; together, a little over one nap. The bound only
/// has to tell those apart, with room for a loaded machine.
const TOGETHER: Duration = Duration::from_millis(1500);

/// Runs `SLEEPERS` green threads of `nap` and tells how long they took in all.
fn time_sleepers(nap: fn() -> usize) -> Duration {
    let start = Instant::now();
    let sleepers: Vec<GreenThread<usize>> = (0..SLEEPERS).map(|_| spawn(nap)).collect();
    let naps: usize = sleepers.into_iter().map(|s| s.wait().unwrap()).sum();
    assert_eq!(naps, SLEEPERS);
    start.elapsed()
}

#[green]
fn std_sleep() -> usize {
    std::thread::sleep(NAP);
    1
}

#[test]
fn green_fn_std_sleepers_run_together() {
    let elapsed = time_sleepers(std_sleep);
    assert!(elapsed >= NAP, "{elapsed:?}");
    assert!(
        elapsed < TOGETHER,
        "40 green sleeps of 50 ms took {elapsed:?}"
    );
}

#[green(no_patch)]
fn blocking_sleep() -> usize {
    std::thread::sleep(Duration::from_millis(5));
    1
}

#[test]
fn no_patch_sleepers_block_the_hub_one_after_the_other() {
    let elapsed = time_sleepers(blocking_sleep);
    assert!(
        elapsed >= Duration::from_millis(5) * SLEEPERS as u32,
        "{elapsed:?}"
    );
}

#[green]
fn bind_loopback() -> std::net::TcpListener {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap()
}

/// Answers each of `clients` connections with "pong" after a nap, one green thread each.
#[green]
fn serve_slowly(listener: std::net::TcpListener, clients: usize) {
    let handlers: Vec<std::thread::JoinHandle<()>> = (0..clients)
        .map(|_| {
            let (mut stream, _) = listener.accept().unwrap();
            std::thread::spawn(move || {
                std::thread::sleep(NAP);
                stream.write_all(b"pong").unwrap();
            })
        })
        .collect();
    for handler in handlers {
        handler.join().unwrap();
    }
}

#[green]
fn ping(addr: std::net::SocketAddr) -> String {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    reply
}

#[test]
fn green_fn_std_tcp_server_and_clients_run_together() {
    let listener = bind_loopback();
    let addr = listener.local_addr().unwrap();
    let start = Instant::now();
    let server = spawn!(serve_slowly(listener, SLEEPERS));
    let clients: Vec<_> = (0..SLEEPERS).map(|_| spawn!(ping(addr))).collect();
    for client in clients {
        assert_eq!(client.wait().unwrap(), "pong");
    }
    server.wait().unwrap();
    let elapsed = start.elapsed();
    assert!(
        elapsed < TOGETHER,
        "40 connections served after a 50 ms nap took {elapsed:?}"
    );
}

#[green]
mod patched {
    use std::{net, thread};

    use super::NAP;

    pub fn nap() -> usize {
        thread::sleep(NAP);
        usize::from(local_port() == 0)
    }

    fn local_port() -> u16 {
        net::SocketAddr::from(([127, 0, 0, 1], 0)).port()
    }
}

#[test]
fn green_mod_with_use_std_net_thread_runs_together() {
    let elapsed = time_sleepers(patched::nap);
    assert!(
        elapsed < TOGETHER,
        "40 green sleeps of 50 ms took {elapsed:?}"
    );
}

#[green]
#[test]
fn green_test_fn_runs_std_threads_as_green_threads() {
    let start = Instant::now();
    let sleepers: Vec<_> = (0..SLEEPERS)
        .map(|i| {
            std::thread::spawn(move || {
                std::thread::sleep(NAP);
                i
            })
        })
        .collect();
    let ids: Vec<usize> = sleepers.into_iter().map(|s| s.join().unwrap()).collect();
    assert_eq!(ids, (0..SLEEPERS).collect::<Vec<_>>());
    assert!(start.elapsed() < TOGETHER, "{:?}", start.elapsed());
}

fn describe(name: String, count: u32) -> String {
    format!("{name}: {count}")
}

#[test]
fn spawn_takes_its_arguments_before_the_green_thread_starts() {
    // Shared state, so a call that read its arguments later would see the changes.
    let name = Rc::new(RefCell::new(String::from("first")));
    let count = Rc::new(RefCell::new(1));
    let described = spawn!(describe(name.borrow().clone(), *count.borrow()));
    name.borrow_mut().push_str(" changed");
    *count.borrow_mut() += 1;
    assert_eq!(described.wait().unwrap(), "first: 1");
    assert_eq!(*name.borrow(), "first changed");
}

type Log = Rc<RefCell<Vec<String>>>;

fn note(log: &Log, entry: &str) -> u32 {
    log.borrow_mut().push(entry.to_owned());
    1
}

struct Recorder(Log);

impl Recorder {
    fn record(&self, a: u32, b: u32) -> u32 {
        note(&self.0, "call runs");
        a + b
    }
}

#[test]
fn spawn_evaluates_receiver_then_arguments_in_order_before_the_call() {
    let log: Log = Rc::default();
    let recorder = |log: &Log| {
        note(log, "receiver");
        Recorder(log.clone())
    };
    let sum = spawn!(recorder(&log).record(note(&log, "a"), note(&log, "b")));
    note(&log, "after spawn!");
    assert_eq!(sum.wait().unwrap(), 2);
    assert_eq!(
        *log.borrow(),
        ["receiver", "a", "b", "after spawn!", "call runs"]
    );
}

fn push(log: Log, entry: String) {
    log.borrow_mut().push(entry);
}

#[test]
fn spawn_n_takes_its_arguments_before_the_green_thread_starts() {
    let log: Log = Rc::default();
    let mut round = 1;
    spawn_n!(push(log.clone(), format!("round {round}")));
    round += 1;
    eventlet_rt::sleep(Duration::ZERO);
    assert_eq!(*log.borrow(), ["round 1"]);
    assert_eq!(round, 2);
}

/// The README's example: the `use` is inside the function, so `TcpStream` is green.
#[green]
fn fetch(addr: std::net::SocketAddr) -> std::io::Result<usize> {
    use std::net::TcpStream;
    let mut stream = TcpStream::connect(addr)?;
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
    let mut body = Vec::new();
    stream.read_to_end(&mut body)?;
    Ok(body.len())
}

/// Answers each of `clients` requests with "pong" after a nap, once it has read the request.
#[green]
fn serve_requests_slowly(listener: std::net::TcpListener, clients: usize) {
    let handlers: Vec<std::thread::JoinHandle<()>> = (0..clients)
        .map(|_| {
            let (mut stream, _) = listener.accept().unwrap();
            std::thread::spawn(move || {
                let mut request = Vec::new();
                let mut byte = [0];
                while !request.ends_with(b"\r\n\r\n") {
                    stream.read_exact(&mut byte).unwrap();
                    request.push(byte[0]);
                }
                std::thread::sleep(NAP);
                stream.write_all(b"pong").unwrap();
            })
        })
        .collect();
    for handler in handlers {
        handler.join().unwrap();
    }
}

#[test]
fn readme_fetches_with_the_use_inside_run_together() {
    let listener = bind_loopback();
    let addr = listener.local_addr().unwrap();
    let server = spawn!(serve_requests_slowly(listener, 10));
    let start = Instant::now();
    let pool = eventlet_rt::GreenPool::new(100);
    let sizes: Vec<usize> =
        eventlet_rt::pool_imap!(pool, fetch(addr).unwrap() for _ in 0..10).collect();
    assert_eq!(sizes, [4; 10]); // "pong"
    server.wait().unwrap();
    let elapsed = start.elapsed();
    assert!(
        elapsed < TOGETHER,
        "10 fetches from a server that naps 50 ms each took {elapsed:?}"
    );
}

#[green]
fn new_log() -> std::sync::Mutex<Vec<u32>> {
    std::sync::Mutex::new(Vec::new())
}

/// Holds the lock across a sleep: with std's `Mutex` the second green thread would block
/// the OS thread while the first sleeps, and neither would finish.
#[green]
fn log_twice(log: Rc<std::sync::Mutex<Vec<u32>>>, id: u32) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    CALLS.fetch_add(1, Ordering::Relaxed);
    let mut entries = log.lock().unwrap();
    entries.push(id);
    std::thread::sleep(NAP);
    entries.push(id);
}

#[test]
fn green_fn_std_sync_mutex_is_green_and_held_across_a_sleep() {
    let log: eventlet_rt::green::sync::Mutex<Vec<u32>> = new_log();
    let log = Rc::new(log);
    let writers: Vec<_> = (0..3)
        .map(|id| spawn!(log_twice(log.clone(), id)))
        .collect();
    writers.into_iter().for_each(|w| w.wait().unwrap());
    assert_eq!(*log.lock().unwrap(), [0, 0, 1, 1, 2, 2]);
}

/// Bare names imported outside from `eventlet_rt` pass the outer-`use` checks and run green.
#[green]
fn fan_in(workers: u32) -> u32 {
    use eventlet_rt::green::mpsc;
    let (tx, rx) = mpsc::channel();
    let handles: Vec<GreenThread<()>> = (0..workers)
        .map(|i| {
            let tx = tx.clone();
            spawn(move || {
                std::thread::sleep(NAP);
                tx.send(i).unwrap();
            })
        })
        .collect();
    drop(tx);
    handles.into_iter().for_each(|h| h.wait().unwrap());
    rx.iter().sum()
}

#[test]
fn green_fn_calling_the_crates_spawn_by_its_bare_name_runs_together() {
    let start = Instant::now();
    assert_eq!(fan_in(SLEEPERS as u32), (0..SLEEPERS as u32).sum());
    assert!(start.elapsed() < TOGETHER, "{:?}", start.elapsed());
}
