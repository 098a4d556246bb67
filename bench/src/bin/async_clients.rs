//! Async clients from green threads against the same clients on tokio tasks:
//! tokio-postgres `SELECT 1` against a PostgreSQL this program starts, and
//! reqwest GETs against a small keep-alive HTTP server on its own thread.
//!
//! `async_clients [QUERIES] [ROUNDS]` (default 10000 and 3): each round runs
//! QUERIES queries (then QUERIES GETs) from 50 concurrent callers, once as 50
//! green threads of one hub waiting through `eventlet_rt::block_on`, once as
//! 50 tasks of a tokio `current_thread` runtime; rounds alternate. The figure
//! is the CPU time of the one client thread per query
//! (`CLOCK_THREAD_CPUTIME_ID`: the server's CPU is not in it), medians over
//! the rounds, with the ratio eventlet-rt / tokio.

#[path = "../../../eventlet-rt/tests/servers/mod.rs"]
mod servers;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

const CALLERS: usize = 50;

fn thread_cpu() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid out-pointer for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(rc, 0, "clock_gettime");
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// CPU and wall time of `f` on this thread.
fn measured(f: impl FnOnce()) -> (Duration, Duration) {
    let (cpu, wall) = (thread_cpu(), Instant::now());
    f();
    (thread_cpu() - cpu, wall.elapsed())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let queries: usize = args.next().map_or(10_000, |q| q.parse().expect("QUERIES"));
    let rounds: usize = args.next().map_or(3, |r| r.parse().expect("ROUNDS"));
    let per_caller = queries / CALLERS;
    let queries = per_caller * CALLERS;

    let server =
        servers::postgres().expect("PostgreSQL's server programs (apt-get install postgresql)");
    let url = format!("postgres://postgres@127.0.0.1:{}/postgres", server.port);
    let http = http_server();
    println!(
        "{queries} calls a round from {CALLERS} callers, {rounds} rounds alternated; client thread CPU per call"
    );
    for (name, green, tokio) in [
        (
            "tokio-postgres SELECT 1",
            Scenario::Postgres(url.clone()),
            Scenario::Postgres(url.clone()),
        ),
        ("reqwest GET", Scenario::Http(http), Scenario::Http(http)),
    ] {
        let (mut green_cpu, mut tokio_cpu, mut green_wall, mut tokio_wall) =
            (vec![], vec![], vec![], vec![]);
        for _ in 0..rounds {
            let (cpu, wall) = std::thread::scope(|s| {
                s.spawn(|| green.on_green_threads(per_caller))
                    .join()
                    .unwrap()
            });
            green_cpu.push(cpu);
            green_wall.push(wall);
            let (cpu, wall) = std::thread::scope(|s| {
                s.spawn(|| tokio.on_tokio_tasks(per_caller)).join().unwrap()
            });
            tokio_cpu.push(cpu);
            tokio_wall.push(wall);
        }
        let per_call = |v: &mut Vec<Duration>| {
            v.sort();
            v[v.len() / 2].as_secs_f64() * 1e6 / queries as f64
        };
        let (g, t) = (per_call(&mut green_cpu), per_call(&mut tokio_cpu));
        let (gw, tw) = (per_call(&mut green_wall), per_call(&mut tokio_wall));
        println!(
            "{name:<24} eventlet-rt {g:6.2} us CPU ({gw:6.2} us wall)  tokio {t:6.2} us CPU ({tw:6.2} us wall)  ratio {:.2}",
            g / t
        );
    }
}

#[derive(Clone)]
enum Scenario {
    Postgres(String),
    Http(std::net::SocketAddr),
}

impl Scenario {
    /// 50 green threads on this thread's hub, `per_caller` calls each.
    fn on_green_threads(&self, per_caller: usize) -> (Duration, Duration) {
        match self {
            Scenario::Postgres(url) => {
                let clients: Vec<_> = (0..CALLERS)
                    .map(|_| {
                        let (client, connection) = eventlet_rt::block_on(tokio_postgres::connect(
                            url,
                            tokio_postgres::NoTls,
                        ))
                        .unwrap();
                        tokio::spawn(connection);
                        client
                    })
                    .collect();
                measured(|| {
                    let callers: Vec<_> = clients
                        .into_iter()
                        .map(|client| {
                            eventlet_rt::spawn(move || {
                                for _ in 0..per_caller {
                                    let row =
                                        eventlet_rt::block_on(client.query_one("SELECT 1", &[]))
                                            .unwrap();
                                    assert_eq!(row.get::<_, i32>(0), 1);
                                }
                            })
                        })
                        .collect();
                    callers.into_iter().for_each(|c| c.wait().unwrap());
                })
            }
            Scenario::Http(addr) => {
                let client = reqwest::Client::new();
                let url = format!("http://{addr}/");
                measured(|| {
                    let callers: Vec<_> = (0..CALLERS)
                        .map(|_| {
                            let (client, url) = (client.clone(), url.clone());
                            eventlet_rt::spawn(move || {
                                for _ in 0..per_caller {
                                    let response =
                                        eventlet_rt::block_on(client.get(&url).send()).unwrap();
                                    assert_eq!(
                                        eventlet_rt::block_on(response.bytes()).unwrap().as_ref(),
                                        b"ok"
                                    );
                                }
                            })
                        })
                        .collect();
                    callers.into_iter().for_each(|c| c.wait().unwrap());
                })
            }
        }
    }

    /// 50 tasks on a tokio `current_thread` runtime on this thread.
    fn on_tokio_tasks(&self, per_caller: usize) -> (Duration, Duration) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        match self {
            Scenario::Postgres(url) => runtime.block_on(async {
                let mut clients = Vec::new();
                for _ in 0..CALLERS {
                    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                        .await
                        .unwrap();
                    tokio::spawn(connection);
                    clients.push(client);
                }
                let (cpu, wall) = (thread_cpu(), Instant::now());
                let tasks: Vec<_> = clients
                    .into_iter()
                    .map(|client| {
                        tokio::spawn(async move {
                            for _ in 0..per_caller {
                                let row = client.query_one("SELECT 1", &[]).await.unwrap();
                                assert_eq!(row.get::<_, i32>(0), 1);
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.unwrap();
                }
                (thread_cpu() - cpu, wall.elapsed())
            }),
            Scenario::Http(addr) => runtime.block_on(async {
                let client = reqwest::Client::new();
                let url = format!("http://{addr}/");
                let (cpu, wall) = (thread_cpu(), Instant::now());
                let tasks: Vec<_> = (0..CALLERS)
                    .map(|_| {
                        let (client, url) = (client.clone(), url.clone());
                        tokio::spawn(async move {
                            for _ in 0..per_caller {
                                let response = client.get(&url).send().await.unwrap();
                                assert_eq!(response.bytes().await.unwrap().as_ref(), b"ok");
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.unwrap();
                }
                (thread_cpu() - cpu, wall.elapsed())
            }),
        }
    }
}

/// A keep-alive HTTP/1.1 server on its own OS thread (plain blocking sockets,
/// one thread per connection) that answers every request `ok`.
fn http_server() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let mut conn = conn.unwrap();
            conn.set_nodelay(true).unwrap();
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let mut chunk = [0; 4096];
                loop {
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        buf.drain(..end + 4);
                        let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                        if conn.write_all(answer).is_err() {
                            return;
                        }
                    }
                    match conn.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    });
    addr
}
