//! The hub's timers: a binary heap of deadlines over a slab of entries.
//!
//! Cancelling removes the slab entry at once and leaves a stale heap entry
//! behind, which costs O(1); stale heap entries are skipped when they reach
//! the top and the heap is compacted when they become the majority, so
//! cancelled timers never pile up.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use slab::Slab;

/// Names one armed timer; stays unique after the timer fires or is cancelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerKey {
    slot: usize,
    seq: u64,
}

struct Entry<A> {
    seq: u64,
    action: A,
}

/// Timers ordered by deadline, then by arming order.
pub(crate) struct Timers<A> {
    heap: BinaryHeap<Reverse<(Instant, u64, usize)>>,
    entries: Slab<Entry<A>>,
    next_seq: u64,
}

/// Compaction waits for this many stale heap entries, so small heaps never bother.
const MIN_STALE_TO_COMPACT: usize = 1024;

impl<A> Timers<A> {
    pub(crate) fn new() -> Timers<A> {
        Timers {
            heap: BinaryHeap::new(),
            entries: Slab::new(),
            next_seq: 0,
        }
    }

    /// Arms a timer that yields `action` from [`Timers::pop_due`] once `deadline` passes.
    pub(crate) fn add(&mut self, deadline: Instant, action: A) -> TimerKey {
        let seq = self.next_seq;
        self.next_seq += 1;
        let slot = self.entries.insert(Entry { seq, action });
        self.heap.push(Reverse((deadline, seq, slot)));
        TimerKey { slot, seq }
    }

    /// Disarms a timer; returns its action if it had not fired yet.
    pub(crate) fn cancel(&mut self, key: TimerKey) -> Option<A> {
        if !self.is_armed(key) {
            return None;
        }
        let entry = self.entries.remove(key.slot);
        self.compact_if_mostly_stale();
        Some(entry.action)
    }

    /// True until the timer fires or is cancelled.
    pub(crate) fn is_armed(&self, key: TimerKey) -> bool {
        self.entries
            .get(key.slot)
            .is_some_and(|entry| entry.seq == key.seq)
    }

    /// Armed timers.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The earliest deadline of an armed timer.
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        self.drop_stale_top();
        self.heap.peek().map(|Reverse((deadline, _, _))| *deadline)
    }

    /// Removes and returns the action of the earliest timer due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<A> {
        self.drop_stale_top();
        let Reverse((deadline, _, slot)) = *self.heap.peek()?;
        if deadline > now {
            return None;
        }
        self.heap.pop();
        Some(self.entries.remove(slot).action)
    }

    fn drop_stale_top(&mut self) {
        while let Some(Reverse((_, seq, slot))) = self.heap.peek() {
            if self.entries.get(*slot).is_some_and(|e| e.seq == *seq) {
                return;
            }
            self.heap.pop();
        }
    }

    fn compact_if_mostly_stale(&mut self) {
        let stale = self.heap.len() - self.entries.len();
        if stale >= MIN_STALE_TO_COMPACT && stale > self.entries.len() {
            let entries = &self.entries;
            self.heap.retain(|Reverse((_, seq, slot))| {
                entries.get(*slot).is_some_and(|e| e.seq == *seq)
            });
        }
    }

    /// Heap entries, stale ones included (for tests of the compaction).
    #[cfg(test)]
    fn heap_len(&self) -> usize {
        self.heap.len()
    }

    /// The actions of the armed timers, in no particular order.
    pub(crate) fn actions(&self) -> impl Iterator<Item = &A> {
        self.entries.iter().map(|(_, entry)| &entry.action)
    }

    /// Removes every timer, returning their actions.
    pub(crate) fn drain(&mut self) -> Vec<A> {
        self.heap.clear();
        self.entries.drain().map(|entry| entry.action).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn fires_in_deadline_order_then_arming_order() {
        let mut timers = Timers::new();
        let t0 = Instant::now();
        timers.add(t0 + Duration::from_millis(20), "late");
        timers.add(t0 + Duration::from_millis(10), "first");
        timers.add(t0 + Duration::from_millis(10), "second");
        assert_eq!(timers.pop_due(t0), None);
        let now = t0 + Duration::from_millis(30);
        let fired: Vec<_> = std::iter::from_fn(|| timers.pop_due(now)).collect();
        assert_eq!(fired, ["first", "second", "late"]);
    }

    #[test]
    fn cancelled_timer_never_fires_and_key_stays_unique() {
        let mut timers = Timers::new();
        let t0 = Instant::now();
        let a = timers.add(t0, 1);
        assert_eq!(timers.cancel(a), Some(1));
        assert_eq!(timers.cancel(a), None);
        let b = timers.add(t0, 2);
        assert!(
            !timers.is_armed(a),
            "a reused slot must not revive the old key"
        );
        assert!(timers.is_armed(b));
        assert_eq!(timers.pop_due(t0), Some(2));
        assert_eq!(timers.pop_due(t0), None);
        assert_eq!(timers.len(), 0);
    }

    #[test]
    fn cancelling_many_timers_compacts_the_heap() {
        let mut timers = Timers::new();
        let far = Instant::now() + Duration::from_secs(3600);
        let keys: Vec<_> = (0..10_000).map(|i| timers.add(far, i)).collect();
        for key in &keys[..9_990] {
            timers.cancel(*key);
        }
        assert_eq!(timers.len(), 10);
        assert!(
            timers.heap_len() < 2 * MIN_STALE_TO_COMPACT,
            "heap kept {}",
            timers.heap_len()
        );
        assert_eq!(timers.next_deadline(), Some(far));
    }
}
