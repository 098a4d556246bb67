//! Two tasks hand the core to each other with `yield_now`.
//!
//! One iteration is one `yield_now`: one task gives way and the other runs.
//! The bare floor is `generator/resume_yield` (switch_floor.rs).

use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use eventlet_bench::{peers, settings};

fn yield_pingpong(c: &mut Criterion) {
    let mut group = c.benchmark_group("yield_pingpong");
    group.bench_function("eventlet-rt", |b| {
        b.iter_custom(|iters| {
            let per_task = iters.div_ceil(2);
            let start = Instant::now();
            let yielders: Vec<_> = (0..2)
                .map(|_| {
                    eventlet_rt::spawn(move || {
                        for _ in 0..per_task {
                            eventlet_rt::yield_now();
                        }
                    })
                })
                .collect();
            for yielder in yielders {
                yielder.wait().unwrap();
            }
            start.elapsed()
        })
    });
    let tokio = peers::tokio_current_thread();
    group.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            let per_task = iters.div_ceil(2);
            tokio.block_on(async move {
                let start = Instant::now();
                let yielders: Vec<_> = (0..2)
                    .map(|_| {
                        tokio::spawn(async move {
                            for _ in 0..per_task {
                                tokio::task::yield_now().await;
                            }
                        })
                    })
                    .collect();
                for yielder in yielders {
                    yielder.await.unwrap();
                }
                start.elapsed()
            })
        })
    });
    group.bench_function("may", |b| {
        b.iter_custom(|iters| {
            let per_task = iters.div_ceil(2);
            peers::in_may(move || {
                let start = Instant::now();
                let yielders: Vec<_> = (0..2)
                    .map(|_| {
                        may::go!(move || {
                            for _ in 0..per_task {
                                may::coroutine::yield_now();
                            }
                        })
                    })
                    .collect();
                for yielder in yielders {
                    yielder.join().unwrap();
                }
                start.elapsed()
            })
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = settings::criterion();
    targets = yield_pingpong
}
criterion_main!(benches);
