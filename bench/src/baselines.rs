//! Measurements other benchmarks are compared against, written once so each
//! ratio divides by the same thing.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// `iters` round trips of a green `Event` ping-pong between the caller and
/// a green thread of its hub (send, wait; wait, send: two hops each), timed
/// on the caller's side, for criterion's `iter_custom`.
pub fn event_round_trips(iters: u64) -> Duration {
    let (there, back) = (eventlet_rt::Event::new(), eventlet_rt::Event::new());
    let (their_there, their_back) = (there.clone(), back.clone());
    let pong = eventlet_rt::spawn(move || {
        for _ in 0..iters {
            let ball = their_there.wait();
            their_there.reset();
            their_back.send(ball);
        }
    });
    eventlet_rt::yield_now();
    let start = Instant::now();
    for ball in 0..iters {
        there.send(ball);
        black_box(back.wait());
        back.reset();
    }
    let elapsed = start.elapsed();
    pong.wait().unwrap();
    elapsed
}
