//! A `#[green]` free function: its `std::thread::sleep` (with or without a leading `::`)
//! blocks only its own green thread, so 20 sleepers of 50 ms finish together.
#![deny(warnings)]

use std::time::{Duration, Instant};

use eventlet_rt::{green, spawn};

#[green]
fn nap(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms / 2));
    ::std::thread::sleep(Duration::from_millis(ms / 2));
    ms
}

fn main() {
    let start = Instant::now();
    let nappers: Vec<_> = (0..20).map(|_| spawn(|| nap(50))).collect();
    let total: u64 = nappers.into_iter().map(|n| n.wait().unwrap()).sum();
    assert_eq!(total, 20 * 50);
    assert!(start.elapsed() < Duration::from_millis(700), "{:?}", start.elapsed());
}
