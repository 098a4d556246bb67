//! Third-party blocking clients under `monkey_patch()`, for the table in
//! BENCHMARKS.md: COUNT green threads of one hub each make one call of about
//! 200 ms while a ticker green thread beats every 20 ms; prints the wall time
//! of all calls, the ticker's longest gap and how many calls failed.
//!
//! `patched_clients CLIENT patched|unpatched COUNT`, with CLIENT one of
//! `postgres` (the sync `postgres` crate, `SELECT pg_sleep(0.2)`),
//! `memcached-r2d2` (an r2d2 pool of 5 `memcache` clients, each checkout held
//! for a 200 ms `std::thread::sleep`, checkout timeout 1 s),
//! `reqwest-blocking` and `curl` (a GET against a local server on plain
//! threads that answers after 200 ms). The servers are started as the
//! runtime's tests start them (`eventlet-rt/tests/servers`).

#[path = "../../../eventlet-rt/tests/servers/mod.rs"]
mod servers;

use std::cell::Cell;
use std::io::{Read, Write};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// How long each call takes.
const CALL: Duration = Duration::from_millis(200);

/// Runs `call(0..count)` as green threads while a ticker beats every 20 ms;
/// returns the wall time, the longest gap between ticks and the failures.
fn together(count: usize, call: Rc<dyn Fn(usize) -> bool>) -> (Duration, Duration, usize) {
    let done = Rc::new(Cell::new(false));
    let ticking = done.clone();
    let ticker = eventlet_rt::spawn(move || {
        let mut longest = Duration::ZERO;
        let mut last = Instant::now();
        while !ticking.get() {
            eventlet_rt::sleep(Duration::from_millis(20));
            longest = longest.max(last.elapsed());
            last = Instant::now();
        }
        longest
    });
    eventlet_rt::yield_now();
    let start = Instant::now();
    let calls: Vec<_> = (0..count)
        .map(|i| {
            let call = call.clone();
            eventlet_rt::spawn(move || call(i))
        })
        .collect();
    let failed = calls
        .into_iter()
        .map(|call| call.wait())
        .filter(|outcome| !matches!(outcome, Ok(true)))
        .count();
    let took = start.elapsed();
    done.set(true);
    (took, ticker.wait().unwrap(), failed)
}

/// An HTTP server on plain OS threads: every answer takes [`CALL`].
fn slow_http() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut buf = [0; 1024];
                while !head.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                std::thread::sleep(CALL);
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                );
            });
        }
    });
    port
}

/// An r2d2 manager of `memcache` clients.
struct Memcache(String);

impl r2d2::ManageConnection for Memcache {
    type Connection = memcache::Client;
    type Error = memcache::MemcacheError;

    fn connect(&self) -> Result<memcache::Client, Self::Error> {
        memcache::Client::connect(self.0.as_str())
    }

    fn is_valid(&self, _: &mut memcache::Client) -> Result<(), Self::Error> {
        Ok(())
    }

    fn has_broken(&self, _: &mut memcache::Client) -> bool {
        false
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [client, mode, count] = &args[..] else {
        panic!("usage: patched_clients CLIENT patched|unpatched COUNT");
    };
    let count: usize = count.parse().expect("COUNT");
    let patch = || {
        if mode == "patched" {
            eventlet_rt::monkey_patch();
        }
    };
    let mut _server = None;
    let call: Rc<dyn Fn(usize) -> bool> = match client.as_str() {
        "postgres" => {
            let server = servers::postgres().expect("PostgreSQL");
            let config = format!(
                "host=127.0.0.1 port={} user=postgres dbname=postgres",
                server.port
            );
            _server = Some(server);
            patch();
            Rc::new(move |_| {
                postgres::Client::connect(&config, postgres::NoTls)
                    .and_then(|mut client| client.simple_query("SELECT pg_sleep(0.2)"))
                    .is_ok()
            })
        }
        "memcached-r2d2" => {
            let server = servers::memcached().expect("memcached");
            let url = format!("memcache://127.0.0.1:{}?timeout=10", server.port);
            _server = Some(server);
            patch();
            let pool = r2d2::Pool::builder()
                .max_size(5)
                .connection_timeout(Duration::from_secs(1))
                .build(Memcache(url))
                .unwrap();
            Rc::new(move |i| {
                let Ok(client) = pool.get() else {
                    return false;
                };
                let key = format!("key-{i}");
                client.set(&key, i as u64, 0).is_ok() && {
                    std::thread::sleep(CALL);
                    client.get::<u64>(&key).ok().flatten() == Some(i as u64)
                }
            })
        }
        "reqwest-blocking" => {
            let port = slow_http();
            patch();
            let http = reqwest::blocking::Client::new();
            Rc::new(move |_| {
                http.get(format!("http://127.0.0.1:{port}/"))
                    .send()
                    .and_then(|response| response.text())
                    .is_ok_and(|text| text == "ok")
            })
        }
        "curl" => {
            let port = slow_http();
            patch();
            Rc::new(move |_| {
                let mut easy = curl::easy::Easy::new();
                let mut body = Vec::new();
                let performed = easy.url(&format!("http://127.0.0.1:{port}/")).is_ok() && {
                    let mut transfer = easy.transfer();
                    transfer
                        .write_function(|data| {
                            body.extend_from_slice(data);
                            Ok(data.len())
                        })
                        .is_ok()
                        && transfer.perform().is_ok()
                };
                performed && body == b"ok"
            })
        }
        other => panic!("unknown client {other}"),
    };
    let (took, gap, failed) = together(count, call);
    println!(
        "{client} {mode} x{count}: {} ms, longest tick gap {} ms, failed {failed}",
        took.as_millis(),
        gap.as_millis()
    );
}
