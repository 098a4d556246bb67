//! `HubHandle`, the `Send` way into one hub of [`Hubs`](super::Hubs), and
//! `RemoteGreenThread`, the `Send` handle of a green thread started there.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::inbox::{Inbox, Job};
use super::oneshot::{Oneshot, Promise};
use crate::GreenError;
use crate::sync;
use crate::task::Unwind;

/// A handle to one hub of [`Hubs`](super::Hubs): starts green threads on it
/// from any OS thread. Cheap to clone, `Send + Sync`.
///
/// ```
/// let hubs = eventlet_rt::hubs::Hubs::new(2)?;
/// let second = hubs.handle(1);
/// let name = std::thread::spawn(move || {
///     second
///         .spawn(|| std::thread::current().name().map(str::to_owned))
///         .wait()
/// });
/// assert_eq!(name.join().unwrap().unwrap().as_deref(), Some("eventlet-hub-1"));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct HubHandle {
    pub(super) inbox: Arc<Inbox>,
    pub(super) index: usize,
}

impl HubHandle {
    /// Starts `f` as a green thread on this hub and returns its handle.
    ///
    /// `f` and its result cross OS threads, hence `Send`; inside, `f` is
    /// an ordinary green thread of that hub: it can spawn local green
    /// threads, share `Rc`s with them, block on green sockets and queues.
    /// The hub starts it the next time it runs its loop (at once when it is
    /// idle). If the hub is gone (its [`Hubs`](super::Hubs) was dropped),
    /// `f` is dropped and the handle's `wait` gives `Err(GreenError::Killed)`.
    ///
    /// ```
    /// use std::rc::Rc;
    /// use std::cell::Cell;
    ///
    /// let hubs = eventlet_rt::hubs::Hubs::new(1)?;
    /// let sum = hubs.handle(0).spawn(|| {
    ///     // Local green threads sharing an `Rc`: all on hub 0.
    ///     let total = Rc::new(Cell::new(0));
    ///     let adders: Vec<_> = (1..=4)
    ///         .map(|n| {
    ///             let total = total.clone();
    ///             eventlet_rt::spawn(move || total.set(total.get() + n))
    ///         })
    ///         .collect();
    ///     adders.into_iter().for_each(|a| a.wait().unwrap());
    ///     total.get()
    /// });
    /// assert_eq!(sum.wait().unwrap(), 10);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn spawn<F, T>(&self, f: F) -> RemoteGreenThread<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (promise, outcome) = Promise::new();
        let id = self.inbox.next_id();
        let backstop = promise.backstop();
        let body = Box::new(move || run_body(f, promise));
        self.inbox.post(Job::Spawn { id, body, backstop });
        RemoteGreenThread {
            outcome,
            id,
            inbox: self.inbox.clone(),
        }
    }

    /// This hub's position in its [`Hubs`](super::Hubs).
    ///
    /// ```
    /// let hubs = eventlet_rt::hubs::Hubs::new(2)?;
    /// assert_eq!(hubs.handle(1).index(), 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn index(&self) -> usize {
        self.index
    }
}

/// Runs a remote green thread's body and hands its outcome to `promise`.
fn run_body<F, T>(f: F, promise: Promise<T>)
where
    F: FnOnce() -> T,
{
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => promise.set(Ok(value)),
        Err(payload) if payload.is::<Unwind>() || payload.is::<generator::Error>() => {
            // A kill (or the generator's own cancel): the runtime must see
            // its unwind reach the bottom of the stack.
            promise.set(Err(GreenError::Killed));
            panic::resume_unwind(payload);
        }
        Err(payload) => promise.set(Err(GreenError::Panicked(payload))),
    }
}

/// The handle of a green thread started with [`HubHandle::spawn`]: `Send`,
/// so any OS thread or green thread can wait for it or kill it.
///
/// Dropping the handle does not stop the green thread.
///
/// Async code `.await`s it ([`IntoFuture`], output `Result<T, GreenError>`):
/// a tokio (or axum) service hands blocking-style work to the hubs and
/// awaits its outcome without blocking a worker.
///
/// ```
/// let hubs = eventlet_rt::hubs::Hubs::new(1)?;
/// let hub = hubs.handle(0);
/// let runtime = tokio::runtime::Builder::new_current_thread().build()?;
/// let answer = runtime.block_on(async move {
///     let green = hub.spawn(|| {
///         eventlet_rt::sleep(std::time::Duration::from_millis(10)); // green, on the hub
///         6 * 7
///     });
///     green.await
/// });
/// assert_eq!(answer.unwrap(), 42);
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// ```
/// use std::time::Duration;
///
/// let hubs = eventlet_rt::hubs::Hubs::new(1)?;
/// let sleeper = hubs.handle(0).spawn(|| eventlet_rt::sleep(Duration::from_secs(60)));
/// assert!(!sleeper.is_finished());
/// sleeper.kill();
/// assert!(sleeper.wait().unwrap_err().is_killed());
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct RemoteGreenThread<T> {
    outcome: sync::Arc<Oneshot<Result<T, GreenError>>>,
    id: u64,
    inbox: Arc<Inbox>,
}

