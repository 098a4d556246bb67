//! Green `Condvar`: waits on a green [`Mutex`] guard.

use std::cell::RefCell;
use std::fmt;
use std::sync::{LockResult, PoisonError};
use std::time::{Duration, Instant};

use super::{Mutex, MutexGuard};
use crate::waiters::{self, WaitList, Waited};

/// A condition variable for green threads, with `std::sync::Condvar`'s API, used with a
/// green [`Mutex`].
///
/// [`wait`](Condvar::wait) unlocks the mutex, blocks the calling green thread until a
/// [`notify_one`](Condvar::notify_one) or [`notify_all`](Condvar::notify_all), then locks
/// the mutex again. Waiters are woken in the order they started waiting. Unlike std's, a
/// green condvar has no spurious wake-ups, but code should still re-check its condition
/// (or use [`wait_while`](Condvar::wait_while)), since another green thread may run first.
///
/// ```
/// use std::rc::Rc;
/// use eventlet_rt::green::sync::{Condvar, Mutex};
///
/// let pair = Rc::new((Mutex::new(false), Condvar::new()));
/// let starter = pair.clone();
/// eventlet_rt::spawn_n(move || {
///     *starter.0.lock().unwrap() = true;
///     starter.1.notify_one();
/// });
/// let (started, ready) = &*pair;
/// let guard = ready.wait_while(started.lock().unwrap(), |started| !*started).unwrap();
/// assert!(*guard);
/// ```
pub struct Condvar {
    waiters: RefCell<WaitList<()>>,
}

/// Whether a timed wait on a [`Condvar`] ended because its time ran out.
///
/// ```
/// use std::time::Duration;
/// use eventlet_rt::green::sync::{Condvar, Mutex};
/// let (m, c) = (Mutex::new(()), Condvar::new());
/// let (_guard, result) = c.wait_timeout(m.lock().unwrap(), Duration::from_millis(1)).unwrap();
/// assert!(result.timed_out());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    /// True when the wait ended because its time ran out, not by a notification.
    ///
    /// ```
    /// use std::time::Duration;
    /// use eventlet_rt::green::sync::{Condvar, Mutex};
    /// let (m, c) = (Mutex::new(0), Condvar::new());
    /// let (_g, r) = c.wait_timeout(m.lock().unwrap(), Duration::ZERO).unwrap();
    /// assert!(r.timed_out());
    /// ```
    pub fn timed_out(&self) -> bool {
        self.0
    }
}

impl Condvar {
    /// A condvar nobody waits on.
    ///
    /// ```
    /// let c = eventlet_rt::green::sync::Condvar::new();
    /// c.notify_all(); // nobody to wake: nothing happens
    /// ```
    pub fn new() -> Condvar {
        Condvar {
            waiters: RefCell::new(WaitList::new()),
        }
    }

