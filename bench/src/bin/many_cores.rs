//! Many cores: eventlet-rt's `Hubs` against tokio `multi_thread` and `may`,
//! each with 2 worker threads, in one process run. Prints a Markdown section.
//!
//! `many_cores [SECONDS]` (default 2 per throughput run), or
//! `many_cores --crossings [ROUNDS]`: only eventlet-rt's remote spawn+wait
//! and ping-pong, ROUNDS times (default 5), one line each (for A/B runs of
//! two builds).
//!
//! - CPU-bound handlers: 32 client threads each send 8-byte requests over
//!   their own connection; the server does about 200 us of computation per
//!   request and answers 8 bytes. Throughput in requests/s; the clients share
//!   the two cores (their part is a few per cent of the 200 us).
//! - Remote spawn+wait: start a task on the other worker and wait for it.
//! - Cross-thread channel ping-pong: one round trip through two channels
//!   whose ends sit on different hubs (for tokio and may, wherever their
//!   schedulers put the two tasks).

use std::hint::black_box;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use eventlet_rt::hubs::Hubs;

const CLIENTS: usize = 32;
const REQUEST: usize = 8;
const WORK: Duration = Duration::from_micros(200);
const WORKERS: usize = 2;
const SPAWN_ROUNDS: u64 = 20_000;
const PING_ROUNDS: u64 = 20_000;

/// Iterations of [`compute`] that take about [`WORK`] on this machine.
fn calibrate() -> u64 {
    let mut iterations = 1000;
    loop {
        let start = Instant::now();
        black_box(compute(iterations));
        let took = start.elapsed();
        if took >= Duration::from_millis(20) {
            return (iterations as f64 * WORK.as_secs_f64() / took.as_secs_f64()) as u64;
        }
        iterations *= 2;
    }
}

