//! A registered source that may travel between OS threads, yet is waited on
//! and closed only by the hub that registered it (its *home*).
//!
//! Green sockets are `!Send`: they hold their hub's `Rc` state. Libraries
//! that want `Send + Sync` connections (ureq's transports) get this instead.
//! It holds nothing thread-bound: the descriptor in an `Arc`, the slot number
//! of its registration, the id of its home thread and an `Arc` of the home
//! hub's inbox, all `Send + Sync` without any `unsafe`. Used away from home,
//! it refuses with an `io::Error`; dropped away from home, it posts the
//! descriptor to the home hub's inbox, which deregisters it and closes it.

use std::io;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::thread::{self, ThreadId};
use std::time::Instant;

use mio::unix::SourceFd;

use super::poller::RemoteInbox;
use super::{Direction, IoRegistration, current};

pub(crate) struct HomedSource<S: AsRawFd + Send + Sync + 'static> {
    source: Arc<S>,
    registration: IoRegistration,
    home: ThreadId,
    inbox: Arc<RemoteInbox>,
}

impl<S: AsRawFd + Send + Sync + 'static> HomedSource<S> {
    /// Registers `source` (non-blocking) with the calling thread's hub, its home.
    pub(crate) fn new(source: S) -> io::Result<HomedSource<S>> {
        let registration = IoRegistration::new(&mut SourceFd(&source.as_raw_fd()))?;
        Ok(HomedSource {
            source: Arc::new(source),
            registration,
            home: thread::current().id(),
            inbox: current().poller.inbox().clone(),
        })
    }

    /// The source, for calls that never block (and to share with a handle
    /// that shuts it down from another thread).
    pub(crate) fn source(&self) -> &Arc<S> {
        &self.source
    }

    /// Whether the calling thread is home: the thread, and the very hub, that
    /// registered the source.
    pub(crate) fn is_home(&self) -> bool {
        // The thread check first: it never creates a hub on a foreign thread.
        self.home == thread::current().id() && Arc::ptr_eq(current().poller.inbox(), &self.inbox)
    }

    /// Runs `op` until it stops reporting `WouldBlock`, parking the calling
    /// green thread between tries; see [`IoRegistration::run`]. Away from
    /// home it fails at once and touches nothing.
    pub(crate) fn run<R>(
        &self,
        direction: Direction,
        deadline: Option<Instant>,
        mut op: impl FnMut(&S) -> io::Result<R>,
    ) -> io::Result<R> {
        if !self.is_home() {
            return Err(io::Error::other(
                "eventlet-rt: this connection belongs to the hub of the OS thread that opened it; \
                 use it there (or open a new one on this thread)",
            ));
        }
        self.registration
            .run(direction, deadline, || op(&self.source))
    }
}

impl<S: AsRawFd + Send + Sync + 'static> Drop for HomedSource<S> {
    fn drop(&mut self) {
        if self.is_home() {
            self.registration
                .deregister(&mut SourceFd(&self.source.as_raw_fd()));
        } else {
            // The home hub deregisters and then closes it: the descriptor
            // stays open (the box holds it) until it is off the home poller.
            self.inbox
                .release(self.registration.slot(), Box::new(self.source.clone()));
        }
    }
}
