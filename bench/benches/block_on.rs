//! `block_on` of a future: one that is ready at once, and one woken by another
//! green thread of the same hub, against a green `Event` wake-up (the hop a
//! green primitive costs) and tokio's own `block_on` of a ready future.
//!
//! The wake-up rows are ping-pongs: one iteration is two hops (A wakes B,
//! B wakes A), each hop a wake-up of a parked green thread and a switch.

use std::cell::RefCell;
use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use eventlet_bench::{baselines, peers, settings};

fn ready(c: &mut Criterion) {
    let mut group = c.benchmark_group("block_on_ready");
    group.bench_function("eventlet-rt", |b| {
        b.iter(|| eventlet_rt::block_on(std::future::ready(black_box(1u64))))
    });
    let tokio = peers::tokio_current_thread();
    group.bench_function("tokio", |b| {
        b.iter(|| tokio.block_on(std::future::ready(black_box(1u64))))
    });
    group.finish();
}

/// A one-value slot between two green threads of one hub: the value, and the
/// waker of the future waiting for it.
#[derive(Clone, Default)]
struct Slot(Rc<RefCell<(Option<u64>, Option<Waker>)>>);

impl Slot {
    fn put(&self, value: u64) {
        let waker = {
            let mut slot = self.0.borrow_mut();
            slot.0 = Some(value);
            slot.1.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn take(&self) -> Take<'_> {
        Take(self)
    }
}

struct Take<'a>(&'a Slot);

impl Future for Take<'_> {
    type Output = u64;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u64> {
        let mut slot = self.0.0.borrow_mut();
        match slot.0.take() {
            Some(value) => Poll::Ready(value),
            None => {
                if !slot.1.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    slot.1 = Some(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }
}

fn woken_by_a_green_thread(c: &mut Criterion) {
    let mut group = c.benchmark_group("block_on_woken_same_hub");
    group.bench_function("future", |b| {
        b.iter_custom(|iters| {
            let (there, back) = (Slot::default(), Slot::default());
            let (their_there, their_back) = (there.clone(), back.clone());
            let pong = eventlet_rt::spawn(move || {
                for _ in 0..iters {
                    let ball = eventlet_rt::block_on(their_there.take());
                    their_back.put(ball);
                }
            });
            eventlet_rt::yield_now();
            let start = Instant::now();
            for ball in 0..iters {
                there.put(ball);
                black_box(eventlet_rt::block_on(back.take()));
            }
            let elapsed = start.elapsed();
            pong.wait().unwrap();
            elapsed
        })
    });
    group.bench_function("event", |b| b.iter_custom(baselines::event_round_trips));
    group.finish();
}

criterion_group! {
    name = benches;
    config = settings::criterion();
    targets = ready, woken_by_a_green_thread
}
criterion_main!(benches);
