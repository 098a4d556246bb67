//! A value handed once from one OS thread to another: the outcome of a
//! remote green thread, the answer to a join request.

use std::task::{Poll, Waker};

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
        sync::lock(&self.state).done
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
        let mut state = sync::lock(&self.state);
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

    /// A second promise of the same outcome, kept off the green thread's
    /// stack: dropped, it settles the outcome as `Killed` if nothing else
    /// did. Teardown can abandon a green thread, stack and all, with the
    /// first promise on it.
    pub(crate) fn backstop(&self) -> Backstop
    where
        T: Send + 'static,
    {
        Backstop {
            _promise: Box::new(Promise {
                shared: self.shared.clone(),
            }),
        }
    }

    pub(crate) fn set(self, outcome: Result<T, GreenError>) {
        self.store(outcome);
    }

    fn store(&self, outcome: Result<T, GreenError>) {
        let mut state = sync::lock(&self.shared.state);
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

/// A [`Promise`] of any type, held only to be dropped: see [`Promise::backstop`].
pub(crate) struct Backstop {
    _promise: Box<dyn Send>,
}

/// The loom models of the outcome slot: set, dropped unset, or backed by its
/// backstop, on another thread while the waiter parks; and its future's
/// waker slot (`RemoteJoin` polled by a tokio task or a `block_on`), with a
/// waker that unparks the polling thread.
#[cfg(all(test, loom))]
mod loom_models {
    use std::task::{Poll, Wake, Waker};

    use super::{Oneshot, Promise};
    use crate::GreenError;
    use crate::sync::model;

    fn outcome(result: Result<u32, GreenError>) -> Result<u32, bool> {
        result.map_err(|error| error.is_killed())
    }

    #[test]
    fn loom_oneshot_the_waiter_gets_the_value_set_on_another_thread() {
        model(|| {
            let (promise, slot) = Promise::new();
            let setter = loom::thread::spawn(move || promise.set(Ok(7)));
            assert_eq!(outcome(slot.take()), Ok(7));
            assert!(slot.is_done());
            setter.join().unwrap();
        });
    }

    #[test]
    fn loom_oneshot_a_promise_dropped_unset_says_killed() {
        model(|| {
            let (promise, slot) = Promise::<u32>::new();
            let dropper = loom::thread::spawn(move || drop(promise));
            assert_eq!(outcome(slot.take()), Err(true));
            dropper.join().unwrap();
        });
    }

    #[test]
    fn loom_oneshot_a_promise_and_its_backstop_settle_it_once() {
        model(|| {
            let (promise, slot) = Promise::new();
            let backstop = promise.backstop();
            let setter = loom::thread::spawn(move || promise.set(Ok(3)));
            let settler = loom::thread::spawn(move || drop(backstop));
            // Whichever comes first settles it; each is a whole outcome.
            let got = outcome(slot.take());
            assert!(got == Ok(3) || got == Err(true), "{got:?}");
            setter.join().unwrap();
            settler.join().unwrap();
            assert!(slot.is_done());
        });
    }

    /// Unparks the polling thread, or, for a task that moved on, nothing.
    struct Unpark(Option<loom::thread::Thread>);

    impl Unpark {
        fn waker(unparks: bool) -> Waker {
            Waker::from(std::sync::Arc::new(Unpark(
                unparks.then(loom::thread::current),
            )))
        }
    }

    impl Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.wake_by_ref();
        }

        fn wake_by_ref(self: &std::sync::Arc<Self>) {
            if let Some(thread) = &self.0 {
                thread.unpark();
            }
        }
    }

    /// Polls with `waker` until ready, parking the thread between polls.
    fn poll_until_ready(
        slot: &Oneshot<Result<u32, GreenError>>,
        waker: &Waker,
    ) -> Result<u32, bool> {
        loop {
            match slot.poll_take(waker) {
                Poll::Ready(result) => return outcome(result),
                Poll::Pending => loom::thread::park(),
            }
        }
    }

    #[test]
    fn loom_oneshot_a_polled_future_is_woken_by_the_set_on_another_thread() {
        model(|| {
            let (promise, slot) = Promise::new();
            let setter = loom::thread::spawn(move || promise.set(Ok(5)));
            assert_eq!(poll_until_ready(&slot, &Unpark::waker(true)), Ok(5));
            setter.join().unwrap();
        });
    }

    #[test]
    fn loom_oneshot_the_last_waker_given_is_the_one_woken() {
        model(|| {
            let (promise, slot) = Promise::<u32>::new();
            let dropper = loom::thread::spawn(move || drop(promise));
            // Polled once by a task that then moved on (its waker does
            // nothing), then by one whose waker unparks this thread.
            let got = match slot.poll_take(&Unpark::waker(false)) {
                Poll::Ready(result) => outcome(result),
                Poll::Pending => poll_until_ready(&slot, &Unpark::waker(true)),
            };
            assert_eq!(got, Err(true));
            dropper.join().unwrap();
        });
    }
}
