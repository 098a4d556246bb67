//! A value handed once from one OS thread to another: the outcome of a
//! remote green thread, the answer to a join request.

use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

use crate::GreenError;
use crate::hub::{WaitQueue, lock_unpoisoned, wait_on};

/// Where the value lands; any number of threads may wait for it.
pub(crate) struct Oneshot<T> {
    state: Mutex<State<T>>,
}

struct State<T> {
    value: Option<T>,
    done: bool,
    waiters: WaitQueue,
    /// The waker of a future waiting for the value (`RemoteGreenThread` awaited).
    future: Option<Waker>,
}

impl<T> Oneshot<T> {
    fn new() -> Oneshot<T> {
        Oneshot {
            state: Mutex::new(State {
                value: None,
                done: false,
                waiters: WaitQueue::new(),
                future: None,
            }),
        }
    }

    /// True once the value has been set (taken or not).
    pub(crate) fn is_done(&self) -> bool {
        lock_unpoisoned(&self.state).done
    }

    /// Blocks the caller (its green thread only, inside a hub) until the
    /// value is there, and takes it. One caller gets it.
    pub(crate) fn take(&self) -> T {
        wait_on(&self.state, |s| &mut s.waiters, None, |s| s.value.take())
            .expect("eventlet-rt: a wait without a deadline ended without its value")
    }

    /// Takes the value if it is there; otherwise `waker` is woken when it
    /// comes (the last waker given wins, as futures expect).
    pub(crate) fn poll_take(&self, waker: &Waker) -> Poll<T> {
        let mut state = lock_unpoisoned(&self.state);
        if let Some(value) = state.value.take() {
            return Poll::Ready(value);
        }
        if !state.future.as_ref().is_some_and(|w| w.will_wake(waker)) {
            state.future = Some(waker.clone());
        }
        Poll::Pending
    }
}

/// The sending side: sets an outcome once; dropped without one, it sets
/// [`GreenError::Killed`] (the hub went away before the work could end).
pub(crate) struct Promise<T> {
    shared: Arc<Oneshot<Result<T, GreenError>>>,
}

impl<T> Promise<T> {
    /// A promise and the place its outcome lands.
    pub(crate) fn new() -> (Promise<T>, Arc<Oneshot<Result<T, GreenError>>>) {
        let shared = Arc::new(Oneshot::new());
        (
            Promise {
                shared: shared.clone(),
            },
            shared,
        )
    }

    pub(crate) fn set(self, outcome: Result<T, GreenError>) {
        self.store(outcome);
    }

    fn store(&self, outcome: Result<T, GreenError>) {
        let mut state = lock_unpoisoned(&self.shared.state);
        if state.done {
            return;
        }
        state.value = Some(outcome);
        state.done = true;
        state.waiters.wake_all();
        let future = state.future.take();
        drop(state);
        // Outside the lock: a waker may run code (a tokio task's scheduling).
        if let Some(future) = future {
            future.wake();
        }
    }
}

impl<T> Drop for Promise<T> {
    fn drop(&mut self) {
        self.store(Err(GreenError::Killed));
    }
}
