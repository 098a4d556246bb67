//! `spawn_n` 100,000 empty green threads, then wait until all have run.
//!
//! Until eventlet-rt has `GreenPool::waitall`, every contender counts its
//! finished tasks and waits with one final spawn + wait (all three run
//! queues are FIFO), then yields until the count is complete.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use eventlet_bench::peers;
use eventlet_bench::settings::{self, MANY};

fn spawn_many(c: &mut Criterion) {
    let mut group = c.benchmark_group("spawn_n_100k");
    settings::heavy(&mut group);
    group.bench_function("eventlet-rt", |b| {
        b.iter(|| {
            let done = Rc::new(Cell::new(0));
            for _ in 0..MANY {
                let done = done.clone();
                eventlet_rt::spawn_n(move || done.set(done.get() + 1));
            }
            eventlet_rt::spawn(|| ()).wait().unwrap();
            while done.get() < MANY {
                eventlet_rt::yield_now();
            }
        })
    });
    let tokio = peers::tokio_current_thread();
    group.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            peers::time_tokio_rounds(&tokio, iters, || async {
                let done = Arc::new(AtomicUsize::new(0));
                for _ in 0..MANY {
                    let done = done.clone();
                    drop(tokio::spawn(async move {
                        done.fetch_add(1, Ordering::Relaxed);
                    }));
                }
                tokio::spawn(async {}).await.unwrap();
                while done.load(Ordering::Relaxed) < MANY {
                    tokio::task::yield_now().await;
                }
            })
        })
    });
    group.bench_function("may", |b| {
        b.iter_custom(|iters| {
            peers::time_may_rounds(iters, || {
                let done = Arc::new(AtomicUsize::new(0));
                for _ in 0..MANY {
                    let done = done.clone();
                    drop(may::go!(move || {
                        done.fetch_add(1, Ordering::Relaxed);
                    }));
                }
                may::go!(|| ()).join().unwrap();
                while done.load(Ordering::Relaxed) < MANY {
                    may::coroutine::yield_now();
                }
            })
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = settings::criterion();
    targets = spawn_many
}
criterion_main!(benches);
