//! Eventlet's convenience functions: `listen`, `connect` and `serve`.

use std::io;
use std::rc::Rc;

use crate::green::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use crate::{Builder, GreenPool};

/// Opens a listening TCP socket on `addr` (Eventlet's `eventlet.listen`):
/// [`TcpListener::bind`], with `SO_REUSEADDR` set and a listen backlog of
/// [`DEFAULT_BACKLOG`](crate::green::net::DEFAULT_BACKLOG) (1024, capped by
/// `net.core.somaxconn`); [`listen_with_backlog`] chooses another.
///
/// ```
/// let listener = eventlet_rt::listen("127.0.0.1:0")?;
/// assert_ne!(listener.local_addr()?.port(), 0);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn listen<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
    TcpListener::bind(addr)
}

/// [`listen`] with a listen backlog of `backlog`: how many connections the
/// kernel completes and keeps for the listener before `accept` takes them;
/// see [`TcpListener::bind_with_backlog`].
///
/// ```
/// // Room for a burst of 4096 clients arriving while the server is busy.
/// let listener = eventlet_rt::listen_with_backlog("127.0.0.1:0", 4096)?;
/// assert!(listener.local_addr()?.ip().is_loopback());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn listen_with_backlog<A: ToSocketAddrs>(addr: A, backlog: u32) -> io::Result<TcpListener> {
    TcpListener::bind_with_backlog(addr, backlog)
}

/// Opens a TCP connection to `addr` (Eventlet's `eventlet.connect`):
/// [`TcpStream::connect`]; host names resolve without blocking the hub.
///
/// ```
/// let listener = eventlet_rt::listen("127.0.0.1:0")?;
/// let stream = eventlet_rt::connect(("localhost", listener.local_addr()?.port()))?;
/// assert!(stream.peer_addr()?.ip().is_loopback());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
    TcpStream::connect(addr)
}

/// Serves connections forever (Eventlet's `eventlet.serve`): accepts on
/// `listener` and calls `handler(stream, client_addr)` for each connection in
/// its own green thread, from a [`GreenPool`] of 1000 (Eventlet's default
/// concurrency; see [`serve_with_pool`] to choose). When the pool is full,
/// accepting waits for a handler to finish.
///
/// Handler green threads count as spawned where `serve` was called (as
/// [`hub::snapshot`](crate::hub::snapshot) and the blocking detector show
/// them), and each runs in a `connection` span (level `DEBUG`, target
/// `eventlet_rt::serve`, field `peer`) when a `tracing` subscriber enables it.
///
/// A handler that panics ends its own green thread only: its stream is
/// dropped, so the connection closes, the panic is printed by the panic hook,
/// and the server goes on. `serve` returns only when `accept` fails with an
/// error other than an aborted connection; to stop it, run it in a green
/// thread and [`kill`](crate::GreenThread::kill) that (handlers in flight
/// finish on their own).
///
/// ```
/// use std::io::{BufRead, BufReader, Write};
///
/// let listener = eventlet_rt::listen("127.0.0.1:0")?;
/// let addr = listener.local_addr()?;
/// let server = eventlet_rt::spawn(move || {
///     eventlet_rt::serve(listener, |stream, _client| {
///         let mut writer = stream.try_clone().unwrap();
///         for line in BufReader::new(stream).lines() {
///             writeln!(writer, "{}", line.unwrap().to_uppercase()).unwrap();
///         }
///     })
/// });
/// let mut client = eventlet_rt::connect(addr)?;
/// writeln!(client, "shout")?;
/// let mut reply = String::new();
/// BufReader::new(&client).read_line(&mut reply)?;
/// assert_eq!(reply, "SHOUT\n");
/// server.kill();
/// # Ok::<(), std::io::Error>(())
/// ```
#[track_caller]
pub fn serve<H>(listener: TcpListener, handler: H) -> io::Result<()>
where
    H: Fn(TcpStream, SocketAddr) + 'static,
{
    serve_with_pool(listener, &GreenPool::default(), handler)
}

/// [`serve`] with handlers running in `pool`: its size bounds the connections
/// handled at once, and its counters show the server's load.
///
/// ```
/// use std::io::Read;
///
/// let pool = eventlet_rt::GreenPool::new(2);
/// let listener = eventlet_rt::listen("127.0.0.1:0")?;
/// let addr = listener.local_addr()?;
/// let handlers = pool.clone();
/// let server = eventlet_rt::spawn(move || {
///     eventlet_rt::serve_with_pool(listener, &handlers, |mut stream, _| {
///         let _ = stream.read(&mut [0; 1]); // hold the connection until the client closes
///     })
/// });
/// let clients: Vec<_> = (0..2).map(|_| eventlet_rt::connect(addr)).collect::<Result<_, _>>()?;
/// while pool.running() < 2 {
///     eventlet_rt::sleep(std::time::Duration::from_millis(1));
/// }
/// assert_eq!(pool.free(), 0);
/// drop(clients);
/// server.kill();
/// # Ok::<(), std::io::Error>(())
/// ```
#[track_caller]
pub fn serve_with_pool<H>(listener: TcpListener, pool: &GreenPool, handler: H) -> io::Result<()>
where
    H: Fn(TcpStream, SocketAddr) + 'static,
{
    let handler = Rc::new(handler);
    loop {
        let (stream, client) = match listener.accept() {
            Ok(accepted) => accepted,
            // The client gave up before we took its connection: not the server's problem.
            Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
            Err(e) => return Err(e),
        };
        let handler = handler.clone();
        let span = tracing::debug_span!(target: "eventlet_rt::serve", "connection", peer = %client);
        pool.spawn_n_with(Builder::new().span(span), move || handler(stream, client));
    }
}
