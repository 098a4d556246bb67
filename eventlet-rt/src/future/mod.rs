//! Futures from green threads: [`block_on`] waits on a future the way a
//! green thread waits on a socket, parking only itself.

#[cfg(feature = "tokio")]
pub(crate) mod tokio_driver;
mod waker;

use std::future::{Future, IntoFuture};
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};

use crate::hub::{self, RemoteCompletion, RemoteWaker};
use waker::Local;

/// Runs `future` to completion on the calling green thread and returns its
/// output; while it is pending, only this green thread waits.
///
/// The future is polled here, on the caller's stack. When it is pending the
/// green thread parks, and the hub runs the others; a wake-up from anywhere
/// resumes it: another green thread of this hub (straight into the run
/// queue), another hub, a plain OS thread or a tokio worker (through the
/// hub's inbox, which wakes its poller). Wake-ups that come while it is
/// already due to be polled again cost one atomic swap. Called from a
/// thread's main context, it runs the hub meanwhile, like any green blocking
/// call. The future needs neither `Send` nor `'static`: it may borrow from
/// the caller's stack and hold `Rc`s.
///
/// A kill or a [`with_timeout`](crate::with_timeout) that lands while the
/// future is pending drops it (cancelling whatever it was doing, as dropping
/// a future does in async code) and unwinds from here. A panic inside the
/// future's `poll` is the green thread's panic.
///
/// A future that wakes itself during its poll (a cooperative yield) is
/// polled again after the other runnable green threads had their turn.
///
/// With the cargo feature `tokio`, the calling thread's hub owns a tokio
/// `current_thread` runtime whose context is entered for all green code of
/// the thread (from the hub's creation, at the thread's first call into
/// `eventlet_rt`), and which the hub's loop drives: futures of tokio-bound
/// crates (tokio's sockets and timers, reqwest, tokio-postgres, sqlx) do
/// their I/O on this OS thread, and `tokio::spawn` from green code starts
/// tasks that run on this hub until they end. A task spawned so may not
/// block: `block_on` (or any green blocking call) from inside it panics, with
/// advice, instead of stalling the hub that runs it.
///
/// # Panics
/// With the feature `tokio`, when called from a tokio task that the hub runs
/// (see above) and the future is not ready at once.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use std::task::{Poll, Waker};
/// use std::time::Duration;
///
/// // A value a plain OS thread hands over, and the waker to call then.
/// let slot: Arc<Mutex<(Option<u32>, Option<Waker>)>> = Arc::default();
/// let producer = {
///     let slot = slot.clone();
///     std::thread::spawn(move || {
///         std::thread::sleep(Duration::from_millis(30));
///         let mut slot = slot.lock().unwrap();
///         slot.0 = Some(42);
///         if let Some(waker) = slot.1.take() {
///             waker.wake();
///         }
///     })
/// };
/// // Green threads keep running while the main context waits on the future.
/// let ticker = eventlet_rt::spawn(|| {
///     (0..3).for_each(|_| eventlet_rt::sleep(Duration::from_millis(1)));
///     "ticked"
/// });
/// let value = eventlet_rt::block_on(std::future::poll_fn(|cx| {
///     let mut slot = slot.lock().unwrap();
///     match slot.0.take() {
///         Some(value) => Poll::Ready(value),
///         None => {
///             slot.1 = Some(cx.waker().clone());
///             Poll::Pending
///         }
///     }
/// }));
/// assert_eq!(value, 42);
/// assert!(ticker.is_finished());
/// assert_eq!(ticker.wait().unwrap(), "ticked");
/// producer.join().unwrap();
/// ```
///
/// `block_on` of a future that is ready at once allocates nothing and
/// makes no system call.
///
/// ```
/// let borrowed = String::from("borrowed from the stack");
/// let length = eventlet_rt::block_on(async { borrowed.len() });
/// assert_eq!(length, 23);
/// ```
pub fn block_on<F: IntoFuture>(future: F) -> F::Output {
    let mut green = GreenThread {
        hub: hub::current(),
        waiting: None,
    };
    poll_until_ready(pin!(future.into_future()), &mut green)
}

