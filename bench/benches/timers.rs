//! 100,000 tasks each sleep 1 ms; the iteration ends when all have woken.
//!
//! The waiting side sleeps 1 ms itself after spawning them, so its timer is
//! the last to fire, then yields until every sleeper has counted itself.
//! eventlet-rt is measured three ways: green threads that sleep (each holds
//! a stack while it sleeps), the same with a stack pool big enough to keep
//! all 100,000 stacks between iterations, and `spawn_after` (no stack until
//! the timer fires).

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use eventlet_bench::peers;
use eventlet_bench::settings::{self, MANY};

const NAP: Duration = Duration::from_millis(1);

/// Spawns `MANY` sleepers with `spawn` (given the counter each adds itself
/// to when done, as tokio's and may's tasks get theirs) and waits until all
/// have woken.
fn eventlet_sleepers(spawn: impl Fn(Rc<Cell<usize>>)) {
    let done = Rc::new(Cell::new(0));
    for _ in 0..MANY {
        spawn(done.clone());
    }
    eventlet_rt::sleep(NAP);
    while done.get() < MANY {
        eventlet_rt::yield_now();
    }
}

fn timers(c: &mut Criterion) {
    settings::require_map_count(MANY);
    let mut group = c.benchmark_group("timers_100k");
    settings::heavy(&mut group);
    group.bench_function("eventlet-rt", |b| {
        b.iter(|| {
            eventlet_sleepers(|done| {
                eventlet_rt::spawn_n(move || {
                    eventlet_rt::sleep(NAP);
                    done.set(done.get() + 1);
                })
            })
        })
    });
    group.bench_function("eventlet-rt spawn_after", |b| {
        b.iter(|| {
            eventlet_sleepers(|done| {
                drop(eventlet_rt::spawn_after(NAP, move || {
                    done.set(done.get() + 1)
                }));
            })
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
                        tokio::time::sleep(NAP).await;
                        done.fetch_add(1, Ordering::Relaxed);
                    }));
                }
                tokio::time::sleep(NAP).await;
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
                        may::coroutine::sleep(NAP);
                        done.fetch_add(1, Ordering::Relaxed);
                    }));
                }
                may::coroutine::sleep(NAP);
                while done.load(Ordering::Relaxed) < MANY {
                    may::coroutine::yield_now();
                }
            })
        })
    });
    // Last, and undone after: it keeps 100,000 stacks (200,000 kernel maps).
    eventlet_rt::hub::set_stack_pool_capacity(MANY);
    group.bench_function("eventlet-rt pool 100k", |b| {
        b.iter(|| {
            eventlet_sleepers(|done| {
                eventlet_rt::spawn_n(move || {
                    eventlet_rt::sleep(NAP);
                    done.set(done.get() + 1);
                })
            })
        })
    });
    eventlet_rt::hub::set_stack_pool_capacity(eventlet_rt::DEFAULT_STACK_POOL_CAPACITY);
    group.finish();
}

criterion_group! {
    name = benches;
    config = settings::criterion();
    targets = timers
}
criterion_main!(benches);