impl<T> RemoteGreenThread<T> {
    /// Waits until the green thread ends and gives its outcome, like
    /// [`GreenThread::wait`](crate::GreenThread::wait).
    ///
    /// Called in a green thread (or the main context of a thread with a
    /// hub), it parks only that green thread: its hub runs the others
    /// meanwhile, and the remote hub wakes it through its poller. Called on
    /// a plain OS thread, it blocks the thread.
    ///
    /// ```
    /// let hubs = eventlet_rt::hubs::Hubs::new(1)?;
    /// let remote = hubs.handle(0).spawn(|| -> u32 { panic!("on the hub") });
    /// // A local green thread keeps running while the main context waits.
    /// let local = eventlet_rt::spawn(|| 7);
    /// assert_eq!(remote.wait().unwrap_err().panic_message(), Some("on the hub"));
    /// assert_eq!(local.wait().unwrap(), 7);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn wait(self) -> Result<T, GreenError> {
        self.outcome.take()
    }

    /// Kills the green thread on its hub, as
    /// [`GreenThread::kill`](crate::GreenThread::kill) would there: it
    /// never runs if it has not started, and unwinds from its blocking
    /// point otherwise. The kill is posted: it lands when that hub next
    /// runs its loop, which a green thread that never yields delays.
    ///
    /// ```
    /// let hubs = eventlet_rt::hubs::Hubs::new(1)?;
    /// let (tx, rx) = eventlet_rt::green::mpsc::channel::<()>();
    /// let waiter = hubs.handle(0).spawn(move || rx.recv());
    /// waiter.kill();
    /// assert!(waiter.wait().unwrap_err().is_killed());
    /// drop(tx);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn kill(&self) {
        if !self.is_finished() {
            self.inbox.post(Job::Kill(self.id));
        }
    }

    /// True once the green thread has ended (returned, panicked or was killed).
    ///
    /// ```
    /// let hubs = eventlet_rt::hubs::Hubs::new(1)?;
    /// let quick = hubs.handle(0).spawn(|| 1);
    /// hubs.join();
    /// assert!(quick.is_finished());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_finished(&self) -> bool {
        self.outcome.is_done()
    }
}

impl<T> IntoFuture for RemoteGreenThread<T> {
    type Output = Result<T, GreenError>;
    type IntoFuture = RemoteJoin<T>;

    /// The outcome as a future. Awaiting consumes the handle: call
    /// [`kill`](RemoteGreenThread::kill) before, if at all.
    fn into_future(self) -> RemoteJoin<T> {
        RemoteJoin {
            outcome: self.outcome,
        }
    }
}

/// The outcome of a [`RemoteGreenThread`] as a future: what `.await` on the
/// handle waits for. Polling never blocks; the remote hub wakes the task
/// when the green thread ends.
///
/// ```
/// let hubs = eventlet_rt::hubs::Hubs::new(1)?;
/// let remote = hubs.handle(0).spawn(|| -> u32 { panic!("on the hub") });
/// let join: eventlet_rt::hubs::RemoteJoin<u32> = remote.into_future();
/// // From green code too: `block_on` parks only the calling green thread.
/// let outcome = eventlet_rt::block_on(join);
/// assert_eq!(outcome.unwrap_err().panic_message(), Some("on the hub"));
/// # use std::future::IntoFuture;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct RemoteJoin<T> {
    outcome: sync::Arc<Oneshot<Result<T, GreenError>>>,
}

impl<T> Future for RemoteJoin<T> {
    type Output = Result<T, GreenError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.outcome.poll_take(cx.waker())
    }
}

impl<T> fmt::Debug for RemoteJoin<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteJoin")
            .field("finished", &self.outcome.is_done())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for HubHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubHandle")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for RemoteGreenThread<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteGreenThread")
            .field("finished", &self.is_finished())
            .finish_non_exhaustive()
    }
}
