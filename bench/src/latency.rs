//! A latency histogram allocated once: 100 ns buckets up to 100 ms.

use std::time::Duration;

const BUCKET_NANOS: u64 = 100;
const BUCKETS: usize = 1_000_000;

/// Counts of round-trip latencies; recording never allocates.
pub struct Histogram {
    counts: Vec<u32>,
    total: u64,
    longest: Duration,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
            total: 0,
            longest: Duration::ZERO,
        }
    }
}

impl Histogram {
    pub fn record(&mut self, latency: Duration) {
        let bucket = (latency.as_nanos() / u128::from(BUCKET_NANOS)) as usize;
        if let Some(count) = self.counts.get_mut(bucket) {
            *count += 1;
        }
        self.total += 1;
        self.longest = self.longest.max(latency);
    }

    pub fn clear(&mut self) {
        self.counts.fill(0);
        self.total = 0;
        self.longest = Duration::ZERO;
    }

    /// The latency below which `quantile` (0..=1) of the recordings fall, in
    /// microseconds (the longest one seen when past the last bucket); `None`
    /// when nothing was recorded.
    pub fn quantile_micros(&self, quantile: f64) -> Option<f64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((self.total as f64 * quantile).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (bucket, &count) in self.counts.iter().enumerate() {
            seen += u64::from(count);
            if seen >= rank {
                return Some(((bucket as u64 + 1) * BUCKET_NANOS) as f64 / 1000.0);
            }
        }
        Some(self.longest.as_secs_f64() * 1e6)
    }
}
