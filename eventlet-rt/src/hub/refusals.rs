//! Reports of refused stacks: the full message once per burst, then a count.
//!
//! When the kernel's map limit is reached, every green thread that tries to
//! start in that moment is refused; one message per green thread buried the
//! one that mattered (100,000 sleepers printed it 67,252 times).

use std::cell::Cell;
use std::time::{Duration, Instant};

use crate::stack_pool::StackRefused;

/// A burst of refusals ends after this long without one.
const BURST_QUIET: Duration = Duration::from_secs(1);

pub(super) struct RefusalReport {
    /// Refusals in the burst under way (0: none under way).
    in_burst: Cell<usize>,
    last: Cell<Option<Instant>>,
}

impl RefusalReport {
    pub(super) const fn new() -> RefusalReport {
        RefusalReport {
            in_burst: Cell::new(0),
            last: Cell::new(None),
        }
    }

    /// A green thread was refused its stack: the first of a burst prints the message.
    pub(super) fn refused(&self, refused: &StackRefused) {
        let count = self.in_burst.get();
        if count == 0 {
            report(&format!(
                "{refused} (Printed once per burst of refusals; the count follows when it ends.)"
            ));
        }
        self.in_burst.set(count + 1);
        self.last.set(Some(Instant::now()));
    }

    /// Ends the burst if it has been quiet long enough; else when it will end.
    pub(super) fn quiet(&self, now: Instant) -> Option<Instant> {
        let last = self.last.get()?;
        let ends = last + BURST_QUIET;
        if now < ends {
            return Some(ends);
        }
        self.flush();
        None
    }

    /// Ends the burst under way, printing its count.
    pub(super) fn flush(&self) {
        let count = self.in_burst.replace(0);
        self.last.set(None);
        if count > 1 {
            report(&format!(
                "eventlet-rt: {count} green threads in all were refused a stack in that burst \
                 (see `vm.max_map_count` above); each ended with `GreenError::StackRefused`."
            ));
        }
    }
}

fn report(message: &str) {
    if tracing::enabled!(target: "eventlet_rt::hub", tracing::Level::WARN) {
        tracing::warn!(target: "eventlet_rt::hub", "{message}");
    } else {
        eprintln!("{message}");
    }
}
