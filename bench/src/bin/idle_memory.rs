//! Resident bytes per idle task: N tasks asleep, RSS before and after.
//!
//! `idle_memory RUNTIME COUNT` with RUNTIME one of `eventlet-rt`, `tokio`,
//! `may`. Run one process per measurement so that every baseline is clean;
//! prints one JSON line. Each runtime is warmed up (one task spawned and
//! waited for) before the first reading, so its fixed cost is not counted.
//! The process ends with `_exit`, without tearing the sleepers down.

use std::cell::Cell;
use std::io::Write;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use eventlet_bench::{peers, proc_stats};

/// Long enough never to wake during the measurement.
const NAP: Duration = Duration::from_secs(3600);

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(runtime), Some(count)) = (args.next(), args.next()) else {
        eprintln!("usage: idle_memory eventlet-rt|tokio|may COUNT");
        std::process::exit(2);
    };
    let count: usize = count.parse().expect("COUNT is a number of tasks");
    let started = Instant::now();
    let (before, after) = match runtime.as_str() {
        "eventlet-rt" => eventlet(count),
        "tokio" => tokio(count),
        "may" => may(count),
        other => panic!("unknown runtime {other:?}: eventlet-rt, tokio or may"),
    };
    let per_task = (after.saturating_sub(before)) as f64 / count as f64;
    println!(
        "{}",
        serde_json::json!({
            "runtime": runtime,
            "tasks": count,
            "rss_before": before,
            "rss_after": after,
            "bytes_per_task": per_task,
            "seconds": started.elapsed().as_secs_f64(),
        })
    );
    std::io::stdout().flush().expect("flush stdout");
    // SAFETY: `_exit` ends the process at once; nothing is left to run or flush.
    unsafe { libc::_exit(0) }
}

fn eventlet(count: usize) -> (u64, u64) {
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
    (before, proc_stats::resident_bytes())
}

fn tokio(count: usize) -> (u64, u64) {
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
        (before, proc_stats::resident_bytes())
    });
    // Dropping a million sleeping tasks only costs time.
    std::mem::forget(runtime);
    readings
}

fn may(count: usize) -> (u64, u64) {
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
        (before, proc_stats::resident_bytes())
    })
}
