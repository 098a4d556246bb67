//! `serve` on every hub: one `SO_REUSEPORT` listener per hub.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use socket2::{Domain, Protocol, Socket, Type};

use super::oneshot::Promise;
use super::{Hubs, RemoteGreenThread};
use crate::GreenPool;
use crate::green::net::{TcpListener, TcpStream};

/// The listen backlog of each hub's listener: bursts of thousands of
/// connections are spread over the hubs, each queueing this many.
const BACKLOG: i32 = 1024;

/// Handler green threads per hub, as [`crate::serve`] has: Eventlet's default.
const DEFAULT_POOL_SIZE: usize = 1000;

/// Serves connections on `threads` new hubs (Eventlet's `serve`, on every
/// core): each hub binds its own listener on `addr` with `SO_REUSEPORT`, so
/// the kernel spreads incoming connections over them, and serves it like
/// [`crate::serve`] (a pool of 1000 handler green threads per hub, a handler
/// that panics closes only its connection). `handler` is shared by all hubs,
/// hence `Send + Sync`; each call runs in a green thread of the hub that
/// accepted the connection.
///
/// Returns only when a hub's `accept` fails for good (with that error), or
/// with the error of binding the listeners; to serve on hubs you keep (and
/// use for other work), see [`serve_on`]. With port 0 every hub listens on
/// the same port, the one the first bind got.
///
/// ```no_run
/// use std::io::{Read, Write};
///
/// eventlet_rt::hubs::serve("0.0.0.0:6000", 2, |mut stream, _client| {
///     let mut buf = [0; 4096];
///     while let Ok(n @ 1..) = stream.read(&mut buf) {
///         if stream.write_all(&buf[..n]).is_err() {
///             break;
///         }
///     }
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn serve<A, H>(addr: A, threads: usize, handler: H) -> io::Result<()>
where
    A: ToSocketAddrs,
    H: Fn(TcpStream, SocketAddr) + Send + Sync + 'static,
{
    let hubs = Hubs::new(threads)?;
    serve_on(&hubs, addr, handler)
}

/// [`serve`] on hubs you already have: binds one `SO_REUSEPORT` listener per
/// hub on `addr` and serves each on its hub, until one fails for good. The
/// other servers are then killed (their handlers in flight finish on their
/// own) and the error comes back.
///
/// ```
/// use std::io::{BufRead, BufReader, Write};
/// use eventlet_rt::hubs::{self, Hubs};
///
/// let hubs = std::sync::Arc::new(Hubs::new(2)?);
/// // Find a free port first: every hub must listen on the same one.
/// let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
/// let serving = hubs.clone();
/// std::thread::spawn(move || {
///     hubs::serve_on(&serving, ("127.0.0.1", port), |stream, _| {
///         let mut writer = stream.try_clone().unwrap();
///         for line in BufReader::new(stream).lines() {
///             let hub = std::thread::current().name().unwrap().to_owned();
///             writeln!(writer, "{} from {hub}", line.unwrap()).unwrap();
///         }
///     })
/// });
/// let mut client = loop {
///     match std::net::TcpStream::connect(("127.0.0.1", port)) {
///         Ok(client) => break client,
///         Err(_) => std::thread::sleep(std::time::Duration::from_millis(5)),
///     }
/// };
/// writeln!(client, "hello")?;
/// let mut reply = String::new();
/// BufReader::new(&client).read_line(&mut reply)?;
/// assert!(reply.starts_with("hello from eventlet-hub-"), "{reply}");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn serve_on<A, H>(hubs: &Hubs, addr: A, handler: H) -> io::Result<()>
where
    A: ToSocketAddrs,
    H: Fn(TcpStream, SocketAddr) + Send + Sync + 'static,
{
    serve_on_with_pool(hubs, addr, DEFAULT_POOL_SIZE, handler)
}

/// [`serve_on`] with `pool_size` handler green threads per hub (the
/// default is 1000, Eventlet's): it bounds the connections each hub handles
/// at once; past it, that hub waits for a handler to finish before it
/// accepts again (as [`crate::serve_with_pool`] does).
///
/// ```no_run
/// let hubs = eventlet_rt::hubs::Hubs::new(2)?;
/// // Up to 20,000 connections at once, 10,000 per hub.
/// eventlet_rt::hubs::serve_on_with_pool(&hubs, "0.0.0.0:6000", 10_000, |stream, _| drop(stream))?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn serve_on_with_pool<A, H>(
    hubs: &Hubs,
    addr: A,
    pool_size: usize,
    handler: H,
) -> io::Result<()>
where
    A: ToSocketAddrs,
    H: Fn(TcpStream, SocketAddr) + Send + Sync + 'static,
{
    let addr = addr.to_socket_addrs()?.next().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "eventlet-rt: hubs::serve was given no address to bind",
        )
    })?;
    let listeners = reuseport_listeners(addr, hubs.len())?;
    let handler = Arc::new(handler);
    let (first_end, ended) = Promise::<io::Result<()>>::new();
    let first_end = Arc::new(std::sync::Mutex::new(Some(first_end)));
    let servers: Vec<RemoteGreenThread<()>> = listeners
        .into_iter()
        .enumerate()
        .map(|(index, listener)| {
            let handler = handler.clone();
            let first_end = first_end.clone();
            hubs.handle(index).spawn(move || {
                let pool = GreenPool::new(pool_size);
                let served = TcpListener::from_std(listener).and_then(|listener| {
                    crate::serve_with_pool(listener, &pool, move |s, a| handler(s, a))
                });
                let promise = crate::hub::lock_unpoisoned(&first_end).take();
                if let Some(promise) = promise {
                    promise.set(Ok(served));
                }
            })
        })
        .collect();
    let outcome = ended.take();
    for server in &servers {
        server.kill();
    }
    match outcome {
        Ok(served) => served,
        Err(error) => Err(io::Error::other(format!(
            "eventlet-rt: a hub stopped serving: {error}"
        ))),
    }
}

/// `count` listeners bound to the same `addr` with `SO_REUSEPORT` (and
/// `SO_REUSEADDR`), non-blocking, for one hub each. With port 0 the first
/// bind picks the port and the others take the same.
pub(crate) fn reuseport_listeners(
    addr: SocketAddr,
    count: usize,
) -> io::Result<Vec<std::net::TcpListener>> {
    let mut addr = addr;
    let mut listeners = Vec::with_capacity(count);
    for _ in 0..count {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_reuse_address(true)?;
        socket.set_reuse_port(true)?;
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        socket.listen(BACKLOG)?;
        let listener: std::net::TcpListener = socket.into();
        addr = listener.local_addr()?;
        listeners.push(listener);
    }
    Ok(listeners)
}
