//! Eventlet's convenience functions: `listen`, `connect` and `serve`.

use std::io;
use std::rc::Rc;
use std::time::Duration;

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
/// and the server goes on. Running out of descriptors or kernel memory does
/// not stop it either: it keeps serving the connections it has and accepts
/// again once they free up (see [`AcceptBackoff`]). `serve` returns only
/// when `accept` fails for another reason (the listener is broken); to stop it, run it in a green
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
    let mut backoff = AcceptBackoff::new();
    loop {
        let (stream, client) = backoff.accept(&listener)?;
        let handler = handler.clone();
        let span = tracing::debug_span!(target: "eventlet_rt::serve", "connection", peer = %client);
        pool.spawn_n_with(Builder::new().span(span), move || handler(stream, client));
    }
}

/// The first pause after an `accept` failed for want of descriptors or
/// memory (Go's `net/http`): short, since a handler may close at any moment.
const FIRST_ACCEPT_DELAY: Duration = Duration::from_millis(5);
/// The longest pause: doubling stops here, so a server out of descriptors
/// for minutes still tries once a second.
const MAX_ACCEPT_DELAY: Duration = Duration::from_secs(1);

/// Accepting as a server must: running out of descriptors or kernel memory
/// is ridden out, not returned.
///
/// `accept` fails with `EMFILE` / `ENFILE` when the process or the system has
/// no descriptor left, and `ENOBUFS` / `ENOMEM` when the kernel is short of
/// memory. Neither is permanent, and a server that gives up on it drops every
/// connection it has. [`AcceptBackoff::accept`] instead parks the accepting
/// green thread (the handlers of the connections already taken go on, and
/// closing them frees descriptors), retries after 5 ms, doubling the pause up
/// to 1 s (as Go's `net/http` does), and returns the next connection once one
/// can be taken; the pause starts again at 5 ms after each success. Each
/// shortage is reported once, when it starts: as a `WARN` event (target
/// `eventlet_rt::serve`) when a `tracing` subscriber listens, else on stderr.
/// It ends, and the next one is reported again, once the server has caught
/// up (an `accept` found no connection waiting). A client that gave up
/// before its connection was taken (`ECONNABORTED`) is skipped. Other errors
/// are returned.
///
/// [`serve`] and [`serve_with_pool`] accept with it; a server with its own
/// accept loop keeps one `AcceptBackoff` for its listener:
///
/// ```
/// use std::io::{Read, Write};
/// use eventlet_rt::AcceptBackoff;
///
/// let listener = eventlet_rt::listen("127.0.0.1:0")?;
/// let addr = listener.local_addr()?;
/// let server = eventlet_rt::spawn(move || -> std::io::Result<()> {
///     let mut backoff = AcceptBackoff::new();
///     loop {
///         let (mut stream, _client) = backoff.accept(&listener)?;
///         eventlet_rt::spawn_n(move || {
///             let mut buf = [0; 64];
///             while let Ok(n @ 1..) = stream.read(&mut buf) {
///                 let _ = stream.write_all(&buf[..n]);
///             }
///         });
///     }
/// });
/// let mut client = eventlet_rt::connect(addr)?;
/// client.write_all(b"ping")?;
/// let mut reply = [0; 4];
/// client.read_exact(&mut reply)?;
/// assert_eq!(&reply, b"ping");
/// server.kill();
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct AcceptBackoff {
    delay: Duration,
    /// The shortage in progress has been reported.
    reported: bool,
}

impl AcceptBackoff {
    /// A back-off with no shortage seen yet.
    ///
    /// ```
    /// let backoff = eventlet_rt::AcceptBackoff::new();
    /// # drop(backoff);
    /// ```
    pub fn new() -> AcceptBackoff {
        AcceptBackoff {
            delay: FIRST_ACCEPT_DELAY,
            reported: false,
        }
    }

    /// Waits (green) for the next connection on `listener`, riding out a
    /// shortage of descriptors or memory as the type's docs say.
    ///
    /// ```
    /// # let listener = eventlet_rt::listen("127.0.0.1:0")?;
    /// let client = eventlet_rt::connect(listener.local_addr()?)?;
    /// let mut backoff = eventlet_rt::AcceptBackoff::new();
    /// let (stream, addr) = backoff.accept(&listener)?;
    /// assert_eq!(addr, client.local_addr()?);
    /// # drop(stream);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn accept(&mut self, listener: &TcpListener) -> io::Result<(TcpStream, SocketAddr)> {
        loop {
            let mut caught_up = false;
            let accepted = listener.accept_noting_empty(&mut caught_up);
            if caught_up {
                self.reported = false;
            }
            match accepted {
                Ok(accepted) => {
                    self.delay = FIRST_ACCEPT_DELAY;
                    return Ok(accepted);
                }
                // The client gave up before we took its connection: not the server's problem.
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => {}
                Err(e) if is_shortage(&e) => {
                    if !self.reported {
                        self.reported = true;
                        report_shortage(listener, &e);
                    }
                    crate::sleep(self.delay);
                    self.delay = (self.delay * 2).min(MAX_ACCEPT_DELAY);
                }
                Err(e) => return Err(e),
            }
        }
    }
}

impl Default for AcceptBackoff {
    fn default() -> AcceptBackoff {
        AcceptBackoff::new()
    }
}

/// Out of descriptors (process or system) or of kernel memory: it passes.
fn is_shortage(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

#[cold]
fn report_shortage(listener: &TcpListener, error: &io::Error) {
    let addr = listener
        .local_addr()
        .map_or_else(|_| "a listener".to_string(), |addr| addr.to_string());
    let hint = match error.raw_os_error() {
        Some(libc::EMFILE) => " (raise the descriptor limit: ulimit -n)",
        _ => "",
    };
    let message = format!(
        "accept on {addr} failed: {error}{hint}; the server keeps its connections and \
         retries, every 5 ms doubling to 1 s, until one can be taken (reported once until \
         it catches up)"
    );
    if tracing::enabled!(target: "eventlet_rt::serve", tracing::Level::WARN) {
        tracing::warn!(target: "eventlet_rt::serve", listener = %addr, %error, "{message}");
    } else {
        eprintln!("eventlet-rt: {message}");
    }
}
