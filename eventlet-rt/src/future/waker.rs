//! The waker of one `block_on`: wakes its green thread from any OS thread,
//! coalesces repeated wake-ups into one, and costs nothing until a future
//! keeps it.
//!
//! A future is polled with a waker that lives on `block_on`'s stack: a wake
//! through the borrowed waker during the poll only raises a flag there, so a
//! future that is ready at once allocates nothing. The first clone creates the
//! [`Shared`] state (one `Arc` per `block_on`), whose waker outlives the poll.
//!
//! # No lost wake-up
//! Whoever wakes stores `notified` (a swap: only the first wake-up since the
//! last poll goes on to the hub), then routes it to the green thread through
//! its hub ([`RemoteWaker`]: an unpark on the same thread, an inbox post from
//! any other). `block_on` swaps `notified` back to false *before* each poll
//! and parks only while it still reads false after the poll. So a wake-up
//! that comes before the reset is seen by the poll that follows it (the swap
//! is an acquire of the waker's release), and one that comes after the reset
//! is either read by the check (no park) or routed to the parked green thread
//! (the post or unpark follows the store). The route is registered lazily: a
//! waker that finds none yet (`target` unset) leaves the wake-up in
//! `notified`, and `block_on` sets `target` before it reads `notified`, with
//! a `SeqCst` fence on both sides between the store and the load (Dekker's
//! pattern): one of the two sees the other.
//!
//! The atomics and the `OnceLock` come from [`crate::sync`], so the loom
//! models (in `future/mod.rs`) run this code; the `Arc` is std's, which
//! [`Wake`] needs.

use std::sync::Arc;
use std::task::{RawWaker, RawWakerVTable, Wake, Waker};

use crate::hub::RemoteWaker;
use crate::sync::OnceLock;
use crate::sync::atomic::{AtomicBool, Ordering, fence};

/// The state a kept waker shares with its `block_on`.
pub(super) struct Shared {
    /// A wake-up came since `block_on` last reset it (before its last poll).
    notified: AtomicBool,
    /// The green thread's remote wait, set by `block_on` once it must park.
    target: OnceLock<RemoteWaker>,
}

impl Shared {
    fn new() -> Shared {
        Shared {
            notified: AtomicBool::new(false),
            target: OnceLock::new(),
        }
    }

    /// Takes the wake-ups that came so far (before a poll).
    pub(super) fn reset(&self) -> bool {
        self.notified.swap(false, Ordering::AcqRel)
    }

    /// True when a wake-up came since the last [`Shared::reset`].
    pub(super) fn is_notified(&self) -> bool {
        self.notified.load(Ordering::SeqCst)
    }

    /// Gives the wake-ups a way to the green thread; `block_on` then reads
    /// [`Shared::is_notified`] before it parks.
    pub(super) fn route_to(&self, target: RemoteWaker) {
        if self.target.set(target).is_ok() {
            fence(Ordering::SeqCst);
        }
    }

    /// From now on every wake-up is dropped at once (`block_on` ended).
    pub(super) fn close(&self) {
        self.notified.store(true, Ordering::Release);
    }

    fn notify(&self) {
        if self.notified.swap(true, Ordering::SeqCst) {
            return; // already notified: `block_on` polls again anyway
        }
        if let Some(target) = self.target.get() {
            return target.wake_by_ref();
        }
        fence(Ordering::SeqCst);
        if let Some(target) = self.target.get() {
            target.wake_by_ref();
        }
    }
}

impl Wake for Shared {
    fn wake(self: Arc<Self>) {
        self.notify();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.notify();
    }
}

/// The per-`block_on` state on its stack, behind the borrowed waker.
pub(super) struct Local {
    /// Woken through the borrowed waker during the current poll.
    woken_in_poll: AtomicBool,
    shared: OnceLock<Arc<Shared>>,
}

impl Local {
    pub(super) fn new() -> Local {
        Local {
            woken_in_poll: AtomicBool::new(false),
            shared: OnceLock::new(),
        }
    }

    /// The waker to poll with: the borrowed one until a future kept a
    /// clone, then the kept one (so futures that compare wakers with
    /// `will_wake` keep theirs).
    pub(super) fn waker(&self) -> Waker {
        match self.shared.get() {
            Some(shared) => Waker::from(shared.clone()),
            // SAFETY: the vtable's functions treat the data pointer as a
            // `&Local`; `block_on` keeps this `Local` in place (on its
            // stack, never moved: it is borrowed) for as long as any waker
            // built here exists, because it drops the waker after each poll
            // and `clone` hands out `Arc` wakers that do not point here.
            None => unsafe {
                Waker::from_raw(RawWaker::new(
                    (self as *const Local).cast(),
                    &BORROWED_VTABLE,
                ))
            },
        }
    }

    /// The shared state, created by the first clone of the borrowed waker.
    pub(super) fn shared(&self) -> Option<&Arc<Shared>> {
        self.shared.get()
    }

    /// The shared state, created now if no future kept a waker yet.
    pub(super) fn shared_or_new(&self) -> &Arc<Shared> {
        self.shared.get_or_init(|| Arc::new(Shared::new()))
    }

    /// Takes the wake-ups made through the borrowed waker during the poll.
    pub(super) fn take_woken_in_poll(&self) -> bool {
        self.woken_in_poll.swap(false, Ordering::Acquire)
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.get() {
            shared.close();
        }
    }
}

static BORROWED_VTABLE: RawWakerVTable =
    RawWakerVTable::new(clone_borrowed, wake_borrowed, wake_borrowed, drop_borrowed);

/// # Safety
/// `data` is the `&Local` of a live `block_on` (see [`Local::waker`]).
unsafe fn clone_borrowed(data: *const ()) -> RawWaker {
    // SAFETY: by this function's contract.
    let local = unsafe { &*data.cast::<Local>() };
    let waker = std::mem::ManuallyDrop::new(Waker::from(local.shared_or_new().clone()));
    RawWaker::new(waker.data(), waker.vtable())
}

/// # Safety
/// As [`clone_borrowed`]. The borrowed waker is never owned by anyone (its
/// clones are `Arc` wakers), so the by-value `wake` only comes here through
/// a waker built from the borrowed one's parts, and acts as `wake_by_ref`.
unsafe fn wake_borrowed(data: *const ()) {
    // SAFETY: by this function's contract.
    let local = unsafe { &*data.cast::<Local>() };
    local.woken_in_poll.store(true, Ordering::Release);
}

fn drop_borrowed(_: *const ()) {}
