//! Spawn one empty green thread and wait for it, one at a time.
//!
//! Every contender spawns from inside its own scheduler: eventlet-rt from the
//! main context, tokio inside `block_on`, `may` inside a coroutine.

use criterion::{Criterion, criterion_group, criterion_main};
use eventlet_bench::{peers, settings};
use std::hint::black_box;

fn spawn_wait(c: &mut Criterion) {
    let mut group = c.benchmark_group("spawn_wait");
    group.bench_function("eventlet-rt", |b| {
        b.iter(|| eventlet_rt::spawn(|| black_box(())).wait().unwrap())
    });
    let tokio = peers::tokio_current_thread();
    group.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            peers::time_tokio_rounds(&tokio, iters, || async {
                tokio::spawn(async { black_box(()) }).await.unwrap();
            })
        })
    });
    group.bench_function("may", |b| {
        b.iter_custom(|iters| {
            peers::time_may_rounds(iters, || {
                may::go!(|| black_box(())).join().unwrap();
            })
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = settings::criterion();
    targets = spawn_wait
}
criterion_main!(benches);
