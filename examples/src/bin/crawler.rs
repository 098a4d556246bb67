//! A tour of green threads until the real crawler lands: spawn, sleep, wait.

use std::time::{Duration, Instant};

fn main() {
    let start = Instant::now();
    let fetchers: Vec<_> = (1..=5u64)
        .map(|n| {
            eventlet_rt::spawn(move || {
                eventlet_rt::sleep(Duration::from_millis(20 * n));
                println!("got body {n}");
                n * 1000
            })
        })
        .collect();
    let bytes: u64 = fetchers.into_iter().map(|gt| gt.wait().unwrap()).sum();
    println!(
        "5 fetches, {bytes} bytes in {:?} (one by one: 300ms)",
        start.elapsed()
    );
}
