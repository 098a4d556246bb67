//! Wake-ups of a green thread by another OS thread (the thread pool).
//!
//! Green primitives are `!Send`; the only way into a hub from another thread
//! is a [`RemoteWaker`], which posts to the hub's inbox and wakes its poller
//! through a `mio::Waker`. No polling loop is involved.

use super::current;
use super::poller::RemoteWait;

/// The green side of a remote wake-up: created by the green thread that will wait.
pub(crate) struct RemoteCompletion {
    wait: RemoteWait,
}

/// The other thread's side: wakes the green thread once.
pub(crate) struct RemoteWaker {
    slot: usize,
    seq: u64,
    inbox: std::sync::Arc<super::poller::RemoteInbox>,
}

impl RemoteCompletion {
    /// Expects one wake-up for the calling green thread.
    pub(crate) fn new() -> (RemoteCompletion, RemoteWaker) {
        let hub = current();
        let wait = hub.poller.expect_remote(hub.current_task());
        let waker = RemoteWaker {
            slot: wait.slot,
            seq: wait.seq,
            inbox: wait.inbox.clone(),
        };
        (RemoteCompletion { wait }, waker)
    }

    /// Parks the calling green thread until the waker has fired.
    ///
    /// A kill or timeout unwinds out of here; the other thread's later wake-up
    /// then finds nobody and is ignored.
    pub(crate) fn wait(self) {
        let hub = current();
        while !hub.poller.remote_woken(&self.wait) {
            hub.park();
        }
    }
}

impl Drop for RemoteCompletion {
    fn drop(&mut self) {
        current().poller.forget_remote(&self.wait);
    }
}

impl RemoteWaker {
    /// Wakes the waiting green thread; callable from any OS thread.
    pub(crate) fn wake(self) {
        self.inbox.post(self.slot, self.seq);
    }
}
