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
/// iteration count each, after a warm-up long enough for several rounds.
///
/// The first round of a green-thread benchmark maps its stacks (about a
/// second for 100,000) and the next one to three rounds after a mapping are
/// often slower than the steady state here, so a warm-up shorter than a few
/// rounds measures the mapping's aftermath instead.
pub fn heavy(group: &mut BenchmarkGroup<'_, WallTime>) {
    let (warm_up, measure) = if quick() { (1000, 1000) } else { (2500, 3000) };
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(warm_up))
        .measurement_time(Duration::from_millis(measure));
}

/// Panics with what to do when Linux would refuse the stacks of `tasks`
/// live green threads (two kernel maps each, capped by `vm.max_map_count`):
/// the green threads that got no stack would end at once, and a benchmark
/// that waits for all of them to count themselves would wait forever.
pub fn require_map_count(tasks: usize) {
    let Ok(text) = std::fs::read_to_string("/proc/sys/vm/max_map_count") else {
        return; // not Linux, or no procfs: nothing to check
    };
    let need = 2 * tasks + 10_000;
    let have: usize = text.trim().parse().unwrap_or(usize::MAX);
    assert!(
        have >= need,
        "{tasks} live green threads need about {need} kernel maps, and vm.max_map_count is \
         {have}: raise it first (as root: `sysctl -w vm.max_map_count={need}`; bench/run.sh \
         does it when run as root)"
    );
}
