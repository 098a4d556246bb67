//! The waiter list every blocking primitive shares: parked green threads in
//! arrival order, each with a slot for what is handed to it.
//!
//! A waker takes the longest waiter off the list, leaves what it hands over
//! (an item, a permit, an event's value) in that waiter's slot and makes it
//! runnable. The hand-off is complete before the waiter runs again, so a later
//! arrival can never overtake it: that is the FIFO fairness of queues,
//! semaphores and pools.
//!
//! A waiter blocks with [`wait`], which registers it through a guard: a kill
//! or timeout that unwinds it out of the wait removes its entry, so counters
//! and lists stay right, and a value that was already handed to it (but that
//! it will never take) goes to the primitive's `orphan` handler to be passed
//! on.
//!
//! The list lives in a slab with the links inside the entries: no allocation
//! per wait once the slab has grown, O(1) removal from anywhere, no `unsafe`.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::time::Instant;

use slab::Slab;

use crate::hub;
use crate::task::TaskRef;

/// Marks the end of the list in the `prev`/`next` links.
const NIL: usize = usize::MAX;

/// Parked green threads in arrival order, each with a slot of type `T`.
pub(crate) struct WaitList<T> {
    nodes: Slab<Node<T>>,
    head: usize,
    tail: usize,
    /// Entries still on the list (woken entries stay in the slab until their
    /// owner removes them).
    queued: usize,
}

struct Node<T> {
    task: TaskRef,
    prev: usize,
    next: usize,
    queued: bool,
    slot: Option<T>,
}

impl<T> WaitList<T> {
    pub(crate) fn new() -> WaitList<T> {
        WaitList {
            nodes: Slab::new(),
            head: NIL,
            tail: NIL,
            queued: 0,
        }
    }

    /// Green threads waiting (not yet taken off the list by a waker).
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.queued
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.queued == 0
    }

    /// The slot of the longest waiter, if anybody waits: what it is waiting for, when
    /// waiters wait for different things (a read or a write lock).
    #[inline]
    pub(crate) fn front(&self) -> Option<&T> {
        match self.head {
            NIL => None,
            head => self.nodes[head].slot.as_ref(),
        }
    }

    fn push_back(&mut self, task: TaskRef, slot: Option<T>) -> usize {
        let key = self.nodes.insert(Node {
            task,
            prev: self.tail,
            next: NIL,
            queued: true,
            slot,
        });
        match self.tail {
            NIL => self.head = key,
            tail => self.nodes[tail].next = key,
        }
        self.tail = key;
        self.queued += 1;
        key
    }

    fn unlink(&mut self, key: usize) {
        let node = &mut self.nodes[key];
        node.queued = false;
        let (prev, next) = (node.prev, node.next);
        match prev {
            NIL => self.head = next,
            prev => self.nodes[prev].next = next,
        }
        match next {
            NIL => self.tail = prev,
            next => self.nodes[next].prev = prev,
        }
        self.queued -= 1;
    }

    /// Removes an entry, unlinking it if it is still queued; gives back
    /// whether it was still queued and what its slot held.
    fn remove(&mut self, key: usize) -> (bool, Option<T>) {
        if self.nodes[key].queued {
            self.unlink(key);
            let node = self.nodes.remove(key);
            (true, node.slot)
        } else {
            (false, self.nodes.remove(key).slot)
        }
    }

    /// Takes the longest waiter off the list, lets `hand_over` fill or empty
    /// its slot, and makes it runnable. `None` when nobody waits.
    #[inline]
    pub(crate) fn wake_front_with<R>(
        &mut self,
        hand_over: impl FnOnce(&mut Option<T>) -> R,
    ) -> Option<R> {
        let key = self.head;
        if key == NIL {
            return None;
        }
        self.unlink(key);
        let node = &mut self.nodes[key];
        let handed = hand_over(&mut node.slot);
        hub::current().unpark(&node.task);
        Some(handed)
    }

    /// Hands `value` to the longest waiter; gives it back when nobody waits.
    #[inline]
    pub(crate) fn wake_front(&mut self, value: T) -> Result<(), T> {
        if self.head == NIL {
            return Err(value);
        }
        self.wake_front_with(|slot| *slot = Some(value));
        Ok(())
    }

    /// Wakes the longest waiter and takes what its slot held (a putter's item).
    #[inline]
    pub(crate) fn take_front(&mut self) -> Option<T> {
        self.wake_front_with(Option::take).flatten()
    }

    /// Wakes every waiter, oldest first, letting `hand_over` fill or empty each slot.
    pub(crate) fn wake_all_with(&mut self, mut hand_over: impl FnMut(&mut Option<T>)) {
        while self.wake_front_with(&mut hand_over).is_some() {}
    }
}

