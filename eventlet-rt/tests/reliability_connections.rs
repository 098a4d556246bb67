//! Ten thousand concurrent connections to a green echo server, a tenth of
//! them misbehaving: clients that half-close, reset (`SO_LINGER` 0), stall
//! mid-message or send and vanish. Every well-behaved client gets its bytes
//! back, the server keeps accepting, and afterwards no descriptor,
//! registration, timer or green thread is left.
//!
//! The clients are green threads of a child process (this binary again), so
//! each process needs one descriptor per connection, not two: 10,000
//! connections fit the common hard limit of 20,000 descriptors. The two talk
//! over the child's stdin and stdout to line up the phases. One test in its
//! own binary: descriptors are counted for the whole process.
//! `EVENTLET_RELIABILITY_CONNS` sets the number of connections (default
//! 10,000); with too low a descriptor limit the test scales down and says so.
//! The second test does the same against a server on two hubs
//! (`hubs::serve_on_with_pool`); the two run one after the other.

use std::cell::Cell;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::process::{ChildStdin, ChildStdout, Command, Stdio};
use std::rc::Rc;
use std::time::Duration;

use eventlet_rt::green::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};

use eventlet_rt::green::mpsc;
use eventlet_rt::hubs::{self, Hubs};
use eventlet_rt::{Event, GreenPool, Queue, hub, serve_with_pool, spawn, tpool, with_timeout};

const DEFAULT_CONNECTIONS: usize = 10_000;
/// Clients connect in batches, each waiting for the server's welcome byte, so
/// the listen backlog never overflows (a dropped SYN costs the client a
/// one-second retransmission).
const BATCH: usize = 500;
/// The server's first byte on every connection.
const WELCOME: u8 = b'+';
/// Descriptors besides the connections: stdio, pipes, the hub's epoll.
const SPARE_DESCRIPTORS: u64 = 256;
/// A bound on every read, so a lost byte fails the test instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(60);

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn descriptor_limit() -> (u64, u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills the struct it is given.
    assert_eq!(
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
        0
    );
    (limit.rlim_cur, limit.rlim_max)
}

fn set_descriptor_limit(soft: u64, hard: u64) -> bool {
    let limit = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: setrlimit with a valid struct; it only affects this process.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 }
}

/// Raises RLIMIT_NOFILE towards `needed` (past the hard limit when running
/// as root) and returns the soft limit obtained.
fn raise_descriptor_limit(needed: u64) -> u64 {
    let (soft, hard) = descriptor_limit();
    if soft >= needed {
        return soft;
    }
    if !set_descriptor_limit(needed, hard.max(needed)) {
        set_descriptor_limit(hard, hard);
    }
    descriptor_limit().0
}

/// How a client behaves once every connection is open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Three rounds of a message written in two pieces and read back.
    Echo,
    /// Writes its message, shuts down its write side, reads the echo to EOF.
    HalfClose,
    /// Writes half its message, waits until released, then finishes it.
    Stall,
    /// Writes part of its message, then resets the connection (`SO_LINGER` 0).
    Reset,
    /// Writes its message and closes without reading a byte.
    Vanish,
}

impl Kind {
    fn of(client: usize) -> Kind {
        match client % 10 {
            0..=3 | 9 => Kind::Echo,
            4 | 5 => Kind::HalfClose,
            6 => Kind::Stall,
            7 => Kind::Reset,
            _ => Kind::Vanish,
        }
    }

    fn well_behaved(self) -> bool {
        matches!(self, Kind::Echo | Kind::HalfClose | Kind::Stall)
    }
}

