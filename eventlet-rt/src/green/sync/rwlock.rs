//! Green `RwLock`: many readers or one writer, granted in arrival order.

use std::cell::{RefCell, UnsafeCell};
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::{LockResult, TryLockError, TryLockResult};

use super::poison::Poison;
use crate::waiters::{self, WaitList};

/// What a waiter waits for.
#[derive(Clone, Copy, PartialEq)]
enum Access {
    Read,
    Write,
}

struct State {
    readers: usize,
    writer: bool,
    /// Waiters in arrival order; a waiter's slot says what it waits for, and stays there
    /// once granted so that a waiter killed after its grant gives it back.
    waiters: WaitList<Access>,
}

impl State {
    /// Grants the lock to the waiters at the front that can have it now: one writer, or
    /// every reader up to the next writer.
    fn grant(&mut self) {
        while let Some(&access) = self.waiters.front() {
            match access {
                Access::Write if self.readers == 0 && !self.writer => self.writer = true,
                Access::Read if !self.writer => self.readers += 1,
                _ => return,
            }
            self.waiters.wake_front_with(|_| ());
        }
    }

    fn release(&mut self, access: Access) {
        match access {
            Access::Read => self.readers -= 1,
            Access::Write => self.writer = false,
        }
        self.grant();
    }
}

/// Grants the lock to those behind a waiter that unwinds out of its wait: a writer at
/// the front of the line holds back the readers after it, even when only readers hold
/// the lock.
struct Leave<'a>(&'a RefCell<State>);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.borrow_mut().grant();
    }
}

/// A reader-writer lock for green threads, with `std::sync::RwLock`'s API.
///
/// Any number of green threads may hold it for reading, or one for writing; the others
/// block (green) until it is their turn, in the order they asked: a waiting writer holds
/// back the readers that come after it, so writers do not starve. Poisoning is std's: a
/// writer that panics (or is killed) while holding its guard poisons the lock.
///
/// ```
/// use std::rc::Rc;
/// use eventlet_rt::green::sync::RwLock;
///
/// let config = Rc::new(RwLock::new(String::from("v1")));
/// let reader = config.clone();
/// let first = reader.read().unwrap();
/// let second = config.read().unwrap(); // readers share it
/// assert_eq!((first.as_str(), second.as_str()), ("v1", "v1"));
/// drop((first, second));
/// config.write().unwrap().push_str("+patch");
/// assert_eq!(*config.read().unwrap(), "v1+patch");
/// ```
pub struct RwLock<T: ?Sized> {
    state: RefCell<State>,
    poison: Poison,
    data: UnsafeCell<T>,
}

impl<T> RwLock<T> {
    /// An unlocked lock holding `value`.
    ///
    /// ```
    /// let lock = eventlet_rt::green::sync::RwLock::new(1);
    /// assert_eq!(*lock.read().unwrap(), 1);
    /// ```
    pub fn new(value: T) -> RwLock<T> {
        RwLock {
            state: RefCell::new(State {
                readers: 0,
                writer: false,
                waiters: WaitList::new(),
            }),
            poison: Poison::default(),
            data: UnsafeCell::new(value),
        }
    }

    /// The value, consuming the lock; `Err` (with the value) if it is poisoned.
    ///
    /// ```
    /// let lock = eventlet_rt::green::sync::RwLock::new(3);
    /// assert_eq!(lock.into_inner().unwrap(), 3);
    /// ```
    pub fn into_inner(self) -> LockResult<T> {
        let poison = &self.poison;
        poison.result(self.data.into_inner())
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Locks for reading, blocking the calling green thread while a writer holds the lock
    /// or waits for it.
    ///
    /// ```
    /// let lock = eventlet_rt::green::sync::RwLock::new(vec![1, 2]);
    /// assert_eq!(lock.read().unwrap().len(), 2);
    /// ```
    pub fn read(&self) -> LockResult<RwLockReadGuard<'_, T>> {
        self.acquire(Access::Read);
        self.poison.result(RwLockReadGuard { lock: self })
    }

