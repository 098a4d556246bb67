//! `GreenPool`: a bounded set of green threads, like Eventlet's `GreenPool`.

mod imap;

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

use slab::Slab;

use crate::GreenThread;
use crate::hub;
use crate::semaphore::{self, Permits};
use crate::waiters::{self, WaitList};

pub use imap::Imap;

/// Eventlet's default pool size.
const DEFAULT_SIZE: usize = 1000;

/// A pool of at most `size` green threads running at once.
///
/// [`spawn`](GreenPool::spawn) starts a green thread in the pool; when the
/// pool is full it blocks the caller (green) until a pool thread ends, and
/// blocked spawners get slots first come, first served. A pool thread that
/// panics or is killed frees its slot like one that returns.
/// [`imap`](GreenPool::imap) maps a function over an iterator with at most
/// `size` calls in flight.
///
/// `GreenPool` is a cheap `Clone` handle to one shared pool; it is `!Send`.
/// Spawning into a full pool from one of its own green threads does not
/// deadlock: the new green thread runs on the caller's slot while the caller
/// waits for it (Eventlet's re-entrancy rule).
///
/// ```
/// use std::time::Duration;
/// use eventlet_rt::{sleep, GreenPool};
///
/// let pool = GreenPool::new(2);
/// let threads: Vec<_> = (0..5)
///     .map(|i| pool.spawn(move || { sleep(Duration::from_millis(1)); i * 2 }))
///     .collect();
/// assert!(pool.running() <= 2);
/// let doubled: Vec<i32> = threads.into_iter().map(|gt| gt.wait().unwrap()).collect();
/// assert_eq!(doubled, [0, 2, 4, 6, 8]);
/// ```
#[derive(Clone)]
pub struct GreenPool {
    state: Rc<RefCell<PoolState>>,
}

struct PoolState {
    size: usize,
    slots: Permits,
    /// Pool threads spawned and not finished.
    running: usize,
    /// Addresses of the pool threads that have started, for re-entrant spawns.
    members: Slab<usize>,
    /// Green threads blocked in `waitall`.
    idle_waiters: WaitList<()>,
}

impl GreenPool {
    /// A pool of at most `size` green threads. A pool of size 0 runs nothing
    /// until [`resize`](GreenPool::resize)d.
    ///
    /// ```
    /// let pool = eventlet_rt::GreenPool::new(10);
    /// assert_eq!((pool.size(), pool.free(), pool.running()), (10, 10, 0));
    /// ```
    pub fn new(size: usize) -> GreenPool {
        GreenPool {
            state: Rc::new(RefCell::new(PoolState {
                size,
                slots: Permits::new(size),
                running: 0,
                members: Slab::new(),
                idle_waiters: WaitList::new(),
            })),
        }
    }

    /// Runs `f` in a new green thread of the pool and returns its handle,
    /// blocking the calling green thread while the pool is full.
    ///
    /// ```
    /// let pool = eventlet_rt::GreenPool::new(1);
    /// let gt = pool.spawn(|| "done");
    /// assert_eq!(pool.free(), 0);
    /// assert_eq!(gt.wait().unwrap(), "done");
    /// assert_eq!(pool.free(), 1);
    /// ```
    pub fn spawn<F, T>(&self, f: F) -> GreenThread<T>
    where
        F: FnOnce() -> T + 'static,
        T: 'static,
    {
        match self.claim_slot() {
            Some(slot) => crate::spawn(move || slot.run(f)),
            None => run_on_callers_slot(f),
        }
    }

    /// Like [`spawn`](GreenPool::spawn), without a handle.
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// let pool = eventlet_rt::GreenPool::new(4);
    /// let sum = Rc::new(Cell::new(0));
    /// for i in 1..=4 {
    ///     let sum = sum.clone();
    ///     pool.spawn_n(move || sum.set(sum.get() + i));
    /// }
    /// pool.waitall();
    /// assert_eq!(sum.get(), 10);
    /// ```
    pub fn spawn_n<F>(&self, f: F)
    where
        F: FnOnce() + 'static,
    {
        match self.claim_slot() {
            Some(slot) => crate::spawn_n(move || slot.run(f)),
            None => drop(run_on_callers_slot(f)),
        }
    }

    /// Takes a slot, blocking while the pool is full; `None` when the caller
    /// is a thread of this full pool and must lend its own slot instead.
    fn claim_slot(&self) -> Option<Slot> {
        let mut state = self.state.borrow_mut();
        if !state.slots.try_take() {
            if state.is_member(current_address()) {
                return None;
            }
            drop(state);
            semaphore::take_permit(&self.state, |state| &mut state.slots, None);
            state = self.state.borrow_mut();
        }
        state.running += 1;
        Some(Slot {
            pool: self.state.clone(),
            member: None,
        })
    }

    /// Blocks the calling green thread until every green thread of the pool
    /// has finished. Returns at once when none runs.
    ///
    /// # Panics
    /// When called from one of the pool's own green threads, which would
    /// wait for itself forever.
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = eventlet_rt::GreenPool::new(3);
    /// for _ in 0..3 {
    ///     pool.spawn_n(|| eventlet_rt::sleep(Duration::from_millis(2)));
    /// }
    /// pool.waitall();
    /// assert_eq!(pool.running(), 0);
    /// ```
    pub fn waitall(&self) {
        assert!(
            !self.state.borrow().is_member(current_address()),
            "GreenPool::waitall() called from one of the pool's own green threads would wait for \
             itself forever; call it from outside the pool"
        );
        while self.state.borrow().running > 0 {
            waiters::wait(
                &self.state,
                |state| &mut state.idle_waiters,
                None,
                None,
                |_, ()| {},
            );
        }
    }