    /// Unlocks the guard's mutex, blocks the calling green thread until notified, and
    /// locks the mutex again. `Err` (holding the guard) if the mutex is poisoned.
    ///
    /// ```
    /// use std::rc::Rc;
    /// use eventlet_rt::green::sync::{Condvar, Mutex};
    ///
    /// let shared = Rc::new((Mutex::new(0), Condvar::new()));
    /// let other = shared.clone();
    /// eventlet_rt::spawn_n(move || {
    ///     *other.0.lock().unwrap() = 42;
    ///     other.1.notify_one();
    /// });
    /// let mut value = shared.0.lock().unwrap();
    /// while *value == 0 {
    ///     value = shared.1.wait(value).unwrap();
    /// }
    /// assert_eq!(*value, 42);
    /// ```
    pub fn wait<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> LockResult<MutexGuard<'a, T>> {
        self.wait_until(guard, None).0
    }

    /// Waits while `condition` holds of the value, then gives the guard back.
    ///
    /// ```
    /// use std::rc::Rc;
    /// use eventlet_rt::green::sync::{Condvar, Mutex};
    ///
    /// let shared = Rc::new((Mutex::new(Vec::new()), Condvar::new()));
    /// for i in 0..3 {
    ///     let shared = shared.clone();
    ///     eventlet_rt::spawn_n(move || {
    ///         shared.0.lock().unwrap().push(i);
    ///         shared.1.notify_all();
    ///     });
    /// }
    /// let items = shared.1.wait_while(shared.0.lock().unwrap(), |v| v.len() < 3).unwrap();
    /// assert_eq!(*items, [0, 1, 2]);
    /// ```
    pub fn wait_while<'a, T: ?Sized, F>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut condition: F,
    ) -> LockResult<MutexGuard<'a, T>>
    where
        F: FnMut(&mut T) -> bool,
    {
        while condition(&mut *guard) {
            guard = self.wait(guard)?;
        }
        Ok(guard)
    }

    /// Like [`wait`](Condvar::wait), giving up after `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use eventlet_rt::green::sync::{Condvar, Mutex};
    /// let (m, c) = (Mutex::new(()), Condvar::new());
    /// let (_guard, r) = c.wait_timeout(m.lock().unwrap(), Duration::from_millis(5)).unwrap();
    /// assert!(r.timed_out());
    /// ```
    pub fn wait_timeout<'a, T: ?Sized>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Duration,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)> {
        let (locked, timed_out) = self.wait_until(guard, Some(Instant::now() + timeout));
        let result = WaitTimeoutResult(timed_out);
        match locked {
            Ok(guard) => Ok((guard, result)),
            Err(poisoned) => Err(PoisonError::new((poisoned.into_inner(), result))),
        }
    }

    /// Like [`wait_while`](Condvar::wait_while), giving up after `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use eventlet_rt::green::sync::{Condvar, Mutex};
    /// let (m, c) = (Mutex::new(0), Condvar::new());
    /// let (g, r) = c
    ///     .wait_timeout_while(m.lock().unwrap(), Duration::from_millis(5), |v| *v == 0)
    ///     .unwrap();
    /// assert!(r.timed_out() && *g == 0);
    /// ```
    pub fn wait_timeout_while<'a, T: ?Sized, F>(
        &self,
        mut guard: MutexGuard<'a, T>,
        timeout: Duration,
        mut condition: F,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)>
    where
        F: FnMut(&mut T) -> bool,
    {
        let deadline = Instant::now() + timeout;
        while condition(&mut *guard) {
            let (locked, timed_out) = self.wait_until(guard, Some(deadline));
            guard = match locked {
                Ok(guard) => guard,
                Err(poisoned) => {
                    let result = WaitTimeoutResult(timed_out);
                    return Err(PoisonError::new((poisoned.into_inner(), result)));
                }
            };
            if timed_out {
                let result = WaitTimeoutResult(condition(&mut *guard));
                return Ok((guard, result));
            }
        }
        Ok((guard, WaitTimeoutResult(false)))
    }

    /// Wakes the longest waiter, if any.
    ///
    /// ```
    /// eventlet_rt::green::sync::Condvar::new().notify_one();
    /// ```
    pub fn notify_one(&self) {
        let _nobody = self.waiters.borrow_mut().wake_front(());
    }

    /// Wakes every waiter, oldest first.
    ///
    /// ```
    /// eventlet_rt::green::sync::Condvar::new().notify_all();
    /// ```
    pub fn notify_all(&self) {
        self.waiters
            .borrow_mut()
            .wake_all_with(|slot| *slot = Some(()));
    }

    /// The wait itself: the re-locked guard, and whether `deadline` passed first. A waiter
    /// killed after a notification reached it passes the notification on.
    fn wait_until<'a, T: ?Sized>(
        &self,
        guard: MutexGuard<'a, T>,
        deadline: Option<Instant>,
    ) -> (LockResult<MutexGuard<'a, T>>, bool) {
        let mutex: &'a Mutex<T> = MutexGuard::mutex(&guard);
        drop(guard);
        let waited = waiters::wait(
            &self.waiters,
            |waiters| waiters,
            None,
            deadline,
            |waiters, ()| {
                let _nobody = waiters.borrow_mut().wake_front(());
            },
        );
        (mutex.lock(), matches!(waited, Waited::TimedOut(_)))
    }
}

impl Default for Condvar {
    fn default() -> Condvar {
        Condvar::new()
    }
}

impl fmt::Debug for Condvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condvar")
            .field("waiting", &self.waiters.borrow().len())
            .finish()
    }
}
