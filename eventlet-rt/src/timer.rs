//! Timers: deadlines over a slab of entries (the hub keeps one set per OS thread).
//!
//! Most timers are armed in deadline order (sleeps and timeouts of the same
//! length, one after another), so a deadline no earlier than the last one
//! queued goes to the back of a FIFO, which costs O(1) to arm and to fire and
//! reads memory in order; the others go to a binary heap. Firing takes the
//! earlier of the two fronts.
//!
//! Cancelling removes the slab entry at once and leaves a stale queue entry
//! behind, which costs O(1); stale entries are skipped when they reach the
//! front and both queues are compacted when they become the majority, so
//! cancelled timers never pile up.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
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

/// A queued deadline: (deadline, arming sequence, slab slot).
type Due = (Instant, u64, usize);

/// Timers ordered by deadline, then by arming order.
pub(crate) struct Timers<A> {
    /// Deadlines armed in non-decreasing order, hence sorted.
    in_order: VecDeque<Due>,
    heap: BinaryHeap<Reverse<Due>>,
    entries: Slab<Entry<A>>,
    next_seq: u64,
}

/// Compaction waits for this many stale heap entries, so small heaps never bother.
const MIN_STALE_TO_COMPACT: usize = 1024;

impl<A> Timers<A> {
    pub(crate) fn new() -> Timers<A> {
        Timers {
            in_order: VecDeque::new(),
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
        let due = (deadline, seq, slot);
        // A later `seq` breaks ties, so an equal deadline keeps the order.
        if self.in_order.back().is_none_or(|last| last.0 <= deadline) {
            self.in_order.push_back(due);
        } else {
            self.heap.push(Reverse(due));
        }
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
        self.earliest().map(|(deadline, _, _)| deadline)
    }

    /// Removes and returns the action of the earliest timer due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<A> {
        let (deadline, seq, slot) = self.earliest()?;
        if deadline > now {
            return None;
        }
        if self.in_order.front() == Some(&(deadline, seq, slot)) {
            self.in_order.pop_front();
        } else {
            self.heap.pop();
        }
        Some(self.entries.remove(slot).action)
    }

    /// The action of the timer `ahead` places behind the front of the
    /// in-order queue, if it is still armed: what fires soon, to prefetch.
    pub(crate) fn peek_in_order(&self, ahead: usize) -> Option<&A> {
        let &(_, seq, slot) = self.in_order.get(ahead)?;
        self.entries
            .get(slot)
            .filter(|entry| entry.seq == seq)
            .map(|entry| &entry.action)
    }

    /// The earliest armed deadline, after dropping the stale fronts.
    fn earliest(&mut self) -> Option<Due> {
        let entries = &self.entries;
        let armed = |&(_, seq, slot): &Due| entries.get(slot).is_some_and(|e| e.seq == seq);
        while let Some(front) = self.in_order.front() {
            if armed(front) {
                break;
            }
            self.in_order.pop_front();
        }
        while let Some(Reverse(top)) = self.heap.peek() {
            if armed(top) {
                break;
            }
            self.heap.pop();
        }
        match (self.in_order.front(), self.heap.peek()) {
            (Some(a), Some(Reverse(b))) => Some(*a.min(b)),
            (Some(a), None) => Some(*a),
            (None, Some(Reverse(b))) => Some(*b),
            (None, None) => None,
        }
    }

    fn compact_if_mostly_stale(&mut self) {
        let stale = self.queued() - self.entries.len();
        if stale >= MIN_STALE_TO_COMPACT && stale > self.entries.len() {
            let entries = &self.entries;
            let armed = |&(_, seq, slot): &Due| entries.get(slot).is_some_and(|e| e.seq == seq);
            self.in_order.retain(armed);
            self.heap.retain(|Reverse(due)| armed(due));
        }
    }

    /// Queued deadlines, stale ones included.
    fn queued(&self) -> usize {
        self.in_order.len() + self.heap.len()
    }

    /// Heap entries, stale ones included (for tests of the compaction).
    #[cfg(test)]
    fn heap_len(&self) -> usize {
        self.queued()
    }

    /// The actions of the armed timers, in no particular order.
    pub(crate) fn actions(&self) -> impl Iterator<Item = &A> {
        self.entries.iter().map(|(_, entry)| &entry.action)
    }

    /// Removes every timer, returning their actions.
    pub(crate) fn drain(&mut self) -> Vec<A> {
        self.in_order.clear();
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
    fn peeking_ahead_sees_armed_in_order_timers_only() {
        let mut timers = Timers::new();
        let t0 = Instant::now();
        timers.add(t0, "a");
        let b = timers.add(t0 + Duration::from_millis(1), "b");
        timers.add(t0 + Duration::from_millis(2), "c");
        timers.add(t0, "early: goes to the heap");
        assert_eq!(timers.peek_in_order(0), Some(&"a"));
        assert_eq!(timers.peek_in_order(2), Some(&"c"));
        assert_eq!(
            timers.peek_in_order(3),
            None,
            "heap timers are not in order"
        );
        timers.cancel(b);
        assert_eq!(timers.peek_in_order(1), None, "a cancelled timer");
        // A reused slot with a new sequence number is not the old timer.
        timers.add(t0 + Duration::from_millis(5), "d");
        assert_eq!(timers.peek_in_order(1), None);
        assert_eq!(timers.peek_in_order(3), Some(&"d"));
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
    fn in_order_and_out_of_order_deadlines_fire_merged() {
        let mut timers = Timers::new();
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        for (at, name) in [
            (10, "a10"),
            (30, "a30"),
            (20, "b20"),
            (30, "b30"),
            (5, "c5"),
        ] {
            timers.add(ms(at), name);
        }
        let cancelled = timers.add(ms(40), "cancelled");
        timers.add(ms(15), "d15");
        timers.cancel(cancelled);
        assert_eq!(timers.next_deadline(), Some(ms(5)));
        let fired: Vec<_> = std::iter::from_fn(|| timers.pop_due(ms(100))).collect();
        assert_eq!(fired, ["c5", "a10", "d15", "b20", "a30", "b30"]);
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