    /// Green threads of the pool spawned and not finished.
    ///
    /// ```
    /// let pool = eventlet_rt::GreenPool::new(2);
    /// pool.spawn_n(|| ());
    /// assert_eq!(pool.running(), 1);
    /// pool.waitall();
    /// assert_eq!(pool.running(), 0);
    /// ```
    pub fn running(&self) -> usize {
        self.state.borrow().running
    }

    /// Slots free right now: how many spawns would not block. Zero while the
    /// pool runs more green threads than its size after a shrink.
    ///
    /// ```
    /// let pool = eventlet_rt::GreenPool::new(2);
    /// pool.spawn_n(|| ());
    /// assert_eq!(pool.free(), 1);
    /// ```
    pub fn free(&self) -> usize {
        self.state.borrow().slots.available().max(0) as usize
    }

    /// Green threads blocked in `spawn` or `spawn_n`, waiting for a slot.
    ///
    /// ```
    /// let pool = eventlet_rt::GreenPool::new(1);
    /// pool.spawn_n(|| eventlet_rt::sleep(std::time::Duration::from_millis(5)));
    /// let p = pool.clone();
    /// let blocked = eventlet_rt::spawn(move || p.spawn_n(|| ()));
    /// eventlet_rt::yield_now();
    /// assert_eq!(pool.waiting(), 1);
    /// blocked.wait().unwrap();
    /// assert_eq!(pool.waiting(), 0);
    /// ```
    pub fn waiting(&self) -> usize {
        self.state.borrow().slots.waiting()
    }

    /// The most green threads the pool runs at once.
    ///
    /// ```
    /// assert_eq!(eventlet_rt::GreenPool::default().size(), 1000);
    /// ```
    pub fn size(&self) -> usize {
        self.state.borrow().size
    }

    /// Changes the size. Growing wakes blocked spawners at once, oldest
    /// first; shrinking lets running green threads finish, and new spawns
    /// wait until the pool is below its new size.
    ///
    /// ```
    /// let pool = eventlet_rt::GreenPool::new(1);
    /// pool.resize(3);
    /// assert_eq!((pool.size(), pool.free()), (3, 3));
    /// ```
    pub fn resize(&self, size: usize) {
        let mut state = self.state.borrow_mut();
        let delta = to_isize(size) - to_isize(state.size);
        state.size = size;
        state.slots.add(delta);
    }
}

fn to_isize(size: usize) -> isize {
    isize::try_from(size).expect("a pool size must fit in an isize")
}

impl PoolState {
    fn is_member(&self, address: usize) -> bool {
        self.members.iter().any(|(_, &member)| member == address)
    }
}

/// The address of the running task, which identifies it while it lives.
fn current_address() -> usize {
    Rc::as_ptr(&hub::current().current_task())
        .cast::<()>()
        .addr()
}

/// A slot taken in a pool; the pool thread that holds it gives it back when
/// it ends, however it ends (or when it is dropped without ever running).
struct Slot {
    pool: Rc<RefCell<PoolState>>,
    member: Option<usize>,
}

impl Slot {
    fn run<T>(mut self, f: impl FnOnce() -> T) -> T {
        self.member = Some(self.pool.borrow_mut().members.insert(current_address()));
        f()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut state = self.pool.borrow_mut();
        if let Some(key) = self.member {
            state.members.remove(key);
        }
        state.running -= 1;
        state.slots.release();
        if state.running == 0 {
            state.idle_waiters.wake_all_with(|_| ());
        }
    }
}

/// Runs `f` in a green thread of its own while the calling pool thread waits
/// for it: the caller lends its slot, so the pool stays within its size.
fn run_on_callers_slot<F, T>(f: F) -> GreenThread<T>
where
    F: FnOnce() -> T + 'static,
    T: 'static,
{
    let hub = hub::current();
    let borrower = crate::spawn(f);
    let caller = hub.current_task();
    borrower.link(move |_| hub::current().unpark(&caller));
    let mut guard = KillOnUnwind {
        thread: &borrower,
        armed: true,
    };
    while !borrower.is_finished() {
        hub.park();
    }
    guard.armed = false;
    drop(guard);
    borrower
}

/// Kills the green thread running on a lent slot if its lender unwinds.
struct KillOnUnwind<'a, T: 'static> {
    thread: &'a GreenThread<T>,
    armed: bool,
}

impl<T: 'static> Drop for KillOnUnwind<'_, T> {
    fn drop(&mut self) {
        if self.armed {
            self.thread.kill();
        }
    }
}

impl Default for GreenPool {
    /// A pool of 1000, Eventlet's default.
    fn default() -> GreenPool {
        GreenPool::new(DEFAULT_SIZE)
    }
}

impl fmt::Debug for GreenPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("GreenPool")
            .field("size", &state.size)
            .field("running", &state.running)
            .field("waiting", &state.slots.waiting())
            .finish()
    }
}
