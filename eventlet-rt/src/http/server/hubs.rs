//! Serving on many hubs: one `SO_REUSEPORT` listener per hub of a
//! [`Hubs`], so that the kernel spreads connections over them.

use std::io;
use std::net::ToSocketAddrs;
use std::sync::{Arc, mpsc};

use super::accept::{HubServer, serve_hub};
use super::limits::Settings;
use super::raw::RawHandler;
use super::shutdown::ShutdownHandle;
use super::{Request, Response};
use crate::green::net::TcpListener;
use crate::green::tls::TlsAcceptor;
use crate::hubs::Hubs;
use crate::hubs::reuseport_listeners;

/// Serves on every hub of `hubs`, each with its own listener on `addr`
/// (over TLS with `acceptor`); returns once every one has stopped. An
/// accept error on one hub shuts the others down too.
pub(crate) fn serve_on<H>(
    handler: H,
    raw: Option<Arc<RawHandler>>,
    settings: Settings,
    shutdown: ShutdownHandle,
    hubs: &Hubs,
    addr: impl ToSocketAddrs,
    acceptor: Option<TlsAcceptor>,
) -> io::Result<()>
where
    H: Fn(Request) -> Response + Send + Sync + 'static,
{
    let addr = addr.to_socket_addrs()?.next().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "eventlet-rt: http::Server::serve_on was given no address to bind",
        )
    })?;
    let listeners = reuseport_listeners(addr, hubs.len())?;
    let handler = Arc::new(handler);
    let (done, outcomes) = mpsc::channel();
    let count = listeners.len();
    for (index, listener) in listeners.into_iter().enumerate() {
        let (handler, raw, settings, shutdown, done, acceptor) = (
            handler.clone(),
            raw.clone(),
            settings.clone(),
            shutdown.clone(),
            done.clone(),
            acceptor.clone(),
        );
        hubs.handle(index).spawn(move || {
            let served = TcpListener::from_std(listener).and_then(|listener| {
                let handler = move |request: Request| handler(request);
                serve_hub(
                    listener,
                    HubServer::new(settings, handler, raw, acceptor),
                    &shutdown,
                )
            });
            let _ = done.send(served);
        });
    }
    drop(done);
    let mut first_error = Ok(());
    let mut ended = 0;
    for outcome in outcomes.iter().take(count) {
        ended += 1;
        if let Err(error) = outcome {
            shutdown.shutdown();
            if first_error.is_ok() {
                first_error = Err(error);
            }
        }
    }
    if ended < count && first_error.is_ok() {
        shutdown.shutdown();
        first_error = Err(io::Error::other(
            "eventlet-rt: a hub stopped serving before its server ended",
        ));
    }
    first_error
}
