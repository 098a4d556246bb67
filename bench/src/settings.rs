//! How long criterion measures, so that `run.sh` stays well inside its time budget.

use std::time::Duration;

use criterion::{BenchmarkGroup, Criterion, SamplingMode, measurement::WallTime};

/// Items in each of the 100,000-item benchmarks (`spawn_n`, timers, `imap`).
pub const MANY: usize = 100_000;

/// True when `run.sh` runs its short pass (`QUICK=1`, exported as `BENCH_QUICK=1`).
fn quick() -> bool {
    std::env::var_os("BENCH_QUICK").is_some_and(|v| v == "1")
}

/// Criterion for the cheap benchmarks (one iteration well under a microsecond).
pub fn criterion() -> Criterion {
    let (warm_up, measure) = if quick() { (200, 700) } else { (500, 2000) };
    Criterion::default()
        .warm_up_time(Duration::from_millis(warm_up))
        .measurement_time(Duration::from_millis(measure))
        .sample_size(if quick() { 10 } else { 30 })
        .configure_from_args()
}

/// Settles a group whose iterations take milliseconds: few samples of one
/// iteration count each.
pub fn heavy(group: &mut BenchmarkGroup<'_, WallTime>) {
    let (warm_up, measure) = if quick() { (100, 1000) } else { (500, 3000) };
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(warm_up))
        .measurement_time(Duration::from_millis(measure));
}
