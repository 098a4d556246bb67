//! How long criterion measures, so that `run.sh` stays well inside its time budget.

use std::time::Duration;

use criterion::{BenchmarkGroup, Criterion, SamplingMode, measurement::WallTime};

/// Items in each of the 100,000-item benchmarks (`spawn_n`, timers, `imap`).
pub const MANY: usize = 100_000;

/// Criterion for the cheap benchmarks (one iteration well under a microsecond).
pub fn criterion() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
        .configure_from_args()
}

/// Settles a group whose iterations take milliseconds: few samples of one
/// iteration count each.
pub fn heavy(group: &mut BenchmarkGroup<'_, WallTime>) {
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
}
