//! The floor for a switch: a bare `generator` coroutine, no scheduler around it.
//!
//! `resume_yield` is one resume and one yield back (two stack switches), what
//! every green `yield_now` needs at least. `rearm` installs a new body on a
//! finished generator's stack and runs it to its end, what a pooled spawn
//! needs at least.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use eventlet_bench::settings;
use generator::Gn;

/// The stack size of eventlet-rt's green threads, in words.
const STACK_WORDS: usize = eventlet_rt::DEFAULT_STACK_SIZE / std::mem::size_of::<usize>();

fn switch_floor(c: &mut Criterion) {
    let mut group = c.benchmark_group("generator");
    group.bench_function("resume_yield", |b| {
        let mut coroutine = Gn::<()>::new_opt::<(), _>(STACK_WORDS, || {
            loop {
                #[allow(deprecated)] // the scope-free yield, as eventlet-rt's coroutines use
                generator::yield_with(());
            }
        });
        b.iter(|| black_box(coroutine.resume()))
    });
    group.bench_function("rearm", |b| {
        let mut coroutine = Gn::<()>::new_opt(STACK_WORDS, || black_box(()));
        coroutine.resume();
        b.iter(|| {
            coroutine.init_code(|| black_box(()));
            coroutine.resume();
            debug_assert!(coroutine.is_done());
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = settings::criterion();
    targets = switch_floor
}
criterion_main!(benches);
