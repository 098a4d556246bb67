//! A ping-pong through two queues: A puts, B gets and puts back, A gets.
//!
//! One iteration is one round trip. eventlet-rt uses two unbounded `Queue`s,
//! tokio two unbounded mpsc channels, `may` two `may::sync::mpsc` channels.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use eventlet_bench::{peers, settings};

fn queue_pingpong(c: &mut Criterion) {
    let mut group = c.benchmark_group("queue_pingpong");
    group.bench_function("eventlet-rt", |b| {
        b.iter_custom(|iters| {
            let (there, back) = (eventlet_rt::Queue::new(), eventlet_rt::Queue::new());
            let (their_there, their_back) = (there.clone(), back.clone());
            let pong = eventlet_rt::spawn(move || {
                for _ in 0..iters {
                    their_back.put(their_there.get());
                }
            });
            let start = Instant::now();
            for ball in 0..iters {
                there.put(ball);
                black_box(back.get());
            }
            let elapsed = start.elapsed();
            pong.wait().unwrap();
            elapsed
        })
    });
    let tokio = peers::tokio_current_thread();
    group.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            tokio.block_on(async move {
                let (there, mut their_there) = tokio::sync::mpsc::unbounded_channel::<u64>();
                let (their_back, mut back) = tokio::sync::mpsc::unbounded_channel::<u64>();
                let pong = tokio::spawn(async move {
                    while let Some(ball) = their_there.recv().await {
                        their_back.send(ball).unwrap();
                    }
                });
                let start = Instant::now();
                for ball in 0..iters {
                    there.send(ball).unwrap();
                    black_box(back.recv().await.unwrap());
                }
                let elapsed = start.elapsed();
                drop(there);
                pong.await.unwrap();
                elapsed
            })
        })
    });
    group.bench_function("may", |b| {
        b.iter_custom(|iters| {
            peers::in_may(move || {
                let (there, their_there) = may::sync::mpsc::channel::<u64>();
                let (their_back, back) = may::sync::mpsc::channel::<u64>();
                let pong = may::go!(move || {
                    while let Ok(ball) = their_there.recv() {
                        their_back.send(ball).unwrap();
                    }
                });
                let start = Instant::now();
                for ball in 0..iters {
                    there.send(ball).unwrap();
                    black_box(back.recv().unwrap());
                }
                let elapsed = start.elapsed();
                drop(there);
                pong.join().unwrap();
                elapsed
            })
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = settings::criterion();
    targets = queue_pingpong
}
criterion_main!(benches);
