//! `imap` over 100,000 items: a trivial function, at most 1,000 calls in
//! flight, results consumed in input order.
//!
//! tokio and `may` have no `imap`; each does what it does by hand: one task
//! per item, a window of at most 1,000 handles, each awaited in order.

use std::collections::VecDeque;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use eventlet_bench::peers;
use eventlet_bench::settings::{self, MANY};

/// Calls in flight at most: `GreenPool`'s default size.
const WINDOW: usize = 1000;

fn square(x: u64) -> u64 {
    black_box(x * x)
}

fn imap(c: &mut Criterion) {
    let mut group = c.benchmark_group("imap_100k");
    settings::heavy(&mut group);
    group.bench_function("eventlet-rt", |b| {
        let pool = eventlet_rt::GreenPool::new(WINDOW);
        b.iter(|| {
            let sum: u64 = pool.imap(square, 0..MANY as u64).sum();
            black_box(sum)
        })
    });
    let tokio = peers::tokio_current_thread();
    group.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            peers::time_tokio_rounds(&tokio, iters, || async {
                let mut window: VecDeque<tokio::task::JoinHandle<u64>> =
                    VecDeque::with_capacity(WINDOW);
                let mut sum = 0;
                for x in 0..MANY as u64 {
                    if window.len() == WINDOW {
                        sum += window.pop_front().unwrap().await.unwrap();
                    }
                    window.push_back(tokio::spawn(async move { square(x) }));
                }
                for handle in window {
                    sum += handle.await.unwrap();
                }
                black_box(sum);
            })
        })
    });
    group.bench_function("may", |b| {
        b.iter_custom(|iters| {
            peers::time_may_rounds(iters, || {
                let mut window: VecDeque<may::coroutine::JoinHandle<u64>> =
                    VecDeque::with_capacity(WINDOW);
                let mut sum = 0;
                for x in 0..MANY as u64 {
                    if window.len() == WINDOW {
                        sum += window.pop_front().unwrap().join().unwrap();
                    }
                    window.push_back(may::go!(move || square(x)));
                }
                for handle in window {
                    sum += handle.join().unwrap();
                }
                black_box(sum);
            })
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = settings::criterion();
    targets = imap
}
criterion_main!(benches);
