//! The state every queue shares, whatever its order: stored items, the
//! capacity, FIFO lists of blocked getters and putters, and the hand-offs
//! between them.
//!
//! Invariants:
//! - getters wait only while nothing is stored, and putters only while
//!   there is no room, so both lists are never non-empty at once;
//! - an item put while a getter waits goes straight into that getter's slot,
//!   and room made by a `get` goes straight to the longest putter's item, so
//!   a later arrival never overtakes a waiter.

use std::cell::RefCell;
use std::time::Instant;

use super::storage::Storage;
use crate::waiters::{self, WaitList, Waited};

pub(crate) struct Inner<T, S> {
    items: S,
    pub(super) capacity: Option<usize>,
    pub(super) getters: WaitList<T>,
    pub(super) putters: WaitList<T>,
    joiners: WaitList<()>,
    /// Items put and not yet marked done with `task_done`.
    pub(super) unfinished: usize,
}

/// Why a put did not happen; the item comes back.
pub(crate) enum PutError<T> {
    /// No room (before the deadline, for a blocking put).
    Full(T),
}

/// Why a get gave no item.
pub(crate) enum GetError {
    /// Nothing to take (before the deadline, for a blocking get).
    Empty,
}

/// Where an accepted item went.
enum Accepted {
    HandedToGetter,
    Stored,
}

impl<T, S: Storage<T>> Inner<T, S> {
    pub(super) fn new(capacity: Option<usize>) -> Inner<T, S> {
        Inner {
            items: S::default(),
            capacity,
            getters: WaitList::new(),
            putters: WaitList::new(),
            joiners: WaitList::new(),
            unfinished: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.items.len()
    }

    fn has_room(&self) -> bool {
        self.capacity
            .is_none_or(|capacity| self.items.len() < capacity)
    }

    /// Puts without blocking: into the longest getter's hands, else into storage.
    #[inline]
    fn offer(&mut self, item: T) -> Result<Accepted, PutError<T>> {
        let item = match self.getters.wake_front(item) {
            Ok(()) => {
                self.unfinished += 1;
                return Ok(Accepted::HandedToGetter);
            }
            Err(item) => item,
        };
        if !self.has_room() {
            return Err(PutError::Full(item));
        }
        self.items.push(item);
        self.unfinished += 1;
        Ok(Accepted::Stored)
    }

    /// Takes without blocking: from storage (then lets the longest putter
    /// in), else straight from a putter (a rendezvous queue).
    #[inline]
    fn take(&mut self) -> Option<T> {
        if let Some(item) = self.items.pop() {
            self.admit_putters();
            return Some(item);
        }
        let item = self.putters.take_front()?;
        self.unfinished += 1;
        Some(item)
    }

    /// Moves the items of blocked putters into storage while there is room.
    pub(super) fn admit_putters(&mut self) {
        while !self.putters.is_empty() && self.has_room() {
            if let Some(item) = self.putters.take_front() {
                self.items.push(item);
                self.unfinished += 1;
            }
        }
    }

    /// An item handed to a getter that will never take it (killed, timed
    /// out) goes to the next getter, or back into storage as the oldest.
    fn give_back(&mut self, item: T) {
        if let Err(item) = self.getters.wake_front(item) {
            self.items.push_oldest(item);
        }
    }

    pub(super) fn task_done(&mut self) {
        assert!(
            self.unfinished > 0,
            "Queue::task_done() called more times than there were items put; call it once per \
             item taken with get()"
        );
        self.unfinished -= 1;
        if self.unfinished == 0 {
            self.joiners.wake_all_with(|_| ());
        }
    }
}

/// The blocking side of a queue: what its handles call, on the shared state.
impl<T, S: Storage<T>> Inner<T, S> {
    /// Puts `item`, blocking while the queue is full until `deadline`.
    pub(crate) fn put_until(
        cell: &RefCell<Self>,
        item: T,
        deadline: Option<Instant>,
    ) -> Result<(), PutError<T>> {
        let accepted = cell.borrow_mut().offer(item);
        match accepted {
            Ok(Accepted::Stored) => Ok(()),
            Ok(Accepted::HandedToGetter) => {
                if cell.borrow().capacity == Some(0) {
                    // A rendezvous put returns once the getter has the item in
                    // hand: let it run first.
                    crate::yield_now();
                }
                Ok(())
            }
            Err(PutError::Full(item)) => Self::wait_for_room(cell, item, deadline),
        }
    }

    fn wait_for_room(
        cell: &RefCell<Self>,
        item: T,
        deadline: Option<Instant>,
    ) -> Result<(), PutError<T>> {
        let waited = waiters::wait(
            cell,
            |inner| &mut inner.putters,
            Some(item),
            deadline,
            |_, _refused| {},
        );
        match waited {
            Waited::Woken(None) => Ok(()),
            Waited::Woken(Some(_)) => unreachable!("a putter is woken only once its item is taken"),
            Waited::TimedOut(item) => Err(PutError::Full(
                item.expect("a putter keeps its item until it is taken"),
            )),
        }
    }

    /// Puts `item` if that needs no waiting.
    pub(crate) fn try_put(cell: &RefCell<Self>, item: T) -> Result<(), PutError<T>> {
        cell.borrow_mut().offer(item).map(|_| ())
    }

    /// Takes an item, blocking while the queue is empty until `deadline`.
    pub(crate) fn get_until(
        cell: &RefCell<Self>,
        deadline: Option<Instant>,
    ) -> Result<T, GetError> {
        let taken = Self::try_take(cell);
        if !matches!(taken, Err(GetError::Empty)) {
            return taken;
        }
        let waited = waiters::wait(
            cell,
            |inner| &mut inner.getters,
            None,
            deadline,
            |inner: &RefCell<Self>, item| inner.borrow_mut().give_back(item),
        );
        match waited {
            Waited::Woken(Some(item)) => Ok(item),
            Waited::Woken(None) => unreachable!("a getter is woken only with an item in hand"),
            Waited::TimedOut(_) => Err(GetError::Empty),
        }
    }

    /// Takes an item if that needs no waiting.
    pub(crate) fn try_take(cell: &RefCell<Self>) -> Result<T, GetError> {
        let mut inner = cell.borrow_mut();
        match inner.take() {
            Some(item) => Ok(item),
            None => Err(GetError::Empty),
        }
    }

    /// Blocks until every item put has been marked done.
    pub(super) fn wait_until_done(cell: &RefCell<Self>) {
        while cell.borrow().unfinished > 0 {
            waiters::wait(cell, |inner| &mut inner.joiners, None, None, |_, ()| {});
        }
    }
}