    /// Locks for reading if that is possible right now.
    ///
    /// ```
    /// use std::sync::TryLockError;
    /// let lock = eventlet_rt::green::sync::RwLock::new(0);
    /// let writing = lock.write().unwrap();
    /// assert!(matches!(lock.try_read(), Err(TryLockError::WouldBlock)));
    /// drop(writing);
    /// assert!(lock.try_read().is_ok());
    /// ```
    pub fn try_read(&self) -> TryLockResult<RwLockReadGuard<'_, T>> {
        if !self.try_acquire(Access::Read) {
            return Err(TryLockError::WouldBlock);
        }
        Ok(self.poison.result(RwLockReadGuard { lock: self })?)
    }

    /// Locks for writing, blocking the calling green thread while anyone else holds it.
    ///
    /// ```
    /// let lock = eventlet_rt::green::sync::RwLock::new(1);
    /// *lock.write().unwrap() += 1;
    /// assert_eq!(*lock.read().unwrap(), 2);
    /// ```
    pub fn write(&self) -> LockResult<RwLockWriteGuard<'_, T>> {
        self.acquire(Access::Write);
        self.poison.result(self.write_guard())
    }

    /// Locks for writing if nobody holds the lock right now.
    ///
    /// ```
    /// let lock = eventlet_rt::green::sync::RwLock::new(0);
    /// let reading = lock.read().unwrap();
    /// assert!(lock.try_write().is_err());
    /// drop(reading);
    /// assert!(lock.try_write().is_ok());
    /// ```
    pub fn try_write(&self) -> TryLockResult<RwLockWriteGuard<'_, T>> {
        if !self.try_acquire(Access::Write) {
            return Err(TryLockError::WouldBlock);
        }
        Ok(self.poison.result(self.write_guard())?)
    }

    /// Whether a writer panicked while holding the lock.
    ///
    /// ```
    /// assert!(!eventlet_rt::green::sync::RwLock::new(0).is_poisoned());
    /// ```
    pub fn is_poisoned(&self) -> bool {
        self.poison.get()
    }

    /// Clears the poison.
    ///
    /// ```
    /// let lock = eventlet_rt::green::sync::RwLock::new(0);
    /// lock.clear_poison();
    /// assert!(!lock.is_poisoned());
    /// ```
    pub fn clear_poison(&self) {
        self.poison.clear();
    }

    /// The value, through `&mut self`: no locking needed.
    ///
    /// ```
    /// let mut lock = eventlet_rt::green::sync::RwLock::new(1);
    /// *lock.get_mut().unwrap() = 5;
    /// assert_eq!(*lock.read().unwrap(), 5);
    /// ```
    pub fn get_mut(&mut self) -> LockResult<&mut T> {
        let poison = &self.poison;
        poison.result(self.data.get_mut())
    }

    /// Takes `access` at once when nobody waits ahead and the lock allows it.
    fn try_acquire(&self, access: Access) -> bool {
        let mut state = self.state.borrow_mut();
        let free = state.waiters.is_empty()
            && match access {
                Access::Read => !state.writer,
                Access::Write => !state.writer && state.readers == 0,
            };
        if free {
            match access {
                Access::Read => state.readers += 1,
                Access::Write => state.writer = true,
            }
        }
        free
    }

    /// Takes `access`, waiting in line when it cannot be had now. A waiter killed after
    /// its grant gives the lock back; one killed (or timed out) while still in line
    /// lets through those it held back.
    fn acquire(&self, access: Access) {
        if self.try_acquire(access) {
            return;
        }
        let leave = Leave(&self.state);
        waiters::wait(
            &self.state,
            |state| &mut state.waiters,
            Some(access),
            None,
            |state, access| state.borrow_mut().release(access),
        );
        std::mem::forget(leave);
    }

    fn write_guard(&self) -> RwLockWriteGuard<'_, T> {
        RwLockWriteGuard {
            lock: self,
            panicking: Poison::unwinding(),
        }
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> RwLock<T> {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(value: T) -> RwLock<T> {
        RwLock::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Ok(guard) => d.field("data", &&*guard),
            Err(TryLockError::Poisoned(poisoned)) => d.field("data", &&*poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => d.field("data", &format_args!("<locked>")),
        };
        d.field("poisoned", &self.poison.get())
            .finish_non_exhaustive()
    }
}

/// A read lock of an [`RwLock`], held until dropped.
///
/// ```
/// let lock = eventlet_rt::green::sync::RwLock::new(7);
/// let guard = lock.read().unwrap();
/// assert_eq!(*guard, 7);
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a read guard exists only while no writer does, so only shared
        // references to the value exist; the lock is `!Sync`, confined to its OS thread.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.state.borrow_mut().release(Access::Read);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// The write lock of an [`RwLock`], held until dropped.
///
/// ```
/// let lock = eventlet_rt::green::sync::RwLock::new(String::new());
/// lock.write().unwrap().push('x');
/// assert_eq!(*lock.read().unwrap(), "x");
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    /// Whether the holder was already unwinding when it locked (then it does not poison).
    panicking: bool,
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the write guard is the only guard while it lives; `!Sync` lock.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this the only borrow of the guard.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.poison.guard_dropped(self.panicking);
        self.lock.state.borrow_mut().release(Access::Write);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
