//! `ShutdownHandle`: asks a server, on one hub or on many, to stop.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use crate::hub::RemoteCompletion;

/// Stops a [`Server`](super::Server) gracefully, from any green thread or OS
/// thread: a cheap `Clone`, `Send + Sync` handle.
///
/// After [`shutdown`](ShutdownHandle::shutdown) every hub serving stops
/// accepting (its listener closes), closes its idle connections at once,
/// answers the requests in flight with `Connection: close`, and waits up to
/// the grace period ([`Server::shutdown_grace`](super::Server::shutdown_grace))
/// for them to finish; the connections still open then are closed. `serve`
/// then returns `Ok(())`.
///
/// ```
/// use eventlet_rt::http::{Body, Response, Server};
///
/// let server = Server::new(|_request| Response::new(Body::from("bye")));
/// let stop = server.shutdown_handle();
/// let listener = eventlet_rt::listen("127.0.0.1:0")?;
/// let serving = eventlet_rt::spawn(move || server.serve(listener));
/// eventlet_rt::yield_now(); // it starts accepting
/// stop.shutdown();
/// assert!(serving.wait().unwrap().is_ok());
/// assert!(stop.is_shut_down());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct ShutdownHandle {
    shared: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    triggered: bool,
    /// Wake-ups of the hubs waiting for the signal, one each.
    waiters: Vec<Box<dyn FnOnce() + Send>>,
}

impl ShutdownHandle {
    /// Starts the graceful shutdown of every `serve` of the server; returns
    /// at once (the `serve` calls return when they are done).
    ///
    /// ```
    /// let stop = eventlet_rt::http::Server::new(|_| Default::default()).shutdown_handle();
    /// std::thread::spawn(move || stop.shutdown()).join().unwrap();
    /// ```
    pub fn shutdown(&self) {
        let waiters = {
            let mut state = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
            state.triggered = true;
            std::mem::take(&mut state.waiters)
        };
        for wake in waiters {
            wake();
        }
    }

    /// Whether [`shutdown`](ShutdownHandle::shutdown) has been called.
    ///
    /// ```
    /// let stop = eventlet_rt::http::Server::new(|_| Default::default()).shutdown_handle();
    /// assert!(!stop.is_shut_down());
    /// stop.shutdown();
    /// assert!(stop.is_shut_down());
    /// ```
    pub fn is_shut_down(&self) -> bool {
        self.shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .triggered
    }

    /// Parks the calling green thread until the shutdown is asked for.
    pub(crate) fn wait(&self) {
        let (completion, waker) = RemoteCompletion::new();
        {
            let mut state = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
            if state.triggered {
                return;
            }
            state.waiters.push(Box::new(move || waker.wake()));
        }
        completion.wait();
    }
}

impl fmt::Debug for ShutdownHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShutdownHandle")
            .field("shut_down", &self.is_shut_down())
            .finish()
    }
}
