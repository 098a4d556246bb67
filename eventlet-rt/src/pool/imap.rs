//! `GreenPool::imap`: a concurrent, ordered, streaming `map`.
//!
//! Pool threads ("workers") pull items from the input one at a time, call
//! `f`, and store each outcome at its item's index in a reorder window that
//! the iterating code drains in input order. The window holds at most
//! `size` items (computed, running or waiting to be yielded), so memory stays
//! bounded and at most `size` calls are ever in flight.
//!
//! Workers are started lazily: the iterator starts one, lets it run until it
//! blocks, and starts another only while the result it needs is not ready
//! and every worker is blocked. A cheap `f` that never blocks is thus run by
//! one worker a whole window at a time (no green thread per item), and an
//! `f` that blocks (I/O, sleep) gets up to `size` workers.

use std::any::Any;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::panic;
use std::rc::Rc;

use super::GreenPool;
use crate::hub::catch_user_panic;
use crate::waiters::{self, WaitList};

/// The iterator of [`GreenPool::imap`]: results in input order.
///
/// `next` blocks the calling green thread until the next result is ready. A
/// panic of `f` (or of the input iterator) is re-raised by `next` with its
/// payload, at the position of its item; the iterator and the pool stay
/// usable. Dropping the iterator stops pulling input; calls already running
/// finish in the pool.
///
/// ```
/// use std::panic::{catch_unwind, AssertUnwindSafe};
///
/// let pool = eventlet_rt::GreenPool::new(4);
/// let mut results = pool.imap(|n: u32| if n == 2 { panic!("two") } else { n * 10 }, 0..4);
/// assert_eq!(results.next(), Some(0));
/// assert_eq!(results.next(), Some(10));
/// assert!(catch_unwind(AssertUnwindSafe(|| results.next())).is_err());
/// assert_eq!(results.next(), Some(30));
/// assert_eq!(results.next(), None);
/// ```
pub struct Imap<I, F, T> {
    shared: Rc<Shared<I, F, T>>,
    pool: GreenPool,
}

struct Shared<I, F, T> {
    f: F,
    state: RefCell<State<I, T>>,
}

struct State<I, T> {
    /// `None` while a worker pulls the next item, and once the input ended.
    input: Option<I>,
    exhausted: bool,
    /// Index of the item whose outcome is `window[0]`.
    yielded: usize,
    window: VecDeque<Outcome<T>>,
    /// Workers that have started and not finished.
    workers: usize,
    /// The iterating green thread, while it waits for `window[0]`.
    consumer: WaitList<()>,
    /// The iterator was dropped: workers stop pulling.
    abandoned: bool,
}

enum Outcome<T> {
    Pending,
    Done(T),
    Panicked(Box<dyn Any + Send>),
    /// The worker computing it was killed (the hub shutting down).
    Killed,
}

impl GreenPool {
    /// Calls `f` on every item of `items` in the pool's green threads, and
    /// iterates over the results in input order.
    ///
    /// At most [`size`](GreenPool::size) calls run at once, and the iterator
    /// pulls input lazily, about `size` items ahead of the result it yields:
    /// it streams, so an endless input works. A panic of `f` is re-raised by
    /// the iterator's `next` at its item's position; see [`Imap`].
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = eventlet_rt::GreenPool::new(8);
    /// let lengths: Vec<usize> = pool
    ///     .imap(
    ///         |word: &str| {
    ///             eventlet_rt::sleep(Duration::from_millis(1)); // stands for I/O
    ///             word.len()
    ///         },
    ///         ["green", "threads", "in", "rust"],
    ///     )
    ///     .collect();
    /// assert_eq!(lengths, [5, 7, 2, 4]);
    /// ```
    pub fn imap<I, F, T>(&self, f: F, items: I) -> Imap<I::IntoIter, F, T>
    where
        I: IntoIterator,
        I::IntoIter: 'static,
        F: Fn(I::Item) -> T + 'static,
        T: 'static,
    {
        let state = State {
            input: Some(items.into_iter()),
            exhausted: false,
            yielded: 0,
            window: VecDeque::new(),
            workers: 0,
            consumer: WaitList::new(),
            abandoned: false,
        };
        Imap {
            shared: Rc::new(Shared {
                f,
                state: RefCell::new(state),
            }),
            pool: self.clone(),
        }
    }
}

impl<I, F, T> Iterator for Imap<I, F, T>
where
    I: Iterator + 'static,
    F: Fn(I::Item) -> T + 'static,
    T: 'static,
{
    type Item = T;

    fn next(&mut self) -> Option<T> {
        loop {
            let size = self.pool.size();
            let mut state = self.shared.state.borrow_mut();
            if !matches!(state.window.front(), None | Some(Outcome::Pending)) {
                let outcome = state.window.pop_front();
                state.yielded += 1;
                // Keep one worker busy while the caller handles this result.
                let restart = state.workers == 0 && state.has_work(size) && self.pool.free() > 0;
                drop(state);
                if restart {
                    self.start_worker();
                }
                return outcome.map(Outcome::into_value);
            }
            if state.window.is_empty() && state.exhausted {
                return None;
            }
            // Another worker only when one can start now (or none runs at
            // all): waiting for a slot would hold back ready results.
            let start = state.has_work(size)
                && state.workers < size
                && (state.workers == 0 || self.pool.free() > 0);
            drop(state);
            if start {
                self.start_worker();
                // Let it run until it blocks (or fills the window) before
                // deciding whether another worker is needed.
                crate::yield_now();
            } else {
                waiters::wait(
                    &self.shared.state,
                    |state| &mut state.consumer,
                    None,
                    None,
                    |_, ()| {},
                );
            }
        }
    }
}

