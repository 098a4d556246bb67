//! A futex wait/wake round trip between two green threads of one hub under
//! `monkey_patch()`: std `Mutex` waits parked green, against a green `Event`
//! ping-pong (and the crate's own green `Mutex` in the same hand-off).
//!
//! The hand-off: two green threads chase each other around a ring of three
//! locks, hand over hand (take the next lock, then let the current one go).
//! Each always wants the lock the other holds, so each step is one wait
//! parked in the lock and one wake by the other's release, with strict
//! alternation; two steps make one round trip, as one `Event` ping-pong
//! (send, wait; wait, send) is two hops.

use std::rc::Rc;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use eventlet_bench::{baselines, settings};

/// Takes `steps` steps around the ring from lock `start` (held already in
/// `held`), then lets the last lock go.
macro_rules! chase {
    ($locks:expr, $start:expr, $held:expr, $steps:expr) => {{
        let mut held = $held;
        let mut at = $start;
        for _ in 0..$steps {
            let next = (at + 1) % 3;
            let next_held = $locks[next].lock().unwrap();
            held = next_held;
            at = next;
        }
        drop(held);
    }};
}

/// `iters` round trips of the hand-off on a ring of three `$lock`s, timed
/// on the caller's side.
macro_rules! hand_off {
    ($lock:ty, $iters:expr) => {{
        let iters = $iters;
        let locks: Rc<[$lock; 3]> = Rc::new(Default::default());
        let first = locks[0].lock().unwrap();
        let theirs = locks.clone();
        let other = eventlet_rt::spawn(move || {
            let held = theirs[1].lock().unwrap();
            chase!(theirs, 1, held, iters * 2);
        });
        eventlet_rt::yield_now();
        let start = Instant::now();
        chase!(locks, 0, first, iters * 2);
        let elapsed = start.elapsed();
        other.wait().unwrap();
        elapsed
    }};
}

fn std_mutex_patched(c: &mut Criterion) {
    eventlet_rt::monkey_patch();
    let mut group = c.benchmark_group("futex_handoff");
    group.bench_function("std_mutex_patched", |b| {
        b.iter_custom(|iters| hand_off!(std::sync::Mutex<()>, iters))
    });
    group.bench_function("green_mutex", |b| {
        b.iter_custom(|iters| hand_off!(eventlet_rt::green::sync::Mutex<()>, iters))
    });
    group.bench_function("event", |b| b.iter_custom(baselines::event_round_trips));
    group.finish();
}

criterion_group! {
    name = benches;
    config = settings::criterion();
    targets = std_mutex_patched
}
criterion_main!(benches);
