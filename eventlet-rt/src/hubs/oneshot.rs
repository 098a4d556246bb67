//! A value handed once from one OS thread to another: the outcome of a
//! remote green thread, the answer to a join request.

use crate::GreenError;
use crate::hub::{WaitQueue, wait_on};
use crate::sync::{self, Arc, Mutex};

/// Where the value lands; any number of threads may wait for it.
pub(crate) struct Oneshot<T> {
    state: Mutex<State<T>>,
}

struct State<T> {
    value: Option<T>,
    done: bool,
    waiters: WaitQueue,
}

impl<T> Oneshot<T> {
    fn new() -> Oneshot<T> {
        Oneshot {
            state: Mutex::new(State {
                value: None,
                done: false,
                waiters: WaitQueue::new(),
            }),
        }
    }

    /// True once the value has been set (taken or not).
    pub(crate) fn is_done(&self) -> bool {
        sync::lock(&self.state).done
    }

    /// Blocks the caller (its green thread only, inside a hub) until the
    /// value is there, and takes it. One caller gets it.
    pub(crate) fn take(&self) -> T {
        wait_on(&self.state, |s| &mut s.waiters, None, |s| s.value.take())
            .expect("eventlet-rt: a wait without a deadline ended without its value")
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
        let mut state = sync::lock(&self.shared.state);
        if !state.done {
            state.value = Some(outcome);
            state.done = true;
            state.waiters.wake_all();
        }
    }
}

impl<T> Drop for Promise<T> {
    fn drop(&mut self) {
        self.store(Err(GreenError::Killed));
    }
}
