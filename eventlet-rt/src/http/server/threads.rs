//! Serving on many hubs: one OS thread per listener, each with its own hub,
//! and `SO_REUSEPORT` listeners so that the kernel spreads connections.

use std::io;
use std::net::ToSocketAddrs;
use std::rc::Rc;
use std::sync::{Arc, mpsc};

use socket2::{Domain, Protocol, Socket, Type};

use super::accept::{HubServer, serve_hub};
use super::limits::Settings;
use super::shutdown::ShutdownHandle;
use super::{Request, Response};
use crate::green::net::TcpListener;

/// `count` listening sockets on the same address, each with `SO_REUSEPORT`
/// (and `SO_REUSEADDR`), for [`Server::serve_threads`](super::Server::serve_threads):
/// the kernel hashes each new connection to one of them. The first is bound
/// to `addr`; the others to its actual address, so port 0 picks one free
/// port for all.
///
/// ```
/// let listeners = eventlet_rt::http::reuseport_listeners("127.0.0.1:0", 3)?;
/// let addr = listeners[0].local_addr()?;
/// assert_ne!(addr.port(), 0);
/// assert!(listeners.iter().all(|l| l.local_addr().unwrap() == addr));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn reuseport_listeners(
    addr: impl ToSocketAddrs,
    count: usize,
) -> io::Result<Vec<std::net::TcpListener>> {
    let mut addr = addr
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to listen on"))?;
    let mut listeners = Vec::with_capacity(count);
    for _ in 0..count {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_reuse_address(true)?;
        socket.set_reuse_port(true)?;
        socket.bind(&addr.into())?;
        socket.listen(1024)?;
        let listener = std::net::TcpListener::from(socket);
        addr = listener.local_addr()?;
        listeners.push(listener);
    }
    Ok(listeners)
}

/// Serves each listener on its own OS thread and hub; returns once every
/// one has stopped. An accept error on one hub shuts the others down too.
pub(crate) fn serve_threads<H>(
    handler: H,
    settings: Settings,
    shutdown: ShutdownHandle,
    listeners: Vec<std::net::TcpListener>,
) -> io::Result<()>
where
    H: Fn(Request) -> Response + Send + Sync + 'static,
{
    let handler = Arc::new(handler);
    let (done, outcomes) = mpsc::channel();
    let count = listeners.len();
    for (index, listener) in listeners.into_iter().enumerate() {
        let (handler, settings, shutdown, done) = (
            handler.clone(),
            settings.clone(),
            shutdown.clone(),
            done.clone(),
        );
        std::thread::Builder::new()
            .name(format!("http hub {index}"))
            .spawn(move || {
                let served = TcpListener::from_std(listener).and_then(|listener| {
                    let handler: Rc<dyn Fn(Request) -> Response> = Rc::new(move |r| handler(r));
                    serve_hub(listener, HubServer::new(settings, handler, None), &shutdown)
                });
                let _ = done.send(served);
            })?;
    }
    drop(done);
    let mut first_error = Ok(());
    for outcome in outcomes.iter().take(count) {
        if let Err(error) = outcome {
            shutdown.shutdown();
            if first_error.is_ok() {
                first_error = Err(error);
            }
        }
    }
    first_error
}
