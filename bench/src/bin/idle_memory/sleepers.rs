//! Resident bytes per sleeping task: N tasks asleep, RSS before and after.
//!
//! Each runtime is warmed up (one task spawned and waited for) before the
//! first reading, so its fixed cost is not counted. After SETTLE seconds a
//! second reading shows what the tasks cost once they have slept a while
//! (eventlet-rt's hub gives back the stacks of long-parked green threads).

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use eventlet_bench::{peers, proc_stats};
use serde_json::json;

/// Long enough never to wake during the measurement.
const NAP: Duration = Duration::from_secs(3600);

/// `RUNTIME COUNT [SETTLE]`: the JSON line of one measurement.
pub(crate) fn measure(args: &[String]) -> serde_json::Value {
    let [runtime, count, rest @ ..] = args else {
        panic!("usage: idle_memory sleepers eventlet-rt|tokio|may COUNT [SETTLE]");
    };
    let count: usize = count.parse().expect("COUNT is a number of tasks");
    let settle = Duration::from_secs_f64(
        rest.first()
            .map_or(0.0, |s| s.parse().expect("SETTLE is a number of seconds")),
    );
    let started = Instant::now();
    let [before, after, settled] = match runtime.as_str() {
        "eventlet-rt" => eventlet(count, settle),
        "tokio" => tokio(count, settle),
        "may" => may(count, settle),
        other => panic!("unknown runtime {other:?}: eventlet-rt, tokio or may"),
    };
    let per_task = |rss: u64| rss.saturating_sub(before) as f64 / count as f64;
    json!({
        "runtime": runtime,
        "tasks": count,
        "rss_before": before,
        "rss_after": after,
        "bytes_per_task": per_task(after),
        "settle_seconds": settle.as_secs_f64(),
        "bytes_per_task_settled": per_task(settled),
        "seconds": started.elapsed().as_secs_f64(),
    })
}

fn eventlet(count: usize, settle: Duration) -> [u64; 3] {
    eventlet_rt::spawn(|| ()).wait().unwrap();
    let before = proc_stats::resident_bytes();
    let asleep = Rc::new(Cell::new(0));
    for _ in 0..count {
        let asleep = asleep.clone();
        eventlet_rt::spawn_n(move || {
            asleep.set(asleep.get() + 1);
            eventlet_rt::sleep(NAP);
        });
    }
    while asleep.get() < count {
        eventlet_rt::yield_now();
    }
    let after = proc_stats::resident_bytes();
    // The main context sleeps: the hub waits, and does its idle work then;
    // a million stacks take it longer than SETTLE: wait while RSS still falls.
    eventlet_rt::sleep(settle);
    let mut settled = proc_stats::resident_bytes();
    for _ in 0..if settle.is_zero() { 0 } else { 120 } {
        eventlet_rt::sleep(Duration::from_secs(1));
        let now = proc_stats::resident_bytes();
        if now + settled / 100 >= settled {
            break;
        }
        settled = now;
    }
    [before, after, proc_stats::resident_bytes()]
}

fn tokio(count: usize, settle: Duration) -> [u64; 3] {
    let runtime = peers::tokio_current_thread();
    let readings = runtime.block_on(async move {
        tokio::spawn(async {}).await.unwrap();
        let before = proc_stats::resident_bytes();
        let asleep = Arc::new(AtomicUsize::new(0));
        for _ in 0..count {
            let asleep = asleep.clone();
            drop(tokio::spawn(async move {
                asleep.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(NAP).await;
            }));
        }
        while asleep.load(Ordering::Relaxed) < count {
            tokio::task::yield_now().await;
        }
        let after = proc_stats::resident_bytes();
        tokio::time::sleep(settle).await;
        [before, after, proc_stats::resident_bytes()]
    });
    // Dropping a million sleeping tasks only costs time.
    std::mem::forget(runtime);
    readings
}

fn may(count: usize, settle: Duration) -> [u64; 3] {
    peers::in_may(move || {
        may::go!(|| ()).join().unwrap();
        let before = proc_stats::resident_bytes();
        let asleep = Arc::new(AtomicUsize::new(0));
        for _ in 0..count {
            let asleep = asleep.clone();
            drop(may::go!(move || {
                asleep.fetch_add(1, Ordering::Relaxed);
                may::coroutine::sleep(NAP);
            }));
        }
        // may's `yield_now` can keep picking the yielder over new coroutines:
        // wait behind them in the run queue, then nap until all have started.
        may::go!(|| ()).join().unwrap();
        while asleep.load(Ordering::Relaxed) < count {
            may::coroutine::sleep(Duration::from_millis(1));
        }
        let after = proc_stats::resident_bytes();
        may::coroutine::sleep(settle);
        [before, after, proc_stats::resident_bytes()]
    })
}