/// The bytes client `id` sends: 1 to 8192 of them, different for each client.
fn message(id: usize) -> Vec<u8> {
    let mut state = (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let len = 1 + (next() % 8192) as usize;
    (0..len).map(|_| next() as u8).collect()
}

fn expect_echo(stream: &mut TcpStream, sent: &[u8]) -> io::Result<()> {
    let mut back = vec![0; sent.len()];
    stream.read_exact(&mut back)?;
    assert!(back == sent, "the echo differs from what was sent");
    Ok(())
}

/// Runs client `id`'s part once every connection is open; returns the bytes
/// it got back intact.
fn behave(id: usize, mut stream: TcpStream, release: &Event<()>) -> io::Result<usize> {
    stream.set_read_timeout(Some(PATIENCE))?;
    let sent = message(id);
    let (head, tail) = sent.split_at(sent.len() / 2);
    match Kind::of(id) {
        Kind::Echo => {
            for _ in 0..3 {
                stream.write_all(head)?;
                eventlet_rt::yield_now();
                stream.write_all(tail)?;
                expect_echo(&mut stream, &sent)?;
            }
            Ok(3 * sent.len())
        }
        Kind::HalfClose => {
            stream.write_all(&sent)?;
            stream.shutdown(Shutdown::Write)?;
            let mut back = Vec::new();
            stream.read_to_end(&mut back)?;
            assert!(
                back == sent,
                "client {id}: the echo differs after a half-close"
            );
            Ok(back.len())
        }
        Kind::Stall => {
            stream.write_all(head)?;
            let mut early = vec![0; head.len()];
            stream.read_exact(&mut early)?;
            assert!(early == head, "client {id}: the first half came back wrong");
            release.wait();
            stream.write_all(tail)?;
            expect_echo(&mut stream, tail)?;
            Ok(sent.len())
        }
        Kind::Reset => {
            stream.write_all(head)?;
            socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO))?;
            Ok(0)
        }
        Kind::Vanish => {
            stream.write_all(&sent)?;
            Ok(0)
        }
    }
}

/// How a server handler ended.
#[derive(Debug)]
enum HandlerEnd {
    /// The client closed cleanly after this many bytes.
    Eof(u64),
    Failed(io::ErrorKind),
}

fn echo(stream: TcpStream) -> HandlerEnd {
    let mut total = 0;
    match echo_until_eof(stream, &mut total) {
        Ok(()) => HandlerEnd::Eof(total),
        Err(e) => HandlerEnd::Failed(e.kind()),
    }
}

fn echo_until_eof(mut stream: TcpStream, total: &mut u64) -> io::Result<()> {
    stream.set_read_timeout(Some(PATIENCE))?;
    stream.write_all(&[WELCOME])?;
    let mut buf = vec![0; 4096];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n])?;
        *total += n as u64;
    }
}

/// A listener with a backlog as deep as the kernel allows.
fn deep_listener() -> TcpListener {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_reuse_address(true).unwrap();
    socket
        .bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    socket.listen(4096).unwrap();
    TcpListener::from_std(socket.into()).unwrap()
}

/// Reads one line from the other process without blocking the hub.
fn read_line_green<R: BufRead + Send + 'static>(reader: R) -> (String, R) {
    tpool::execute(move || {
        let mut reader = reader;
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        (line, reader)
    })
}

/// The child's stdout, read up to the next line that holds `word`; gives
/// what follows the word. (The test harness prints its own words first, so
/// the word can be in the middle of a line.)
fn expect_line(reader: BufReader<ChildStdout>, word: &str) -> (String, BufReader<ChildStdout>) {
    let mut reader = reader;
    loop {
        let (line, back) = with_timeout(PATIENCE, || read_line_green(reader))
            .unwrap_or_else(|_| panic!("the client process said nothing for {PATIENCE:?}"));
        reader = back;
        assert!(!line.is_empty(), "the client process ended before {word}");
        if let Some((_, rest)) = line.split_once(word) {
            return (rest.trim().to_string(), reader);
        }
    }
}

fn tell(child: &mut ChildStdin, word: &str) {
    writeln!(child, "{word}").unwrap();
}

fn expected_bytes(connections: usize) -> usize {
    (0..connections)
        .map(|id| match Kind::of(id) {
            Kind::Echo => 3 * message(id).len(),
            Kind::HalfClose | Kind::Stall => message(id).len(),
            Kind::Reset | Kind::Vanish => 0,
        })
        .sum()
}

/// The tests count the process's descriptors: they run one at a time, each
/// on a thread of its own that has ended (its hub's descriptors closed)
/// before the next begins.
fn one_at_a_time(test: fn()) {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Err(panic) = std::thread::spawn(test).join() {
        std::panic::resume_unwind(panic);
    }
}