/// What [`poll_until_ready`] needs from the one who waits: a route for
/// wake-ups from other threads, a yield and a park. A green thread of a hub
/// in `block_on`; a stand-in for the hub in the loom models.
trait Waiter {
    /// Registers for wake-ups from any thread, once, at the first pending
    /// poll: the [`RemoteWaker`] a kept waker routes its wake-ups through.
    fn route(&mut self) -> RemoteWaker;
    /// Lets the others run first (the future woke itself during its poll).
    fn yield_now(&self);
    /// Waits until the route's wake-up, or anything else, resumes it.
    fn park(&self);
}

/// `block_on`'s loop: poll, and while pending, park until a wake-up.
fn poll_until_ready<F: Future>(mut future: Pin<&mut F>, waiter: &mut impl Waiter) -> F::Output {
    let local = Local::new();
    let mut waker = local.waker();
    let mut routed = false;
    loop {
        if let Some(shared) = local.shared() {
            shared.reset();
        }
        if let Poll::Ready(output) = future.as_mut().poll(&mut Context::from_waker(&waker)) {
            return output;
        }
        let shared = local.shared_or_new();
        if !routed {
            waker = Waker::from(shared.clone());
            shared.route_to(waiter.route());
            routed = true;
        }
        if local.take_woken_in_poll() || shared.is_notified() {
            // Woken during its own poll: the others go first, as a tokio
            // task woken by itself goes to the back of the queue.
            waiter.yield_now();
            continue;
        }
        while !shared.is_notified() {
            waiter.park();
        }
    }
}

/// The calling green thread (or main context) of `block_on`, and its
/// registration as a waiter once its future is pending.
struct GreenThread {
    hub: &'static hub::Hub,
    waiting: Option<Waiting>,
}

impl Waiter for GreenThread {
    fn route(&mut self) -> RemoteWaker {
        let (completion, target) = RemoteCompletion::new();
        self.waiting = Some(Waiting::new(self.hub, completion));
        target
    }

    fn yield_now(&self) {
        self.hub.yield_now();
    }

    fn park(&self) {
        self.hub.park();
    }
}

/// The green thread's registration as a waiter while its future is pending,
/// for wake-ups and for the hub's count; both end with it.
struct Waiting {
    hub: &'static hub::Hub,
    _completion: RemoteCompletion,
}

impl Waiting {
    fn new(hub: &'static hub::Hub, completion: RemoteCompletion) -> Waiting {
        hub.futures_waiting_changed(1);
        Waiting {
            hub,
            _completion: completion,
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.hub.futures_waiting_changed(-1);
    }
}

/// The loom models of `block_on`'s waker protocol (`waker.rs`): wakers on
/// other threads against [`poll_until_ready`] itself, whose green thread
/// parks in a stand-in hub that waits in its "poller" (the inbox model's
/// loop) until the route's wake-up is posted. A lost wake-up leaves it
/// waiting for good, which loom reports as a deadlock.
#[cfg(all(test, loom))]
mod loom_models {
    use std::future::Future;
    use std::pin::{Pin, pin};
    use std::task::{Context, Poll, Waker};

    use loom::cell::UnsafeCell;

    use super::{Waiter, poll_until_ready};
    use crate::hub::{RemoteInbox, RemoteWaker, loom_hub_takes};
    use crate::sync::{self, Arc, Mutex, model};

    /// The remote wait the model's green thread registers.
    const ROUTE: (usize, u64) = (3, 7);

    /// The green thread's hub: its inbox, and how often `block_on` asked
    /// for a route.
    struct ModelHub {
        inbox: std::sync::Arc<RemoteInbox>,
        routes: usize,
    }

    impl ModelHub {
        fn new() -> ModelHub {
            ModelHub {
                inbox: std::sync::Arc::new(RemoteInbox::new(Default::default())),
                routes: 0,
            }
        }
    }

    impl Waiter for ModelHub {
        fn route(&mut self) -> RemoteWaker {
            self.routes += 1;
            RemoteWaker::for_model(ROUTE.0, ROUTE.1, self.inbox.clone())
        }

        fn yield_now(&self) {
            loom::thread::yield_now();
        }

        /// The hub runs its loop until the route's wake-up comes: a post
        /// left from an earlier round resumes it at once, as a real hub's
        /// spurious unpark would.
        fn park(&self) {
            loom_hub_takes(&self.inbox, false, |posted| posted.contains(&ROUTE));
        }
    }

