//! `#[green(monkey_patch)]` on `main` calls `eventlet_rt::monkey_patch()` first:
//! a function the macro never sees (a third-party crate's, say) that calls
//! `std::thread::sleep` then parks only its green thread.
use std::time::{Duration, Instant};

fn third_party_nap() {
    std::thread::sleep(Duration::from_millis(200));
}

#[eventlet_rt::green(monkey_patch)]
fn main() {
    let start = Instant::now();
    let naps: Vec<_> = (0..20).map(|_| eventlet_rt::spawn(third_party_nap)).collect();
    for nap in naps {
        nap.wait().unwrap();
    }
    // One after the other, the naps would take 4 s; patched, they overlap.
    let took = start.elapsed();
    assert!(took < Duration::from_secs(2), "the naps did not overlap: {took:?}");
}
