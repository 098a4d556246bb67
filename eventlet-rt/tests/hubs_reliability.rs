//! A misbehaving hub does not take the others down: a handler that panics
//! closes only its connection, and one that stalls its OS thread (a blocking
//! `std::thread::sleep`) stops only its own hub while the others serve.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eventlet_rt::hubs::{self, Hubs};

/// How long the stalling handler blocks its hub.
const STALL: Duration = Duration::from_secs(3);
/// Probe connections: they hash to hubs at random, so with 32 of them every
/// hub gets some (all on one of two hubs is a one in 2^31 chance).
const PROBES: usize = 32;

struct Server {
    port: u16,
    stalled: Arc<AtomicBool>,
    stalled_hub: Arc<Mutex<Option<String>>>,
}

/// Two hubs serving lines: `stall` blocks the hub, `panic` panics, anything
/// else is answered with the hub's name and whether a stall is on.
fn start_server() -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let stalled = Arc::new(AtomicBool::new(false));
    let stalled_hub = Arc::new(Mutex::new(None));
    let (s, h) = (stalled.clone(), stalled_hub.clone());
    std::thread::spawn(move || {
        let hubs = Hubs::new(2).unwrap();
        hubs::serve_on(&hubs, ("127.0.0.1", port), move |stream, _| {
            let hub = std::thread::current().name().unwrap().to_owned();
            let mut writer = stream.try_clone().unwrap();
            for line in BufReader::new(stream).lines() {
                match line.unwrap().as_str() {
                    "stall" => {
                        *h.lock().unwrap() = Some(hub.clone());
                        s.store(true, Ordering::SeqCst);
                        std::thread::sleep(STALL);
                        s.store(false, Ordering::SeqCst);
                    }
                    "panic" => panic!("a handler on {hub} panics"),
                    _ => writeln!(writer, "{hub} {}", s.load(Ordering::SeqCst)).unwrap(),
                }
            }
        })
    });
    Server {
        port,
        stalled,
        stalled_hub,
    }
}

fn connect(port: u16) -> std::net::TcpStream {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(stream) => {
                stream
                    .set_read_timeout(Some(Duration::from_secs(30)))
                    .unwrap();
                return stream;
            }
            Err(e) if Instant::now() >= deadline => panic!("cannot connect: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// Sends `probe` on `PROBES` new connections at once; each answer as
/// (hub, whether a stall was on when it was written).
fn probe(port: u16) -> Vec<(String, bool)> {
    let probes: Vec<_> = (0..PROBES)
        .map(|_| {
            std::thread::spawn(move || {
                let mut client = connect(port);
                writeln!(client, "probe").unwrap();
                let mut answer = String::new();
                BufReader::new(client).read_line(&mut answer).unwrap();
                let (hub, during_stall) = answer.trim().split_once(' ').unwrap();
                (hub.to_owned(), during_stall == "true")
            })
        })
        .collect();
    probes.into_iter().map(|p| p.join().unwrap()).collect()
}

#[test]
fn a_stalled_hub_leaves_the_other_serving() {
    let server = start_server();
    let mut staller = connect(server.port);
    writeln!(staller, "stall").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.stalled.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "the stall never began");
        std::thread::sleep(Duration::from_millis(1));
    }
    let stalled_hub = server.stalled_hub.lock().unwrap().clone().unwrap();
    let answers = probe(server.port);
    // Every probe is answered: the stalled hub's ones once the stall ends.
    assert_eq!(answers.len(), PROBES);
    let served_during_stall: HashSet<&str> = answers
        .iter()
        .filter(|(_, during)| *during)
        .map(|(hub, _)| hub.as_str())
        .collect();
    assert!(
        !served_during_stall.is_empty(),
        "no probe was answered during the stall: {answers:?}"
    );
    assert!(
        !served_during_stall.contains(stalled_hub.as_str()),
        "the stalled hub answered while stalled: {answers:?}"
    );
}

#[test]
fn a_panicking_handler_closes_only_its_connection() {
    let server = start_server();
    for _ in 0..4 {
        let mut doomed = connect(server.port);
        writeln!(doomed, "panic").unwrap();
        let mut rest = String::new();
        // The connection closes (end of stream, or a reset).
        let closed = BufReader::new(doomed).read_line(&mut rest);
        assert!(matches!(closed, Ok(0) | Err(_)), "{closed:?} {rest:?}");
    }
    let answers = probe(server.port);
    let hubs: HashSet<&str> = answers.iter().map(|(hub, _)| hub.as_str()).collect();
    assert_eq!(hubs, HashSet::from(["eventlet-hub-0", "eventlet-hub-1"]));
}
