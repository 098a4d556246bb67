//! What giving a parked green thread's stack memory back costs, and what
//! its wake-up then costs: COUNT green threads parked in an `Event` wait
//! after touching 8 KiB of stack, released with `hub::release_idle_stacks`,
//! then woken; against the same without a release. Rounds alternate.

use std::time::{Duration, Instant};

use eventlet_rt::{Event, hub};
use serde_json::json;

/// `COUNT ROUNDS`: the JSON line of one measurement.
pub(crate) fn measure(args: &[String]) -> serde_json::Value {
    let [count, rounds] = args else {
        panic!("usage: idle_memory stow-cost COUNT ROUNDS");
    };
    let count: usize = count.parse().expect("COUNT is a number of green threads");
    let rounds: usize = rounds.parse().expect("ROUNDS is a number");
    // Only the explicit releases below; which kind the stow setting says.
    hub::set_idle_stack_release(Some(Duration::from_secs(3600)));
    let mut figures: [Vec<f64>; 5] = Default::default();
    for _ in 0..rounds {
        let [_, wake] = round(count, None);
        figures[0].push(wake);
        hub::set_idle_stack_stow(Some(Duration::from_secs(3600)));
        let [stow, wake] = round(count, Some(()));
        figures[1].push(stow);
        figures[2].push(wake);
        hub::set_idle_stack_stow(None);
        let [release, wake] = round(count, Some(()));
        figures[3].push(release);
        figures[4].push(wake);
    }
    let median = |values: &mut Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let [kept, stow, stowed, release, released] = figures.each_mut().map(median);
    json!({
        "green_threads": count,
        "rounds": rounds,
        "wake_us": kept,
        "stow_us": stow,
        "wake_after_stow_us": stowed,
        "release_below_frames_us": release,
        "wake_after_release_us": released,
    })
}

/// Parks `count` green threads, releases their stacks when `release` says
/// so, wakes them: microseconds per green thread to release and to wake.
fn round(count: usize, release: Option<()>) -> [f64; 2] {
    let go = Event::<()>::new();
    let threads: Vec<_> = (0..count)
        .map(|n| {
            let go = go.clone();
            eventlet_rt::spawn(move || {
                let sum = touch(n as u64);
                go.wait();
                sum
            })
        })
        .collect();
    eventlet_rt::yield_now();
    let started = Instant::now();
    if release.is_some() {
        assert_eq!(hub::release_idle_stacks(), count, "every thread released");
    }
    let released = started.elapsed();
    let started = Instant::now();
    go.send(());
    let woken: u64 = threads.into_iter().map(|t| t.wait().unwrap()).sum();
    let wake = started.elapsed();
    std::hint::black_box(woken);
    let per = |d: Duration| d.as_secs_f64() * 1e6 / count as f64;
    [per(released), per(wake)]
}

/// Touches 8 KiB of stack below the caller, as a handler's deeper calls do.
#[inline(never)]
fn touch(seed: u64) -> u64 {
    let mut frame = [seed; 1024];
    std::hint::black_box(&mut frame);
    frame.iter().sum()
}