/// How a [`wait`] ended.
pub(crate) enum Waited<T> {
    /// A waker took the waiter off the list; this is what it left in the slot.
    Woken(Option<T>),
    /// The deadline passed first; this is what the slot still held.
    TimedOut(Option<T>),
}

/// Parks the calling green thread in the list that `list` picks out of
/// `cell`, with `slot` as its initial slot, until a waker takes it off the
/// list or `deadline` passes.
///
/// Kills and timeouts unwind out of here with the entry removed; if a value
/// had already been handed over, `orphan` gets it to pass on. No borrow of
/// `cell` is held while parked, nor while `orphan` runs.
pub(crate) fn wait<S, T>(
    cell: &RefCell<S>,
    list: impl Fn(&mut S) -> &mut WaitList<T>,
    slot: Option<T>,
    deadline: Option<Instant>,
    orphan: impl FnOnce(&RefCell<S>, T),
) -> Waited<T> {
    let hub = hub::current();
    let key = list(&mut cell.borrow_mut()).push_back(hub.current_task(), slot);
    let mut guard = WaitGuard {
        cell,
        list,
        key: Some(key),
        orphan: Some(orphan),
        slot: PhantomData,
    };
    loop {
        let woken = hub.park_until(deadline);
        let mut state = cell.borrow_mut();
        let waiters = (guard.list)(&mut state);
        // The hand-off is checked before the deadline: a wake-up that raced
        // the timer still counts.
        let handed_over = !waiters.nodes[key].queued;
        if handed_over || !woken {
            let (_, slot) = waiters.remove(key);
            guard.key = None;
            return match handed_over {
                true => Waited::Woken(slot),
                false => Waited::TimedOut(slot),
            };
        }
    }
}

/// Removes a waiter's entry when it unwinds out of [`wait`].
struct WaitGuard<'a, S, T, L, O>
where
    L: Fn(&mut S) -> &mut WaitList<T>,
    O: FnOnce(&RefCell<S>, T),
{
    cell: &'a RefCell<S>,
    list: L,
    /// `None` once the waiter has removed its entry itself.
    key: Option<usize>,
    orphan: Option<O>,
    slot: PhantomData<fn(T)>,
}

impl<S, T, L, O> Drop for WaitGuard<'_, S, T, L, O>
where
    L: Fn(&mut S) -> &mut WaitList<T>,
    O: FnOnce(&RefCell<S>, T),
{
    fn drop(&mut self) {
        let Some(key) = self.key else {
            return;
        };
        let (queued, slot) = (self.list)(&mut self.cell.borrow_mut()).remove(key);
        if let (false, Some(value), Some(orphan)) = (queued, slot, self.orphan.take()) {
            orphan(self.cell, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wakes_in_arrival_order_and_forgets_removed_waiters() {
        let hub = hub::current();
        let mut list = WaitList::new();
        let a = list.push_back(hub.current_task(), None);
        let b = list.push_back(hub.current_task(), None);
        let c = list.push_back(hub.current_task(), None);
        assert_eq!(list.len(), 3);
        assert_eq!(list.remove(b), (true, None));
        assert_eq!(list.wake_front(1), Ok(()));
        assert_eq!(list.wake_front(2), Ok(()));
        assert_eq!(list.wake_front(3), Err(3));
        assert_eq!(list.remove(a), (false, Some(1)));
        assert_eq!(list.remove(c), (false, Some(2)));
        assert!(list.is_empty());
        assert_eq!(list.nodes.len(), 0);
    }
}
