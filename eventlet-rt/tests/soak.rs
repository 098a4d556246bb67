//! A soak run: an echo server, clients, and a spawn / kill / timeout / imap
//! mix, over and over for minutes, while resident memory is sampled. After
//! warm-up memory must stay flat, and every cycle leaves the hub as it found it.
//!
//! Ignored by default (it takes minutes):
//! `cargo test -p eventlet-rt --release --test soak -- --ignored --nocapture`.
//! `EVENTLET_SOAK_SECS` sets the duration (default 180 s; warm-up is the first
//! quarter), `EVENTLET_SOAK_GROWTH_KIB` the allowed growth (default 8 MiB).

use std::cell::Cell;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::time::{Duration, Instant};

use eventlet_rt::green::net::TcpStream;
use eventlet_rt::{GreenPool, Queue, Semaphore, hub, sleep, spawn, with_timeout};

const CLIENTS: usize = 200;
const ROUND_TRIPS: usize = 5;
const STORM: usize = 2_000;
const SAMPLE_EVERY: Duration = Duration::from_secs(5);

fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Clients that each make a few round trips of 1 KiB and close.
fn clients(addr: SocketAddr, cycle: usize) -> usize {
    let threads: Vec<_> = (0..CLIENTS)
        .map(|c| {
            spawn(move || {
                let mut stream = TcpStream::connect(addr).unwrap();
                let message = vec![(cycle + c) as u8; 1024];
                let mut back = vec![0; 1024];
                for _ in 0..ROUND_TRIPS {
                    stream.write_all(&message).unwrap();
                    stream.read_exact(&mut back).unwrap();
                    assert_eq!(back, message);
                }
                ROUND_TRIPS
            })
        })
        .collect();
    threads.into_iter().map(|gt| gt.wait().unwrap()).sum()
}

/// Green threads blocked in sleep, a queue and a semaphore, a third killed,
/// a third timed out, a third served.
fn storm(cycle: usize) -> (usize, usize) {
    let queue: Queue<usize> = Queue::new();
    let semaphore = Semaphore::new(0);
    let threads: Vec<_> = (0..STORM)
        .map(|i| {
            let (queue, semaphore) = (queue.clone(), semaphore.clone());
            spawn(move || {
                let block = move || match i % 3 {
                    0 => sleep(Duration::from_millis(if i % 9 == 6 { 1 } else { 60_000 })),
                    1 => drop(queue.get()),
                    _ => drop(semaphore.acquire()),
                };
                if i % 9 < 3 {
                    with_timeout(Duration::from_millis(1 + (cycle + i) as u64 % 5), block).is_err()
                } else {
                    block();
                    false
                }
            })
        })
        .collect();
    eventlet_rt::yield_now();
    // Kills first and timeouts next, so that what is put afterwards goes to
    // the green threads meant to be served.
    let (mut killed, mut timed_out) = (0, 0);
    let mut rest = Vec::new();
    for (i, gt) in threads.into_iter().enumerate() {
        match i % 9 {
            0..=2 => timed_out += usize::from(gt.wait().unwrap()),
            3..=5 => {
                gt.kill();
                assert!(gt.wait().unwrap_err().is_killed());
                killed += 1;
            }
            _ => rest.push((i, gt)),
        }
    }
    for (i, _) in &rest {
        match i % 9 {
            7 => queue.put(*i),
            8 => semaphore.add_permits(1),
            _ => {}
        }
    }
    for (_, gt) in rest {
        assert!(!gt.wait().unwrap());
    }
    (killed, timed_out)
}

fn imap(pool: &GreenPool, cycle: usize) -> u64 {
    let mut results = pool.imap(
        move |n: u64| {
            sleep(Duration::ZERO);
            if n == 250 && cycle.is_multiple_of(2) {
                panic!("imap item {n} failed");
            }
            n
        },
        0..500u64,
    );
    let mut sum = 0;
    loop {
        match panic::catch_unwind(AssertUnwindSafe(|| results.next())) {
            Ok(Some(n)) => sum += n,
            Ok(None) => return sum,
            Err(_) => {}
        }
    }
}

#[test]
#[ignore = "a soak run of minutes; run it with --ignored"]
fn a_long_run_of_mixed_load_keeps_memory_flat_and_counters_at_zero() {
    let duration = Duration::from_secs(env_or("EVENTLET_SOAK_SECS", 180));
    let allowed_growth = env_or("EVENTLET_SOAK_GROWTH_KIB", 8 * 1024);
    let warm_up = duration / 4;
    // The imap panics are expected, once every other cycle: keep stderr for the samples.
    let default_hook = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        let planned = info
            .payload()
            .downcast_ref::<String>()
            .is_some_and(|m| m.starts_with("imap item"));
        if !planned {
            default_hook(info);
        }
    }));

    let listener = eventlet_rt::listen("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handlers = GreenPool::new(1000);
    let served = Rc::new(Cell::new(0usize));
    let server = {
        let (handlers, served) = (handlers.clone(), served.clone());
        spawn(move || {
            eventlet_rt::serve_with_pool(listener, &handlers, move |mut stream, _| {
                served.set(served.get() + 1);
                let mut buf = [0; 1024];
                while let Ok(n @ 1..) = stream.read(&mut buf) {
                    if stream.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            })
        })
    };
    let workers = GreenPool::new(50);

    let start = Instant::now();
    let mut next_sample = start;
    let mut samples: Vec<(Duration, u64)> = Vec::new();
    let (mut cycles, mut round_trips, mut killed, mut timed_out) = (0, 0, 0, 0);
    while start.elapsed() < duration {
        round_trips += clients(addr, cycles);
        let (k, t) = storm(cycles);
        killed += k;
        timed_out += t;
        let expected = if cycles.is_multiple_of(2) {
            124_750 - 250
        } else {
            124_750
        };
        assert_eq!(imap(&workers, cycles), expected);
        handlers.waitall();
        workers.waitall();
        let stats = hub::stats();
        assert_eq!(stats.live_green_threads, 1, "only the server: {stats:?}");
        assert_eq!(
            (
                stats.timers,
                stats.io_sources,
                stats.io_waiters,
                stats.queued
            ),
            (0, 1, 1, 0),
            "only the listener, its accept waiting: {stats:?}"
        );
        cycles += 1;
        if Instant::now() >= next_sample {
            let sample = (start.elapsed(), resident_kib());
            eprintln!(
                "{:>4} s  VmRSS {:>7} KiB  after {cycles} cycles",
                sample.0.as_secs(),
                sample.1
            );
            samples.push(sample);
            next_sample += SAMPLE_EVERY;
        }
    }
    server.kill();
    assert!(server.wait().unwrap_err().is_killed());
    assert_eq!(served.get(), cycles * CLIENTS);

    let baseline = samples
        .iter()
        .filter(|(at, _)| *at >= warm_up)
        .map(|&(_, kib)| kib)
        .next()
        .expect("no sample after warm-up: run longer");
    let peak = samples
        .iter()
        .filter(|(at, _)| *at >= warm_up)
        .map(|&(_, kib)| kib)
        .max()
        .unwrap();
    eprintln!(
        "{cycles} cycles in {:?}: {round_trips} round trips, {killed} kills, {timed_out} \
         timeouts; VmRSS after warm-up {baseline} KiB, peak {peak} KiB",
        start.elapsed()
    );
    assert!(
        peak <= baseline + allowed_growth,
        "resident memory grew by {} KiB after warm-up (allowed {allowed_growth}): {samples:?}",
        peak - baseline
    );
}
