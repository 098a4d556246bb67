//! One eventlet-rt hot path in a loop, for a profiler to look at.
//!
//! `hot_paths SCENARIO COUNT`, SCENARIO one of `yield` (two green threads
//! hand the core back and forth COUNT times each), `spawn_wait`, `spawn_n`
//! (COUNT at once, then wait for all), `sleepers` (COUNT green threads sleep
//! 1 ms), `spawn_after` (COUNT delayed spawns of 1 ms). An optional ROUNDS
//! (default 1) repeats the scenario, so that later rounds find the stack pool
//! as the first one left it. For example:
//!
//! ```sh
//! valgrind --tool=callgrind --callgrind-out-file=yield.out target/release/hot_paths yield 200000
//! callgrind_annotate --inclusive=yes yield.out | head -60
//! ```

use std::cell::Cell;
use std::hint::black_box;
use std::rc::Rc;
use std::time::{Duration, Instant};

const NAP: Duration = Duration::from_millis(1);

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(scenario), Some(count)) = (args.next(), args.next()) else {
        eprintln!("usage: hot_paths yield|spawn_wait|spawn_n|sleepers|spawn_after COUNT [ROUNDS]");
        std::process::exit(2);
    };
    let count: usize = count.parse().expect("COUNT");
    let rounds: usize = args.next().map_or(1, |r| r.parse().expect("ROUNDS"));
    if scenario == "sleepers" {
        eventlet_bench::settings::require_map_count(count);
    }
    // Warm the hub and its stack pool so that the loop measures steady state.
    eventlet_rt::spawn(|| ()).wait().unwrap();
    for _ in 0..rounds {
        run(&scenario, count);
    }
}

fn run(scenario: &str, count: usize) {
    let start = Instant::now();
    match scenario {
        "yield" => yield_pingpong(count),
        "spawn_wait" => {
            (0..count).for_each(|_| eventlet_rt::spawn(|| black_box(())).wait().unwrap())
        }
        "spawn_n" => many(count, |done| {
            eventlet_rt::spawn_n(move || done.set(done.get() + 1))
        }),
        "sleepers" => many(count, |done| {
            eventlet_rt::spawn_n(move || {
                eventlet_rt::sleep(NAP);
                done.set(done.get() + 1);
            })
        }),
        "spawn_after" => many(count, |done| {
            drop(eventlet_rt::spawn_after(NAP, move || {
                done.set(done.get() + 1)
            }))
        }),
        other => panic!("unknown scenario {other:?}"),
    }
    eprintln!("{scenario} x {count}: {:?}", start.elapsed());
}

fn yield_pingpong(count: usize) {
    let yielders: Vec<_> = (0..2)
        .map(|_| eventlet_rt::spawn(move || (0..count).for_each(|_| eventlet_rt::yield_now())))
        .collect();
    yielders.into_iter().for_each(|gt| gt.wait().unwrap());
}

/// Starts `count` tasks with `start`, each given the counter it adds itself
/// to when done (as the criterion benchmarks do: no allocation of the
/// harness's own per task), and waits until all are.
fn many(count: usize, start: impl Fn(Rc<Cell<usize>>)) {
    let done = Rc::new(Cell::new(0));
    for _ in 0..count {
        start(done.clone());
    }
    eventlet_rt::sleep(NAP);
    while done.get() < count {
        eventlet_rt::yield_now();
    }
}
