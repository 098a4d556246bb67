//! Futures from green threads: [`block_on`] waits on a future the way a
//! green thread waits on a socket, parking only itself.

#[cfg(feature = "tokio")]
pub(crate) mod tokio_driver;
mod waker;

use std::future::{Future, IntoFuture};
use std::pin::pin;
use std::task::{Context, Poll};

use crate::hub::{self, RemoteCompletion};
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
    let hub = hub::current();
    let mut future = pin!(future.into_future());
    let local = Local::new();
    let mut waker = local.waker();
    let mut waiting: Option<Waiting> = None;
    loop {
        if let Some(shared) = local.shared() {
            shared.reset();
        }
        if let Poll::Ready(output) = future.as_mut().poll(&mut Context::from_waker(&waker)) {
            return output;
        }
        let shared = local.shared_or_new();
        if waiting.is_none() {
            waker = std::task::Waker::from(shared.clone());
            let (completion, target) = RemoteCompletion::new();
            shared.route_to(target);
            waiting = Some(Waiting::new(hub, completion));
        }
        if local.take_woken_in_poll() || shared.is_notified() {
            // Woken during its own poll: the others go first, as a tokio
            // task woken by itself goes to the back of the queue.
            hub.yield_now();
            continue;
        }
        while !shared.is_notified() {
            hub.park();
        }
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
