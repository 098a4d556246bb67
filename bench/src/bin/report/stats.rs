//! Medians and ranges over repeated runs, and how to print them.

/// The median of `values` (which it sorts); `None` when empty.
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    })
}

/// Median and range of repeated measurements.
#[derive(Clone, Copy, Debug)]
pub struct Summary {
    pub median: f64,
    pub low: f64,
    pub high: f64,
    pub runs: usize,
}

impl Summary {
    pub fn of(values: &[f64]) -> Option<Summary> {
        let mut sorted = values.to_vec();
        let median = median(&mut sorted)?;
        Some(Summary {
            median,
            low: sorted[0],
            high: sorted[sorted.len() - 1],
            runs: sorted.len(),
        })
    }

    /// `median (low-high)` with `format` applied to each figure.
    pub fn show(&self, format: impl Fn(f64) -> String) -> String {
        if self.runs > 1 {
            format!(
                "{} ({}–{})",
                format(self.median),
                format(self.low),
                format(self.high)
            )
        } else {
            format(self.median)
        }
    }
}

/// A duration in nanoseconds with a readable unit.
pub fn nanos(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

/// A ratio, with the figure a reader looks for first.
pub fn ratio(value: f64) -> String {
    format!("{value:.2}×")
}
