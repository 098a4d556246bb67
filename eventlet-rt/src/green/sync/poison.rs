//! Poisoning as std's: a lock is poisoned when its holder's green thread
//! unwinds (a panic, a kill or a timeout) while holding it.

use std::cell::Cell;
use std::sync::{LockResult, PoisonError};

use crate::hub;

/// A lock's poison flag.
#[derive(Default)]
pub(super) struct Poison {
    poisoned: Cell<bool>,
}

impl Poison {
    pub(super) fn get(&self) -> bool {
        self.poisoned.get()
    }

    pub(super) fn clear(&self) {
        self.poisoned.set(false);
    }

    /// `value` as std gives it: `Err` holding it when poisoned.
    pub(super) fn result<V>(&self, value: V) -> LockResult<V> {
        match self.poisoned.get() {
            true => Err(PoisonError::new(value)),
            false => Ok(value),
        }
    }

    /// Whether the calling green thread is unwinding now: taken when a guard
    /// is made, so that a guard made during an unwind does not poison.
    pub(super) fn unwinding() -> bool {
        hub::is_unwinding()
    }

    /// A guard made when [`Poison::unwinding`] said `unwinding_at_lock` goes:
    /// poisons the lock if its green thread started unwinding since.
    pub(super) fn guard_dropped(&self, unwinding_at_lock: bool) {
        if !unwinding_at_lock && hub::is_unwinding() {
            self.poisoned.set(true);
        }
    }
}
