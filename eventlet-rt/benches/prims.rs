//! Green primitives against their baselines.
//!
//! - `ping_pong`: one round trip (A puts, B gets and puts back, A gets)
//!   between two green threads over two `Queue`s; the same over tokio
//!   `current_thread` unbounded mpsc; one bare `generator` resume + yield
//!   (a round trip needs two of those); and two green threads that only
//!   `yield_now` (the hub's own cost of two switches).
//! - `imap`: 100,000 trivial items through `GreenPool::imap` against a plain
//!   loop.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use eventlet_rt::{GreenPool, Queue, spawn, yield_now};

fn queue_round_trips(iters: u64) -> Duration {
    let (there, back) = (Queue::new(), Queue::new());
    let (t, b) = (there.clone(), back.clone());
    let pong = spawn(move || {
        for _ in 0..iters {
            let ball: u64 = t.get();
            b.put(ball);
        }
    });
    let ping = spawn(move || {
        let start = Instant::now();
        for ball in 0..iters {
            there.put(ball);
            black_box(back.get());
        }
        start.elapsed()
    });
    let elapsed = ping.wait().unwrap();
    pong.wait().unwrap();
    elapsed
}

fn yield_round_trips(iters: u64) -> Duration {
    let other = spawn(move || (0..iters).for_each(|_| yield_now()));
    let timed = spawn(move || {
        let start = Instant::now();
        (0..iters).for_each(|_| yield_now());
        start.elapsed()
    });
    let elapsed = timed.wait().unwrap();
    other.wait().unwrap();
    elapsed
}

fn tokio_round_trips(runtime: &tokio::runtime::Runtime, iters: u64) -> Duration {
    runtime.block_on(async move {
        let (there_tx, mut there_rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
        let (back_tx, mut back_rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
        let pong = tokio::spawn(async move {
            while let Some(ball) = there_rx.recv().await {
                back_tx.send(ball).unwrap();
            }
        });
        let start = Instant::now();
        for ball in 0..iters {
            there_tx.send(ball).unwrap();
            black_box(back_rx.recv().await);
        }
        let elapsed = start.elapsed();
        drop(there_tx);
        pong.await.unwrap();
        elapsed
    })
}

fn ping_pong(c: &mut Criterion) {
    let mut group = c.benchmark_group("ping_pong");
    group.bench_function("green_queue_round_trip", |b| {
        b.iter_custom(queue_round_trips)
    });
    group.bench_function("green_yield_now_round_trip", |b| {
        b.iter_custom(yield_round_trips)
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    group.bench_function("tokio_current_thread_mpsc_round_trip", |b| {
        b.iter_custom(|iters| tokio_round_trips(&runtime, iters))
    });
    let mut generator = generator::Gn::<()>::new_scoped(|mut scope| {
        loop {
            scope.yield_(());
        }
    });
    group.bench_function("bare_generator_resume_yield", |b| {
        b.iter(|| black_box(generator.resume()))
    });
    group.finish();
}

const ITEMS: u64 = 100_000;

fn trivial(x: u64) -> u64 {
    x.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(7)
}

fn imap(c: &mut Criterion) {
    let mut group = c.benchmark_group("imap_100k");
    group.sample_size(20);
    let pool = GreenPool::default();
    group.bench_function("green_pool_imap", |b| {
        b.iter(|| {
            pool.imap(trivial, black_box(0..ITEMS))
                .fold(0u64, u64::wrapping_add)
        })
    });
    group.bench_function("plain_loop", |b| {
        b.iter(|| {
            black_box(0..ITEMS)
                .map(|x| trivial(black_box(x)))
                .fold(0u64, u64::wrapping_add)
        })
    });
    group.finish();
}

criterion_group!(benches, ping_pong, imap);
criterion_main!(benches);