/// The handlers' work: pure computation, no system call.
fn compute(iterations: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for i in 0..iterations {
        h = (h ^ i).wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// Answers requests on `stream` until it closes, computing for each.
fn serve_requests(mut stream: impl Read + Write, iterations: u64) {
    let mut request = [0; REQUEST];
    while stream.read_exact(&mut request).is_ok() {
        let h = compute(iterations);
        if stream.write_all(&h.to_le_bytes()).is_err() {
            return;
        }
    }
}

/// Requests/s the server at `addr` answers for `CLIENTS` blocking clients.
fn load(addr: SocketAddr, seconds: f64) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let counting = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (stop, done, counting) = (stop.clone(), done.clone(), counting.clone());
            std::thread::spawn(move || {
                let mut stream = connect(addr);
                stream.set_nodelay(true).unwrap();
                let mut answer = [0; 8];
                while !stop.load(Ordering::Relaxed) {
                    stream.write_all(&[1; REQUEST]).unwrap();
                    stream.read_exact(&mut answer).unwrap();
                    if counting.load(Ordering::Relaxed) {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500)); // warm-up
    counting.store(true, Ordering::SeqCst);
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    let requests = done.load(Ordering::SeqCst);
    let elapsed = start.elapsed();
    stop.store(true, Ordering::SeqCst);
    clients.into_iter().for_each(|c| c.join().unwrap());
    requests as f64 / elapsed.as_secs_f64()
}

fn connect(addr: SocketAddr) -> std::net::TcpStream {
    for _ in 0..1000 {
        if let Ok(stream) = std::net::TcpStream::connect(addr) {
            return stream;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("cannot connect to {addr}");
}

fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn eventlet_server(hubs: usize, iterations: u64) -> SocketAddr {
    let addr = free_addr();
    std::thread::spawn(move || {
        let hubs = Hubs::new(hubs).unwrap();
        eventlet_rt::hubs::serve_on(&hubs, addr, move |stream, _| {
            stream.set_nodelay(true).unwrap();
            serve_requests(stream, iterations)
        })
    });
    addr
}

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_all()
        .build()
        .unwrap()
}

fn tokio_server(runtime: &tokio::runtime::Runtime, iterations: u64) -> SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            stream.set_nodelay(true).unwrap();
            tokio::spawn(async move {
                let mut request = [0; REQUEST];
                while stream.read_exact(&mut request).await.is_ok() {
                    let h = compute(iterations);
                    if stream.write_all(&h.to_le_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

fn may_server(iterations: u64) -> SocketAddr {
    let listener = may::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    may::go!(move || {
        loop {
            let (stream, _) = listener.accept().unwrap();
            stream.set_nodelay(true).unwrap();
            may::go!(move || serve_requests(stream, iterations));
        }
    });
    addr
}

/// Mean time per round of `rounds` runs of `round`.
fn per_round(rounds: u64, mut round: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..rounds {
        round();
    }
    start.elapsed() / rounds as u32
}

fn eventlet_spawn_wait(hubs: &Hubs) -> Duration {
    let other = hubs.handle(1);
    hubs.handle(0)
        .spawn(move || {
            per_round(SPAWN_ROUNDS, || {
                black_box(other.spawn(|| 1).wait().unwrap());
            })
        })
        .wait()
        .unwrap()
}

fn eventlet_ping_pong(hubs: &Hubs) -> Duration {
    use eventlet_rt::green::mpsc;
    let (there, their_there) = mpsc::channel::<u64>();
    let (their_back, back) = mpsc::channel::<u64>();
    let pong = hubs.handle(1).spawn(move || {
        for ball in their_there.iter() {
            their_back.send(ball).unwrap();
        }
    });
    let took = hubs
        .handle(0)
        .spawn(move || {
            per_round(PING_ROUNDS, || {
                there.send(1).unwrap();
                black_box(back.recv().unwrap());
            })
        })
        .wait()
        .unwrap();
    pong.wait().unwrap();
    took
}

fn tokio_spawn_wait(runtime: &tokio::runtime::Runtime) -> Duration {
    runtime.block_on(async {
        tokio::spawn(async {
            let start = Instant::now();
            for _ in 0..SPAWN_ROUNDS {
                black_box(tokio::spawn(async { 1 }).await.unwrap());
            }
            start.elapsed() / SPAWN_ROUNDS as u32
        })
        .await
        .unwrap()
    })
}

fn tokio_ping_pong(runtime: &tokio::runtime::Runtime) -> Duration {
    runtime.block_on(async {
        let (there, mut their_there) = tokio::sync::mpsc::unbounded_channel::<u64>();
        let (their_back, mut back) = tokio::sync::mpsc::unbounded_channel::<u64>();
        let pong = tokio::spawn(async move {
            while let Some(ball) = their_there.recv().await {
                their_back.send(ball).unwrap();
            }
        });
        let took = tokio::spawn(async move {
            let start = Instant::now();
            for _ in 0..PING_ROUNDS {
                there.send(1).unwrap();
                black_box(back.recv().await.unwrap());
            }
            start.elapsed() / PING_ROUNDS as u32
        })
        .await
        .unwrap();
        pong.await.unwrap();
        took
    })
}

fn may_spawn_wait() -> Duration {
    may::go!(|| per_round(SPAWN_ROUNDS, || {
        black_box(may::go!(|| 1).join().unwrap());
    }))
    .join()
    .unwrap()
}

fn may_ping_pong() -> Duration {
    let (there, their_there) = may::sync::mpsc::channel::<u64>();
    let (their_back, back) = may::sync::mpsc::channel::<u64>();
    let pong = may::go!(move || {
        while let Ok(ball) = their_there.recv() {
            their_back.send(ball).unwrap();
        }
    });
    let took = may::go!(move || {
        per_round(PING_ROUNDS, || {
            there.send(1).unwrap();
            black_box(back.recv().unwrap());
        })
    })
    .join()
    .unwrap();
    pong.join().unwrap();
    took
}

fn micros(d: Duration) -> String {
    format!("{:.2} us", d.as_secs_f64() * 1e6)
}

/// `--crossings`: eventlet-rt's two crossings, `rounds` times, one line each.
fn crossings(rounds: usize) {
    let hubs = Hubs::new(WORKERS).unwrap();
    for _ in 0..rounds {
        let spawn = eventlet_spawn_wait(&hubs);
        let ping = eventlet_ping_pong(&hubs);
        println!("spawn+wait {} ping-pong {}", micros(spawn), micros(ping));
    }
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("--crossings") {
        let rounds = std::env::args()
            .nth(2)
            .and_then(|s| s.parse().ok())
            .unwrap_or(5);
        return crossings(rounds);
    }
    let seconds: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    may::config().set_workers(WORKERS).set_worker_pin(false);
    let iterations = calibrate();
    let tokio = tokio_runtime();

    let one_hub = load(eventlet_server(1, iterations), seconds);
    let two_hubs = load(eventlet_server(2, iterations), seconds);
    let tokio_rps = load(tokio_server(&tokio, iterations), seconds);
    let may_rps = load(may_server(iterations), seconds);

    let hubs = Hubs::new(WORKERS).unwrap();
    let spawn = [
        ("eventlet-rt, 2 hubs", eventlet_spawn_wait(&hubs)),
        ("tokio multi_thread, 2 workers", tokio_spawn_wait(&tokio)),
        ("may, 2 workers", may_spawn_wait()),
    ];
    let ping = [
        ("eventlet-rt, 2 hubs", eventlet_ping_pong(&hubs)),
        ("tokio multi_thread, 2 workers", tokio_ping_pong(&tokio)),
        ("may, 2 workers", may_ping_pong()),
    ];

    println!("## Many cores (`many_cores`, {WORKERS} threads per runtime)\n");
    println!(
        "CPU-bound handlers: {CLIENTS} blocking client threads, one connection each, {REQUEST}-byte \
         requests, about {} us of computation per request ({iterations} iterations), {seconds} s per \
         server after 0.5 s of warm-up. The clients share the two cores with the server.\n",
        WORK.as_micros()
    );
    println!("| server | requests/s | vs 1 hub |");
    println!("|---|---|---|");
    for (name, rps) in [
        ("eventlet-rt, 1 hub", one_hub),
        ("eventlet-rt, 2 hubs (`hubs::serve_on`)", two_hubs),
        ("tokio multi_thread, 2 workers", tokio_rps),
        ("may, 2 workers", may_rps),
    ] {
        println!("| {name} | {rps:.0} | {:.2}x |", rps / one_hub);
    }
    println!(
        "\nRemote spawn+wait ({SPAWN_ROUNDS} rounds: a task started on the other worker and \
         waited for) and channel ping-pong across threads ({PING_ROUNDS} round trips):\n"
    );
    println!("| runtime | spawn+wait | ping-pong round trip |");
    println!("|---|---|---|");
    for ((name, spawn), (_, ping)) in spawn.iter().zip(&ping) {
        println!("| {name} | {} | {} |", micros(*spawn), micros(*ping));
    }
    println!(
        "\ntokio's and may's schedulers may run both ends on one worker (tokio's LIFO slot \
         does); eventlet-rt's ends are on different hubs by construction, so every round trip \
         is two cross-thread wake-ups."
    );
}
