//! A registered source that may travel between OS threads, yet is waited on
//! and closed only by the hub that registered it (its *home*).
//!
//! Green sockets are `!Send`: they hold their hub's `Rc` state. Libraries
//! that want `Send + Sync` connections (ureq's transports) get this instead.
//! It holds nothing thread-bound: the descriptor in an `Arc`, the slot number
//! of its registration and an `Arc` of the home hub's inbox, all `Send +
//! Sync` without any `unsafe`. The inbox also says where home is: no other
//! hub can have the same one while we hold it. Used away from home,
//! it refuses with an `io::Error`; dropped away from home, it posts the
//! descriptor to the home hub's inbox, which deregisters it and closes it.

use std::io;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Instant;

use mio::unix::SourceFd;

use crate::hub::{Direction, IoRegistration, RemoteInbox, current, existing};

pub(crate) struct HomedSource<S: AsRawFd + Send + Sync + 'static> {
    source: Arc<S>,
    registration: IoRegistration,
    /// The home hub's inbox: where home is, and where to send the source back.
    inbox: Arc<RemoteInbox>,
}

impl<S: AsRawFd + Send + Sync + 'static> HomedSource<S> {
    /// Registers `source` (non-blocking) with the calling thread's hub, its home.
    pub(crate) fn new(source: S) -> io::Result<HomedSource<S>> {
        let registration = IoRegistration::for_fd(source.as_raw_fd())?;
        Ok(HomedSource {
            source: Arc::new(source),
            registration,
            inbox: current().inbox().clone(),
        })
    }

    /// The source, for calls that never block (and to share with a handle
    /// that shuts it down from another thread).
    pub(crate) fn source(&self) -> &Arc<S> {
        &self.source
    }

    /// Whether the calling thread's hub is home: the very hub that
    /// registered the source (not just the same thread, whose hub may have
    /// been torn down). Never creates a hub.
    pub(crate) fn is_home(&self) -> bool {
        existing().is_some_and(|hub| Arc::ptr_eq(hub.inbox(), &self.inbox))
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn connected_pair() -> (mio::net::TcpStream, std::net::TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        client.set_nonblocking(true).unwrap();
        let (server, _) = listener.accept().unwrap();
        (mio::net::TcpStream::from_std(client), server)
    }

    #[test]
    fn away_from_home_io_fails_and_the_drop_is_done_by_the_home_hub() {
        let sources = crate::hub::stats().io_sources;
        let (client, _server) = connected_pair();
        let homed = HomedSource::new(client).unwrap();
        assert!(homed.is_home());
        assert_eq!(crate::hub::stats().io_sources, sources + 1);

        let (away_io, away_home) = std::thread::spawn(move || {
            let io = homed.run(Direction::Read, None, |s| s.peer_addr());
            let home = homed.is_home();
            drop(homed); // posted back to the home hub
            (io.map_err(|e| e.to_string()), home)
        })
        .join()
        .unwrap();
        assert!(!away_home);
        let error = away_io.unwrap_err();
        assert!(error.contains("OS thread that opened it"), "{error}");
        // The home hub deregisters the socket the next time it polls.
        crate::sleep(Duration::from_millis(1));
        assert_eq!(crate::hub::stats().io_sources, sources);
    }

    #[test]
    fn at_home_it_waits_green_and_deregisters_on_drop() {
        let sources = crate::hub::stats().io_sources;
        let (client, mut server) = connected_pair();
        let homed = HomedSource::new(client).unwrap();
        let writer = crate::spawn(move || {
            std::io::Write::write_all(&mut server, b"x").unwrap();
            server
        });
        let mut byte = [0];
        let read = homed.run(Direction::Read, None, |mut s| {
            std::io::Read::read(&mut s, &mut byte)
        });
        assert_eq!(read.unwrap(), 1);
        drop(writer.wait().unwrap());
        drop(homed);
        assert_eq!(crate::hub::stats().io_sources, sources);
    }
}