    /// A count that other threads raise, and the waker of the future that
    /// waits for it to reach `goal` (kept: every raise wakes it).
    struct Counter {
        count: usize,
        waker: Option<Waker>,
    }

    fn counter() -> Arc<Mutex<Counter>> {
        Arc::new(Mutex::new(Counter {
            count: 0,
            waker: None,
        }))
    }

    /// Raises the count, then wakes outside the lock, as a channel does.
    fn raise(counter: &Mutex<Counter>) {
        let waker = {
            let mut counter = sync::lock(counter);
            counter.count += 1;
            counter.waker.clone()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Ready once the count reaches `goal`.
    fn reaches(counter: &Mutex<Counter>, goal: usize) -> impl Future<Output = usize> + '_ {
        std::future::poll_fn(move |cx| {
            let mut counter = sync::lock(counter);
            if counter.count >= goal {
                return Poll::Ready(counter.count);
            }
            if !counter
                .waker
                .as_ref()
                .is_some_and(|w| w.will_wake(cx.waker()))
            {
                counter.waker = Some(cx.waker().clone());
            }
            Poll::Pending
        })
    }

    #[test]
    fn loom_block_on_a_wake_from_another_thread_resumes_it() {
        model(|| {
            let counter = counter();
            let raiser = {
                let counter = counter.clone();
                loom::thread::spawn(move || raise(&counter))
            };
            let mut hub = ModelHub::new();
            assert_eq!(poll_until_ready(pin!(reaches(&counter, 1)), &mut hub), 1);
            assert!(hub.routes <= 1, "one route per block_on");
            raiser.join().unwrap();
            // Its `block_on` has ended: a kept waker's wake-up is dropped
            // without a post.
            hub.inbox.take();
            let kept = sync::lock(&counter).waker.clone();
            if let Some(waker) = kept {
                waker.wake();
            }
            assert!(
                hub.inbox.take().is_none(),
                "a wake-up after the end was posted"
            );
        });
    }

    #[test]
    fn loom_block_on_coalesced_wake_ups_from_two_threads_lose_none() {
        model(|| {
            let counter = counter();
            let raisers: Vec<_> = (0..2)
                .map(|_| {
                    let counter = counter.clone();
                    loom::thread::spawn(move || raise(&counter))
                })
                .collect();
            let mut hub = ModelHub::new();
            assert_eq!(poll_until_ready(pin!(reaches(&counter, 2)), &mut hub), 2);
            raisers.into_iter().for_each(|r| r.join().unwrap());
        });
    }

    /// A future that trusts its wake-up: pending at its first poll, it reads
    /// at its second what the waker's thread wrote before waking, with no
    /// lock of its own. In this model the only wake-up is that thread's, so
    /// `block_on` polls again only after it, and loom checks that the write
    /// happens before the read (as a wake-up through tokio's wakers does).
    struct TrustsTheWake<'a> {
        value: &'a UnsafeCell<u32>,
        waker: &'a Mutex<Option<Waker>>,
        polled: bool,
    }

    impl Future for TrustsTheWake<'_> {
        type Output = u32;

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
            if std::mem::replace(&mut self.polled, true) {
                // SAFETY: written before the wake-up this poll follows, and
                // never again (loom checks the order).
                return Poll::Ready(self.value.with(|value| unsafe { *value }));
            }
            *sync::lock(self.waker) = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    #[test]
    fn loom_block_on_a_poll_sees_what_its_waker_wrote_before_waking() {
        model(|| {
            let shared = Arc::new((UnsafeCell::new(0), Mutex::new(None::<Waker>)));
            let writer = {
                let shared = shared.clone();
                loom::thread::spawn(move || {
                    let waker = loop {
                        if let Some(waker) = sync::lock(&shared.1).take() {
                            break waker;
                        }
                        loom::thread::yield_now();
                    };
                    // SAFETY: the future reads only after this wake-up.
                    shared.0.with_mut(|value| unsafe { *value = 42 });
                    waker.wake();
                })
            };
            let future = TrustsTheWake {
                value: &shared.0,
                waker: &shared.1,
                polled: false,
            };
            assert_eq!(poll_until_ready(pin!(future), &mut ModelHub::new()), 42);
            writer.join().unwrap();
        });
    }
}
