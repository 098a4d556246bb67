//! Core costs, each beside its baseline in the same run: spawn+wait, spawn_n
//! throughput, a yield ping-pong, a bare `generator` switch, tokio spawn+await.

use std::cell::Cell;
use std::hint::black_box;
use std::rc::Rc;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

fn spawn_and_wait(c: &mut Criterion) {
    let mut group = c.benchmark_group("spawn_wait");
    group.bench_function("eventlet_rt", |b| {
        b.iter(|| eventlet_rt::spawn(|| black_box(1u64)).wait().unwrap())
    });
    let tokio = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    group.bench_function("tokio_current_thread", |b| {
        b.iter(|| tokio.block_on(async { tokio::spawn(async { black_box(1u64) }).await.unwrap() }))
    });
    group.bench_function("generator_rearm", |b| {
        let mut generator = generator::Gn::<()>::new_opt(16 * 1024, || ());
        generator.resume();
        b.iter(|| {
            generator.init_code(|| {
                black_box(1u64);
            });
            generator.resume();
        })
    });
    group.finish();
}

fn spawn_n_throughput(c: &mut Criterion) {
    const N: u64 = 100_000;
    let mut group = c.benchmark_group("spawn_n_100k");
    group.throughput(Throughput::Elements(N));
    group.sample_size(20);
    group.bench_function("eventlet_rt", |b| {
        b.iter(|| {
            let done = Rc::new(Cell::new(0u64));
            for _ in 0..N {
                let done = done.clone();
                eventlet_rt::spawn_n(move || done.set(done.get() + 1));
            }
            // The run queue is FIFO: this one ends after all the others.
            eventlet_rt::spawn(|| ()).wait().unwrap();
            assert_eq!(done.get(), N);
        })
    });
    let tokio = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    group.bench_function("tokio_current_thread", |b| {
        b.iter(|| {
            tokio.block_on(async {
                let done = Rc::new(Cell::new(0u64));
                let local = tokio::task::LocalSet::new();
                for _ in 0..N {
                    let done = done.clone();
                    local.spawn_local(async move { done.set(done.get() + 1) });
                }
                local.await;
                assert_eq!(done.get(), N);
            })
        })
    });
    group.finish();
}

fn yield_ping_pong(c: &mut Criterion) {
    let mut group = c.benchmark_group("yield_switch");
    group.bench_function("eventlet_rt", |b| {
        b.iter_batched(
            || (),
            |()| {
                // Two green threads yielding to each other: 2 x 500 switches.
                let a = eventlet_rt::spawn(|| (0..500).for_each(|_| eventlet_rt::yield_now()));
                let b = eventlet_rt::spawn(|| (0..500).for_each(|_| eventlet_rt::yield_now()));
                a.wait().unwrap();
                b.wait().unwrap();
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("generator_resume_yield_x1000", |b| {
        let mut generator = generator::Gn::<()>::new_scoped(|mut scope| {
            loop {
                scope.yield_with(());
            }
        });
        b.iter(|| {
            for _ in 0..1000 {
                generator.resume();
            }
        })
    });
    let tokio = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    group.bench_function("tokio_current_thread", |b| {
        b.iter(|| {
            tokio.block_on(async {
                let a = tokio::spawn(async {
                    for _ in 0..500 {
                        tokio::task::yield_now().await
                    }
                });
                let b = tokio::spawn(async {
                    for _ in 0..500 {
                        tokio::task::yield_now().await
                    }
                });
                a.await.unwrap();
                b.await.unwrap();
            })
        })
    });
    group.finish();
}

criterion_group!(benches, spawn_and_wait, spawn_n_throughput, yield_ping_pong);
criterion_main!(benches);