/// How many connections to test, within the descriptor limit.
fn connections_to_test() -> usize {
    let wanted: usize = std::env::var("EVENTLET_RELIABILITY_CONNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CONNECTIONS);
    let limit = raise_descriptor_limit(wanted as u64 + SPARE_DESCRIPTORS);
    let connections = wanted.min(limit.saturating_sub(SPARE_DESCRIPTORS) as usize);
    if connections < wanted {
        eprintln!(
            "the descriptor limit is {limit} and cannot be raised: testing {connections} \
             connections instead of {wanted}"
        );
    }
    assert!(connections >= 100, "too few descriptors to test anything");
    connections
}

/// Waits for the client process, reading what it still prints (its test
/// harness's summary) so that it never writes into a closed pipe.
fn finish(
    mut child: std::process::Child,
    mut from_child: BufReader<ChildStdout>,
) -> std::process::ExitStatus {
    tpool::execute(move || {
        let mut rest = String::new();
        let _ = from_child.read_to_string(&mut rest);
        child.wait()
    })
    .unwrap()
}

/// Starts the client process against `addr`.
fn start_clients(addr: SocketAddr, connections: usize) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "client_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("EVENTLET_SERVER_ADDR", addr.to_string())
        .env("EVENTLET_CLIENTS", connections.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn ten_thousand_connections_with_faults_lose_no_byte_and_leak_nothing() {
    one_at_a_time(one_hub);
}

fn one_hub() {
    let connections = connections_to_test();
    let stalled = (0..connections)
        .filter(|&id| Kind::of(id) == Kind::Stall)
        .count();

    let baseline_stats = hub::stats();
    let baseline_descriptors = open_descriptors();

    let listener = deep_listener();
    let addr = listener.local_addr().unwrap();
    let pool = GreenPool::new(connections + 16);
    let accepted: Queue<()> = Queue::new();
    let ended: Queue<HandlerEnd> = Queue::new();
    let open_handlers = Rc::new(Cell::new(0usize));
    let peak_handlers = Rc::new(Cell::new(0usize));
    let server = {
        let (pool, accepted, ended) = (pool.clone(), accepted.clone(), ended.clone());
        let (open, peak) = (open_handlers.clone(), peak_handlers.clone());
        spawn(move || {
            serve_with_pool(listener, &pool, move |stream, _client| {
                open.set(open.get() + 1);
                peak.set(peak.get().max(open.get()));
                accepted.put(());
                let end = echo(stream);
                open.set(open.get() - 1);
                ended.put(end);
            })
        })
    };

    let mut child = start_clients(addr, connections);
    let mut to_child = child.stdin.take().unwrap();
    let from_child = BufReader::new(child.stdout.take().unwrap());

    // Every connection is open at once before any client says a word.
    for _ in 0..connections {
        accepted
            .get_timeout(PATIENCE)
            .expect("the client process stopped connecting");
    }
    let (_, from_child) = expect_line(from_child, "CONNECTED");
    assert_eq!(open_handlers.get(), connections);
    let stats = hub::stats();
    assert_eq!(
        stats.io_sources,
        baseline_stats.io_sources + connections + 1,
        "each connection is registered, plus the listener: {stats:?}"
    );
    assert!(stats.live_green_threads > connections, "{stats:?}");

    tell(&mut to_child, "GO");
    // Every handler but the stalled ones ends, cleanly or with the client's fault.
    let (mut clean, mut failed) = (0, 0);
    for _ in 0..connections - stalled {
        match ended.get_timeout(PATIENCE).expect("a handler never ended") {
            HandlerEnd::Eof(_) => clean += 1,
            HandlerEnd::Failed(kind) => {
                assert!(
                    matches!(
                        kind,
                        io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
                    ),
                    "a handler failed with {kind:?}"
                );
                failed += 1;
            }
        }
    }
    let (_, from_child) = expect_line(from_child, "STALLED");
    let resetters = (0..connections)
        .filter(|&id| Kind::of(id) == Kind::Reset)
        .count();
    assert!(
        failed >= resetters,
        "{failed} handlers saw an error, {resetters} clients reset"
    );
    assert_eq!(open_handlers.get(), stalled, "only the stalled remain");

    // The server still takes a new client while a thousand connections stall.
    let mut fresh = TcpStream::connect(addr).unwrap();
    fresh.set_read_timeout(Some(PATIENCE)).unwrap();
    expect_echo(&mut fresh, &[WELCOME]).unwrap();
    fresh.write_all(b"still serving").unwrap();
    expect_echo(&mut fresh, b"still serving").unwrap();
    drop(fresh);
    accepted.get();
    assert!(matches!(ended.get(), HandlerEnd::Eof(13)));

    tell(&mut to_child, "RELEASE");
    for _ in 0..stalled {
        let end = ended
            .get_timeout(PATIENCE)
            .expect("a stalled handler never ended");
        assert!(matches!(end, HandlerEnd::Eof(_)), "{end:?}");
    }
    let (intact, from_child) = expect_line(from_child, "DONE");
    let intact: usize = intact.parse().unwrap();
    assert_eq!(intact, expected_bytes(connections));
    drop(to_child);
    let status = finish(child, from_child);
    assert!(status.success(), "the client process failed: {status}");
    assert_eq!(peak_handlers.get(), connections);
    assert_eq!(clean + failed + stalled, connections);
    assert_eq!(pool.running(), 0);

    server.kill();
    assert!(server.wait().unwrap_err().is_killed());
    let stats = hub::stats();
    assert_eq!(stats.live_green_threads, 0, "{stats:?}");
    assert_eq!(stats.queued, 0, "{stats:?}");
    assert_eq!(stats.timers, 0, "{stats:?}");
    assert_eq!(stats.io_sources, baseline_stats.io_sources, "{stats:?}");
    assert_eq!(stats.io_waiters, 0, "{stats:?}");
    assert_eq!(stats.remote_waits, 0, "{stats:?}");
    assert_eq!(open_descriptors(), baseline_descriptors);
    eprintln!(
        "{connections} connections: {intact} bytes echoed intact, {clean} clean ends, \
         {failed} handlers saw a reset, {stalled} stalled and resumed"
    );
}

/// What the handlers on the hubs report to the test.
enum Report {
    Accepted(String),
    Ended(HandlerEnd),
}

#[test]
fn ten_thousand_connections_over_two_hubs_lose_no_byte_and_leak_nothing() {
    one_at_a_time(two_hubs);
}

fn two_hubs() {
    const HUBS: usize = 2;
    let connections = connections_to_test();
    let stalled = (0..connections)
        .filter(|&id| Kind::of(id) == Kind::Stall)
        .count();
    hub::stats(); // this thread's own hub exists before the count
    let hubs = std::sync::Arc::new(Hubs::new(HUBS).unwrap());
    // Every hub is up (its epoll, its waker's eventfd, with the feature
    // `tokio` its runtime's descriptors) before the count.
    for index in 0..HUBS {
        hubs.handle(index).spawn(hub::stats).wait().unwrap();
    }
    let baseline_descriptors = open_descriptors();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let (reports, from_handlers) = mpsc::channel();
    let open = std::sync::Arc::new(AtomicUsize::new(0));
    {
        let (hubs, open) = (hubs.clone(), open.clone());
        let reports = std::sync::Mutex::new(reports);
        std::thread::spawn(move || {
            // Room for every connection on one hub: the kernel's spread is not even.
            hubs::serve_on_with_pool(&hubs, addr, connections + 16, move |stream, _| {
                let reports = reports.lock().unwrap().clone();
                open.fetch_add(1, Ordering::SeqCst);
                let hub = std::thread::current().name().unwrap().to_owned();
                reports.send(Report::Accepted(hub)).unwrap();
                let end = echo(stream);
                open.fetch_sub(1, Ordering::SeqCst);
                reports.send(Report::Ended(end)).unwrap();
            })
        });
    }
    // The listeners are bound on the hubs: wait until one answers.
    let deadline = std::time::Instant::now() + PATIENCE;
    let mut probe = loop {
        match TcpStream::connect(addr) {
            Ok(probe) => break probe,
            Err(_) if std::time::Instant::now() < deadline => {
                eventlet_rt::sleep(Duration::from_millis(5))
            }
            Err(e) => panic!("the hubs never listened: {e}"),
        }
    };
    probe.set_read_timeout(Some(PATIENCE)).unwrap();
    expect_echo(&mut probe, &[WELCOME]).unwrap();
    drop(probe);
    let next = || {
        from_handlers
            .recv_timeout(PATIENCE)
            .expect("no handler said anything")
    };
    assert!(matches!(next(), Report::Accepted(_)));
    assert!(matches!(next(), Report::Ended(HandlerEnd::Eof(0))));

    let mut child = start_clients(addr, connections);
    let mut to_child = child.stdin.take().unwrap();
    let from_child = BufReader::new(child.stdout.take().unwrap());
    let mut per_hub = std::collections::BTreeMap::new();
    for _ in 0..connections {
        match next() {
            Report::Accepted(hub) => *per_hub.entry(hub).or_insert(0) += 1,
            Report::Ended(end) => panic!("a handler ended before the clients spoke: {end:?}"),
        }
    }
    let (_, from_child) = expect_line(from_child, "CONNECTED");
    assert_eq!(open.load(Ordering::SeqCst), connections);
    assert_eq!(
        per_hub.len(),
        HUBS,
        "every hub takes connections: {per_hub:?}"
    );

    tell(&mut to_child, "GO");
    let (mut clean, mut failed) = (0, 0);
    for _ in 0..connections - stalled {
        match next() {
            Report::Ended(HandlerEnd::Eof(_)) => clean += 1,
            Report::Ended(HandlerEnd::Failed(kind)) => {
                assert!(
                    matches!(
                        kind,
                        io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
                    ),
                    "a handler failed with {kind:?}"
                );
                failed += 1;
            }
            Report::Accepted(hub) => panic!("an extra connection on {hub}"),
        }
    }
    let (_, from_child) = expect_line(from_child, "STALLED");
    assert_eq!(
        open.load(Ordering::SeqCst),
        stalled,
        "only the stalled remain"
    );
    tell(&mut to_child, "RELEASE");
    for _ in 0..stalled {
        let end = next();
        assert!(matches!(end, Report::Ended(HandlerEnd::Eof(_))));
    }
    let (intact, from_child) = expect_line(from_child, "DONE");
    let intact: usize = intact.parse().unwrap();
    assert_eq!(intact, expected_bytes(connections));
    drop(to_child);
    let status = finish(child, from_child);
    assert!(status.success(), "the client process failed: {status}");
    assert_eq!(clean + failed + stalled, connections);

    // Each hub is left with its server and its listener only.
    for index in 0..HUBS {
        let stats = hubs.handle(index).spawn(hub::stats).wait().unwrap();
        assert_eq!(stats.io_sources, 1, "hub {index}: {stats:?}");
        assert_eq!(stats.io_waiters, 1, "hub {index}, the accept: {stats:?}");
        assert_eq!(stats.timers, 0, "hub {index}: {stats:?}");
        assert_eq!(
            stats.live_green_threads, 2,
            "hub {index}: server + this: {stats:?}"
        );
    }
    // Per hub: its listener.
    assert_eq!(open_descriptors(), baseline_descriptors + HUBS);
    eprintln!(
        "{connections} connections over {HUBS} hubs ({per_hub:?}): {intact} bytes echoed intact, \
         {clean} clean ends, {failed} handlers saw a reset, {stalled} stalled and resumed"
    );
}

#[test]
#[ignore = "the client process of ten_thousand_connections_with_faults_lose_no_byte_and_leak_nothing"]
fn client_process() {
    let Ok(addr) = std::env::var("EVENTLET_SERVER_ADDR") else {
        return;
    };
    let addr: SocketAddr = addr.parse().unwrap();
    let connections: usize = std::env::var("EVENTLET_CLIENTS").unwrap().parse().unwrap();
    raise_descriptor_limit(connections as u64 + SPARE_DESCRIPTORS);
    let stdin = BufReader::new(std::io::stdin());

    // Every client connects, takes the welcome byte, then waits for `go`.
    let connected: Queue<()> = Queue::new();
    let go: Event<()> = Event::new();
    let release: Event<()> = Event::new();
    let mut clients = Vec::with_capacity(connections);
    for first in (0..connections).step_by(BATCH) {
        let batch = first..(first + BATCH).min(connections);
        for id in batch.clone() {
            let (connected, go, release) = (connected.clone(), go.clone(), release.clone());
            clients.push(spawn(move || {
                let mut stream = TcpStream::connect(addr)?;
                stream.set_read_timeout(Some(PATIENCE))?;
                expect_echo(&mut stream, &[WELCOME])?;
                connected.put(());
                go.wait();
                behave(id, stream, &release)
            }));
        }
        for _ in batch {
            connected
                .get_timeout(PATIENCE)
                .expect("a client could not connect");
        }
    }
    println!("CONNECTED");
    let (word, stdin) = read_line_green(stdin);
    assert_eq!(word.trim(), "GO");
    go.send(());

    let mut intact = 0;
    let mut stalled_clients = Vec::new();
    for (id, client) in clients.into_iter().enumerate() {
        if Kind::of(id) == Kind::Stall {
            stalled_clients.push((id, client));
            continue;
        }
        match client.wait().unwrap() {
            Ok(bytes) if Kind::of(id).well_behaved() => intact += bytes,
            Ok(_) => {}
            Err(e) => panic!("client {id} ({:?}) failed: {e}", Kind::of(id)),
        }
    }
    println!("STALLED");
    let (word, _) = read_line_green(stdin);
    assert_eq!(word.trim(), "RELEASE");
    release.send(());
    for (id, client) in stalled_clients {
        match client.wait().unwrap() {
            Ok(bytes) => intact += bytes,
            Err(e) => panic!("stalled client {id} failed: {e}"),
        }
    }
    assert_eq!(intact, expected_bytes(connections));
    println!("DONE {intact}");
}
