//! `Semaphore` and its RAII guard, on the shared permit counter that
//! `GreenPool` uses for its slots too.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::waiters::{self, WaitList, Waited};

/// A permit counter with a FIFO list of green threads waiting for one.
///
/// A released permit goes straight to the longest waiter, so `available`
/// is positive only while nobody waits. It can go negative when the number
/// of permits shrinks below those handed out (a pool resized down).
pub(crate) struct Permits {
    available: isize,
    waiters: WaitList<()>,
}

impl Permits {
    pub(crate) fn new(permits: usize) -> Permits {
        Permits {
            available: to_isize(permits),
            waiters: WaitList::new(),
        }
    }

    pub(crate) fn available(&self) -> isize {
        self.available
    }

    /// Green threads blocked waiting for a permit.
    pub(crate) fn waiting(&self) -> usize {
        self.waiters.len()
    }

    #[inline]
    pub(crate) fn try_take(&mut self) -> bool {
        let free = self.available > 0;
        if free {
            self.available -= 1;
        }
        free
    }

    #[inline]
    pub(crate) fn release(&mut self) {
        self.add(1);
    }

    /// Adds (or with a negative `delta`, withdraws) permits; the new ones go
    /// to the waiters first.
    pub(crate) fn add(&mut self, delta: isize) {
        self.available += delta;
        while self.available > 0 && self.waiters.wake_front(()).is_ok() {
            self.available -= 1;
        }
    }
}

fn to_isize(permits: usize) -> isize {
    isize::try_from(permits).expect("a permit count must fit in an isize")
}

/// Takes a permit from the [`Permits`] that `permits` picks out of `cell`,
/// blocking (green) until one is handed over or `deadline` passes; false on
/// timeout. A waiter killed after a permit was handed to it passes it on.
pub(crate) fn take_permit<S>(
    cell: &RefCell<S>,
    permits: impl Fn(&mut S) -> &mut Permits + Copy,
    deadline: Option<Instant>,
) -> bool {
    if permits(&mut cell.borrow_mut()).try_take() {
        return true;
    }
    let waited = waiters::wait(
        cell,
        move |state| &mut permits(state).waiters,
        None,
        deadline,
        move |cell, ()| permits(&mut cell.borrow_mut()).release(),
    );
    matches!(waited, Waited::Woken(_))
}

/// A counting semaphore for green threads, with FIFO fairness.
///
/// [`acquire`](Semaphore::acquire) blocks the calling green thread (not the
/// OS thread) until a permit is free and returns a [`SemaphoreGuard`] that
/// gives the permit back when dropped. Green threads blocked in `acquire` get
/// permits in the order they asked. `Semaphore` is a cheap `Clone` handle to
/// one shared semaphore; it is `!Send`, like every green primitive.
///
/// ```
/// use std::{cell::Cell, rc::Rc, time::Duration};
/// use eventlet_rt::{spawn, sleep, Semaphore};
///
/// let sem = Semaphore::new(2);
/// let inside = Rc::new(Cell::new(0));
/// let most = Rc::new(Cell::new(0));
/// let workers: Vec<_> = (0..6)
///     .map(|_| {
///         let (sem, inside, most) = (sem.clone(), inside.clone(), most.clone());
///         spawn(move || {
///             let _permit = sem.acquire();
///             inside.set(inside.get() + 1);
///             most.set(most.get().max(inside.get()));
///             sleep(Duration::from_millis(1));
///             inside.set(inside.get() - 1);
///         })
///     })
///     .collect();
/// workers.into_iter().for_each(|w| w.wait().unwrap());
/// assert_eq!(most.get(), 2);
/// assert_eq!(sem.available(), 2);
/// ```
#[derive(Clone)]
pub struct Semaphore {
    permits: Rc<RefCell<Permits>>,
}

impl Semaphore {
    /// A semaphore with `permits` permits.
    ///
    /// ```
    /// let sem = eventlet_rt::Semaphore::new(3);
    /// assert_eq!(sem.available(), 3);
    /// ```
    pub fn new(permits: usize) -> Semaphore {
        Semaphore {
            permits: Rc::new(RefCell::new(Permits::new(permits))),
        }
    }