impl<I, F, T> Imap<I, F, T>
where
    I: Iterator + 'static,
    F: Fn(I::Item) -> T + 'static,
    T: 'static,
{
    fn start_worker(&self) {
        let worker = Worker::new(self.shared.clone());
        let pool = self.pool.clone();
        self.pool.spawn_n(move || worker.work(&pool));
    }
}

impl<I, T> State<I, T> {
    /// Input is there to pull and the window has room for it.
    fn has_work(&self, size: usize) -> bool {
        self.input.is_some() && self.window.len() < size
    }
}

/// A pool thread that pulls items and computes their outcomes until the
/// input ends, the window is full or the iterator is gone. It counts as a
/// worker from its creation until it is dropped, run or not.
struct Worker<I, F, T> {
    shared: Rc<Shared<I, F, T>>,
}

impl<I, F, T> Worker<I, F, T>
where
    I: Iterator,
    F: Fn(I::Item) -> T,
{
    fn new(shared: Rc<Shared<I, F, T>>) -> Worker<I, F, T> {
        shared.state.borrow_mut().workers += 1;
        Worker { shared }
    }

    fn work(self, pool: &GreenPool) {
        let shared = &*self.shared;
        loop {
            let size = pool.size();
            let (index, mut input) = {
                let mut state = shared.state.borrow_mut();
                if state.abandoned || !state.has_work(size) {
                    return;
                }
                let Some(input) = state.input.take() else {
                    return;
                };
                state.window.push_back(Outcome::Pending);
                (state.yielded + state.window.len() - 1, input)
            };
            let mut claim = Claim {
                shared,
                index,
                pulling: true,
            };
            let item = match catch_user_panic(|| input.next()) {
                Ok(Some(item)) => item,
                Ok(None) => return claim.input_ended(),
                Err(payload) => return claim.settle(Outcome::Panicked(payload)),
            };
            shared.state.borrow_mut().input = Some(input);
            claim.pulling = false;
            let outcome = match catch_user_panic(|| (shared.f)(item)) {
                Ok(value) => Outcome::Done(value),
                Err(payload) => Outcome::Panicked(payload),
            };
            claim.settle(outcome);
        }
    }
}

impl<I, F, T> Drop for Worker<I, F, T> {
    fn drop(&mut self) {
        let mut state = self.shared.state.borrow_mut();
        state.workers -= 1;
        let _ = state.consumer.wake_front(());
    }
}

/// A worker's claim on one item's slot in the window. Settled with the
/// outcome; if the worker unwinds first, the slot reads `Killed` (and an
/// input lost mid-pull ends the input).
struct Claim<'a, I, F, T> {
    shared: &'a Shared<I, F, T>,
    index: usize,
    pulling: bool,
}

impl<I, F, T> Claim<'_, I, F, T> {
    fn settle(self, outcome: Outcome<T>) {
        self.store(outcome);
        std::mem::forget(self);
    }

    /// The input has no more items: the slot claimed for one goes away.
    fn input_ended(self) {
        let mut state = self.shared.state.borrow_mut();
        state.exhausted = true;
        if !state.abandoned {
            state.window.pop_back();
        }
        drop(state);
        std::mem::forget(self);
    }

    fn store(&self, outcome: Outcome<T>) {
        let mut state = self.shared.state.borrow_mut();
        if self.pulling {
            state.exhausted = true; // the input panicked or unwound: it is gone
        }
        if state.abandoned {
            return;
        }
        let position = self.index - state.yielded;
        state.window[position] = outcome;
        if position == 0 {
            let _ = state.consumer.wake_front(());
        }
    }
}

impl<I, F, T> Drop for Claim<'_, I, F, T> {
    fn drop(&mut self) {
        self.store(Outcome::Killed);
    }
}

impl<T> Outcome<T> {
    fn into_value(self) -> T {
        match self {
            Outcome::Done(value) => value,
            Outcome::Panicked(payload) => panic::resume_unwind(payload),
            Outcome::Killed => {
                panic!("GreenPool::imap: the green thread computing this item was killed")
            }
            Outcome::Pending => unreachable!("only ready outcomes are yielded"),
        }
    }
}

impl<I, F, T> Drop for Imap<I, F, T> {
    fn drop(&mut self) {
        let (window, input) = {
            let mut state = self.shared.state.borrow_mut();
            state.abandoned = true;
            (std::mem::take(&mut state.window), state.input.take())
        };
        drop((window, input)); // after the borrow: they may hold user values
    }
}

impl<I, F, T> fmt::Debug for Imap<I, F, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.state.borrow();
        f.debug_struct("Imap")
            .field("yielded", &state.yielded)
            .field("in_window", &state.window.len())
            .field("workers", &state.workers)
            .field("input_ended", &state.exhausted)
            .finish()
    }
}
