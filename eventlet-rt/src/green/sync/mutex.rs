//! Green `Mutex`: std's API on the semaphore's permit counter with one permit.

use std::cell::{RefCell, UnsafeCell};
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::{LockResult, TryLockError, TryLockResult};

use super::poison::Poison;
use crate::semaphore::{Permits, take_permit};

/// A mutual exclusion lock for green threads, with `std::sync::Mutex`'s API.
///
/// [`lock`](Mutex::lock) blocks only the calling green thread while another holds the
/// lock, so a guard may be held across a green blocking call (a sleep, a socket read)
/// while other green threads wait their turn; with std's `Mutex` the second green thread
/// to lock would block the OS thread, and with it the holder: a deadlock. Waiters get the
/// lock in the order they asked.
///
/// Poisoning is std's: a green thread that panics (or is killed, or timed out) while
/// holding the guard poisons the mutex, and later `lock` calls return
/// [`PoisonError`](std::sync::PoisonError), whose `into_inner` still gives the guard.
///
/// It is for the green threads of one OS thread (`!Sync`): share it with `Rc`, or with
/// `Arc` in code written for std.
///
/// ```
/// use std::{rc::Rc, time::Duration};
/// use eventlet_rt::green::sync::Mutex;
///
/// let log = Rc::new(Mutex::new(Vec::new()));
/// let writers: Vec<_> = (0..3)
///     .map(|i| {
///         let log = log.clone();
///         eventlet_rt::spawn(move || {
///             let mut entries = log.lock().unwrap();
///             entries.push(i);
///             eventlet_rt::sleep(Duration::from_millis(5)); // held across a green sleep
///             entries.push(i);
///         })
///     })
///     .collect();
/// writers.into_iter().for_each(|w| w.wait().unwrap());
/// assert_eq!(*log.lock().unwrap(), [0, 0, 1, 1, 2, 2]);
/// ```
pub struct Mutex<T: ?Sized> {
    permit: RefCell<Permits>,
    poison: Poison,
    data: UnsafeCell<T>,
}

impl<T> Mutex<T> {
    /// An unlocked mutex holding `value`.
    ///
    /// ```
    /// let m = eventlet_rt::green::sync::Mutex::new(5);
    /// assert_eq!(*m.lock().unwrap(), 5);
    /// ```
    pub fn new(value: T) -> Mutex<T> {
        Mutex {
            permit: RefCell::new(Permits::new(1)),
            poison: Poison::default(),
            data: UnsafeCell::new(value),
        }
    }

    /// The value, consuming the mutex; `Err` (with the value) if it is poisoned.
    ///
    /// ```
    /// let m = eventlet_rt::green::sync::Mutex::new(String::from("x"));
    /// assert_eq!(m.into_inner().unwrap(), "x");
    /// ```
    pub fn into_inner(self) -> LockResult<T> {
        let poison = &self.poison;
        poison.result(self.data.into_inner())
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks, blocking the calling green thread until the lock is free.
    ///
    /// `Err` when the mutex is poisoned; the error still holds the guard. Locking a mutex
    /// that the calling green thread already holds waits forever, as with std.
    ///
    /// ```
    /// let m = eventlet_rt::green::sync::Mutex::new(0);
    /// *m.lock().unwrap() += 1;
    /// assert_eq!(*m.lock().unwrap(), 1);
    /// ```
    pub fn lock(&self) -> LockResult<MutexGuard<'_, T>> {
        take_permit(&self.permit, |permits| permits, None);
        self.guard()
    }

    /// Locks if the lock is free right now, without blocking.
    ///
    /// ```
    /// use std::sync::TryLockError;
    /// let m = eventlet_rt::green::sync::Mutex::new(0);
    /// let held = m.lock().unwrap();
    /// assert!(matches!(m.try_lock(), Err(TryLockError::WouldBlock)));
    /// drop(held);
    /// assert!(m.try_lock().is_ok());
    /// ```
    pub fn try_lock(&self) -> TryLockResult<MutexGuard<'_, T>> {
        if !self.permit.borrow_mut().try_take() {
            return Err(TryLockError::WouldBlock);
        }
        Ok(self.guard()?)
    }

    /// Whether a green thread panicked while holding the lock.
    ///
    /// ```
    /// let m = eventlet_rt::green::sync::Mutex::new(0);
    /// assert!(!m.is_poisoned());
    /// ```
    pub fn is_poisoned(&self) -> bool {
        self.poison.get()
    }

    /// Clears the poison, after the value has been checked or repaired.
    ///
    /// ```
    /// use std::rc::Rc;
    /// let m = Rc::new(eventlet_rt::green::sync::Mutex::new(0));
    /// let holder = m.clone();
    /// let _ = eventlet_rt::spawn(move || {
    ///     let _guard = holder.lock().unwrap();
    ///     panic!("while holding the lock");
    /// })
    /// .wait();
    /// assert!(m.is_poisoned());
    /// m.clear_poison();
    /// assert!(m.lock().is_ok());
    /// ```
    pub fn clear_poison(&self) {
        self.poison.clear();
    }

    /// The value, through `&mut self`: no locking needed.
    ///
    /// ```
    /// let mut m = eventlet_rt::green::sync::Mutex::new(1);
    /// *m.get_mut().unwrap() = 2;
    /// assert_eq!(*m.lock().unwrap(), 2);
    /// ```
    pub fn get_mut(&mut self) -> LockResult<&mut T> {
        let poison = &self.poison;
        poison.result(self.data.get_mut())
    }

    /// The guard for a lock just taken, poisoned or not.
    fn guard(&self) -> LockResult<MutexGuard<'_, T>> {
        let guard = MutexGuard {
            mutex: self,
            panicking: Poison::unwinding(),
        };
        self.poison.result(guard)
    }

    /// Gives the lock back (to the longest waiter first), poisoning it if the holder
    /// started unwinding while holding it.
    fn unlock(&self, panicking_at_lock: bool) {
        self.poison.guard_dropped(panicking_at_lock);
        self.permit.borrow_mut().release();
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Mutex<T> {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(guard) => d.field("data", &&*guard),
            Err(TryLockError::Poisoned(poisoned)) => d.field("data", &&*poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => d.field("data", &format_args!("<locked>")),
        };
        d.field("poisoned", &self.poison.get())
            .finish_non_exhaustive()
    }
}

/// The lock of a [`Mutex`], held until dropped; derefs to the value.
///
/// ```
/// let m = eventlet_rt::green::sync::Mutex::new(vec![1]);
/// let mut guard = m.lock().unwrap();
/// guard.push(2);
/// assert_eq!(*guard, [1, 2]);
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    /// Whether the holder was already unwinding when it locked (then it does not poison).
    panicking: bool,
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// The mutex, for `Condvar`, which unlocks it while it waits.
    pub(super) fn mutex(guard: &MutexGuard<'a, T>) -> &'a Mutex<T> {
        guard.mutex
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the mutex's only permit, so no other reference to the
        // value exists; the mutex is `!Sync`, so no other OS thread can reach it.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this the only borrow of the guard.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.mutex.unlock(self.panicking);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}