    /// Takes a permit, blocking the calling green thread until one is free.
    ///
    /// A kill or [`with_timeout`](crate::with_timeout) that ends the wait
    /// leaves no trace: the green thread is no longer counted in
    /// [`waiting`](Semaphore::waiting) and no permit is lost.
    ///
    /// ```
    /// let sem = eventlet_rt::Semaphore::new(1);
    /// {
    ///     let _permit = sem.acquire();
    ///     assert_eq!(sem.available(), 0);
    /// }
    /// assert_eq!(sem.available(), 1);
    /// ```
    pub fn acquire(&self) -> SemaphoreGuard {
        take_permit(&self.permits, |permits| permits, None);
        self.guard()
    }

    /// Takes a permit if one is free right now, without blocking.
    ///
    /// ```
    /// let sem = eventlet_rt::Semaphore::new(1);
    /// let first = sem.try_acquire();
    /// assert!(first.is_some());
    /// assert!(sem.try_acquire().is_none());
    /// ```
    pub fn try_acquire(&self) -> Option<SemaphoreGuard> {
        let taken = self.permits.borrow_mut().try_take();
        taken.then(|| self.guard())
    }

    /// Like [`acquire`](Semaphore::acquire), giving up after `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let sem = eventlet_rt::Semaphore::new(0);
    /// assert!(sem.acquire_timeout(Duration::from_millis(5)).is_none());
    /// assert_eq!(sem.waiting(), 0);
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Option<SemaphoreGuard> {
        let deadline = Instant::now() + timeout;
        take_permit(&self.permits, |permits| permits, Some(deadline)).then(|| self.guard())
    }

    /// Permits free right now.
    ///
    /// ```
    /// let sem = eventlet_rt::Semaphore::new(2);
    /// let _a = sem.acquire();
    /// assert_eq!(sem.available(), 1);
    /// ```
    pub fn available(&self) -> usize {
        self.permits.borrow().available().max(0) as usize
    }

    /// Green threads blocked in [`acquire`](Semaphore::acquire) or
    /// [`acquire_timeout`](Semaphore::acquire_timeout).
    ///
    /// ```
    /// let sem = eventlet_rt::Semaphore::new(0);
    /// let s = sem.clone();
    /// let waiter = eventlet_rt::spawn(move || drop(s.acquire()));
    /// eventlet_rt::yield_now();
    /// assert_eq!(sem.waiting(), 1);
    /// sem.add_permits(1);
    /// waiter.wait().unwrap();
    /// assert_eq!(sem.waiting(), 0);
    /// ```
    pub fn waiting(&self) -> usize {
        self.permits.borrow().waiting()
    }

    /// Adds `n` permits; blocked green threads get them first, oldest first.
    ///
    /// ```
    /// let sem = eventlet_rt::Semaphore::new(0);
    /// sem.add_permits(2);
    /// assert_eq!(sem.available(), 2);
    /// ```
    pub fn add_permits(&self, n: usize) {
        self.permits.borrow_mut().add(to_isize(n));
    }

    fn guard(&self) -> SemaphoreGuard {
        SemaphoreGuard {
            permits: self.permits.clone(),
        }
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("available", &self.available())
            .field("waiting", &self.waiting())
            .finish()
    }
}

/// A permit of a [`Semaphore`], given back when dropped.
///
/// It owns a handle to its semaphore, so it can move into a spawned green
/// thread.
///
/// ```
/// let sem = eventlet_rt::Semaphore::new(1);
/// let permit = sem.acquire();
/// let holder = eventlet_rt::spawn(move || drop(permit));
/// holder.wait().unwrap();
/// assert_eq!(sem.available(), 1);
/// ```
pub struct SemaphoreGuard {
    permits: Rc<RefCell<Permits>>,
}

impl Drop for SemaphoreGuard {
    fn drop(&mut self) {
        self.permits.borrow_mut().release();
    }
}

impl fmt::Debug for SemaphoreGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreGuard").finish_non_exhaustive()
    }
}
