//! A green HTTP/1.1 server (Eventlet's `wsgi.server`): a handler that is a
//! plain blocking function from a request to a response, run in one green
//! thread per connection.
//!
//! - HTTP/1.1 and 1.0, keep-alive, pipelining: every complete request in the
//!   read buffer is answered in order and the answers go out in one write.
//!   A later 1.x (`HTTP/1.2`) is answered as 1.1.
//! - Request bodies stream (`Content-Length` or chunked) through
//!   [`Body`]'s `Read`, with `100 Continue` sent before the server first
//!   waits for the body when the client asked for it (also when the handler
//!   streams the body back as its response without reading it); response
//!   bodies are bytes (`Content-Length`) or any `Read` (chunked). `Date`
//!   and `Connection: close` are handled.
//! - `HEAD` reaches the handler as `HEAD` (its method is [`Method::HEAD`]);
//!   the server sends the head of the response the handler returns, with the
//!   `Content-Length` its body would have, and never the body. RFC 9110
//!   wants every GET route to answer HEAD too: match
//!   `Method::GET | Method::HEAD` and return the same response.
//! - Bad input gets its status (400, 413, 414, 417, 431, 501, 505) and the
//!   connection closes, since its framing can no longer be trusted: both
//!   `Content-Length` and `Transfer-Encoding`, conflicting or malformed
//!   lengths, a malformed chunk, a trailer that is not a header field, a
//!   missing (in HTTP/1.1), repeated or invalid `Host`, a request target in
//!   none of RFC 9112's four forms (a `#fragment` included). The same holds
//!   when the handler meets the error while it reads the body, or while the
//!   server streams that body back: as long as no byte of the response is
//!   out, the client gets the status, and after that the connection closes.
//!   An absolute-form target (`GET http://host/path`) names the host: the
//!   request's `Host` header is set to it (RFC 9112 3.2.2).
//! - A handler that panics, or returns a `1xx` status as its final answer,
//!   gets its client a `500` and the connection closed; the server goes on.
//!   A response header with CR or LF in it (possible only through `unsafe`
//!   constructors of `HeaderValue`) is never sent: the client gets `500`
//!   instead.
//! - Timeouts for headers, bodies, writes and idle keep-alive connections,
//!   with a minimum data rate over a whole body or response (a client that
//!   trickles a byte a minute is cut off), a connection limit (past it:
//!   `503` and close), graceful shutdown.
//!
//! [`Method::HEAD`]: crate::http::Method::HEAD
//!
//! - For hot routes, a second, borrowed handler form on the same server and
//!   port ([`Server::borrowed`]): the request head read in place, the
//!   response written straight into the connection's output.
//!
//! Heads are parsed by `httparse`; requests and responses are the `http`
//! crate's types, re-exported from [`http`](crate::http).
//!
//! ```
//! use std::io::Read;
//! use eventlet_rt::http::{Body, Request, Response, Server, StatusCode};
//!
//! fn app(mut request: Request) -> Response {
//!     match request.uri().path() {
//!         // GET and HEAD alike: the server drops the body for HEAD.
//!         "/hello" => Response::new(Body::from("Hello, World!")),
//!         "/echo" => {
//!             let mut body = Vec::new();
//!             match request.body_mut().read_to_end(&mut body) {
//!                 Ok(_) => Response::new(Body::from(body)),
//!                 Err(_) => Response::new(Body::empty()), // the server answers 400/413 itself
//!             }
//!         }
//!         _ => {
//!             let mut response = Response::new(Body::from("no such page"));
//!             *response.status_mut() = StatusCode::NOT_FOUND;
//!             response
//!         }
//!     }
//! }
//!
//! let listener = eventlet_rt::listen("127.0.0.1:0")?;
//! let url = format!("http://{}", listener.local_addr()?);
//! eventlet_rt::spawn_n(move || Server::new(app).serve(listener).unwrap());
//!
//! let agent = eventlet_rt::http::agent();
//! assert_eq!(agent.get(format!("{url}/hello")).call()?.body_mut().read_to_string()?, "Hello, World!");
//! assert_eq!(agent.post(format!("{url}/echo")).send("ping")?.body_mut().read_to_string()?, "ping");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod accept;
mod batch;
mod body;
mod chunked;
mod conn;
mod date;
mod encode;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
mod grammar;
mod head;
mod header_slots;
mod hubs;
mod inbuf;
mod limits;
mod parse;
mod raw;
mod shutdown;
mod spares;
mod swar;
mod target;
mod upgrade;
mod wire;

use std::io;
use std::net::ToSocketAddrs;
use std::sync::Arc;
use std::time::Duration;

pub use body::Body;
pub use raw::{RawRequest, RawResponse};
pub use shutdown::ShutdownHandle;
pub use upgrade::{Upgraded, switch_protocols};

use crate::green::net::TcpListener;
use crate::green::tls::TlsAcceptor;
use accept::{HubServer, serve_hub};
use limits::Settings;
use raw::RawHandler;

/// A request as the handler gets it: the `http` crate's request, with a
/// streaming [`Body`].
pub type Request = ::http::Request<Body>;

/// A response as the handler gives it: the `http` crate's response, with a
/// [`Body`] of bytes or of a stream.
pub type Response = ::http::Response<Body>;

/// An HTTP/1.1 server around `handler`; see the [module](self) for what it
/// speaks. Build it, adjust its settings, then [`serve`](Server::serve) a
/// listener (one hub), [`serve_tls`](Server::serve_tls), or
/// [`serve_on`](Server::serve_on) (every hub of a [`Hubs`](crate::hubs::Hubs)),
/// or [`serve_tls_on`](Server::serve_tls_on).
///
/// ```
/// use std::time::Duration;
/// use eventlet_rt::http::{Body, Response, Server};
///
/// let server = Server::new(|request| Response::new(Body::from(request.uri().to_string())))
///     .keep_alive_timeout(Duration::from_secs(5))
///     .max_body_bytes(1 << 20);
/// let listener = eventlet_rt::listen("127.0.0.1:0")?;
/// let url = format!("http://{}/a/b", listener.local_addr()?);
/// eventlet_rt::spawn_n(move || server.serve(listener).unwrap());
/// let mut response = eventlet_rt::http::agent().get(&url).call()?;
/// assert_eq!(response.body_mut().read_to_string()?, "/a/b");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Server<H> {
    handler: H,
    raw: Option<Arc<RawHandler>>,
    settings: Settings,
    shutdown: ShutdownHandle,
}

impl<H> std::fmt::Debug for Server<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl<H> Server<H>
where
    H: Fn(Request) -> Response,
{
    /// A server that answers every request with `handler`, with the default
    /// settings (each setter says its default).
    ///
    /// ```
    /// let server = eventlet_rt::http::Server::new(|_request| Default::default());
    /// # drop(server);
    /// ```
    pub fn new(handler: H) -> Server<H> {
        Server {
            handler,
            raw: None,
            settings: Settings::default(),
            shutdown: ShutdownHandle::default(),
        }
    }

    /// Adds the borrowed handler form, for hot routes: `raw` sees each
    /// request head first, in place in the connection's read buffer
    /// ([`RawRequest`]), and may answer it straight into the connection's
    /// output ([`RawResponse`]) and return `true`; `false` leaves the request
    /// to the handler given to [`new`](Server::new), on the same connection
    /// and port. Only requests without a body and with an origin-form target
    /// reach `raw`; no `http::Request`, header map or allocation is made for
    /// those it answers. A panic in `raw` gets the client a `500`, as in the
    /// other handler. `Send + Sync`, since every hub shares it.
    ///
    /// ```
    /// use eventlet_rt::http::{Body, RawRequest, RawResponse, Response, Server};
    ///
    /// fn hot(request: &RawRequest<'_>, response: &mut RawResponse<'_>) -> bool {
    ///     match (request.method(), request.path()) {
    ///         ("GET" | "HEAD", "/plaintext") => {
    ///             response.header_line("Content-Type: text/plain").body(b"Hello, World!");
    ///             true
    ///         }
    ///         _ => false,
    ///     }
    /// }
    ///
    /// let server = Server::new(|request| Response::new(Body::from(request.uri().to_string())))
    ///     .borrowed(hot);
    /// let listener = eventlet_rt::listen("127.0.0.1:0")?;
    /// let url = format!("http://{}", listener.local_addr()?);
    /// eventlet_rt::spawn_n(move || server.serve(listener).unwrap());
    /// let agent = eventlet_rt::http::agent();
    /// assert_eq!(agent.get(format!("{url}/plaintext")).call()?.body_mut().read_to_string()?, "Hello, World!");
    /// assert_eq!(agent.get(format!("{url}/other")).call()?.body_mut().read_to_string()?, "/other");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn borrowed(
        mut self,
        raw: impl Fn(&RawRequest<'_>, &mut RawResponse<'_>) -> bool + Send + Sync + 'static,
    ) -> Server<H> {
        self.raw = Some(Arc::new(raw));
        self
    }

    /// How long a kept-alive connection may wait for its next request before
    /// the server closes it. Default: 75 s.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let server = eventlet_rt::http::Server::new(|_| Default::default())
    ///     .keep_alive_timeout(Duration::from_secs(10));
    /// # drop(server);
    /// ```
    pub fn keep_alive_timeout(mut self, timeout: Duration) -> Server<H> {
        self.settings.keep_alive_timeout = nonzero(timeout);
        self
    }

    /// How long a request head (request line and headers) may take to
    /// arrive, from its first byte, or from the connection's start for the
    /// first request; past it the connection closes without an answer (a
    /// slow client cannot hold a connection). It also bounds a TLS
    /// handshake. Default: 30 s.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let server = eventlet_rt::http::Server::new(|_| Default::default())
    ///     .header_read_timeout(Duration::from_secs(5));
    /// # drop(server);
    /// ```
    pub fn header_read_timeout(mut self, timeout: Duration) -> Server<H> {
        self.settings.header_read_timeout = nonzero(timeout);
        self
    }

    /// How long one read of a request body may wait for bytes; past it the
    /// handler's read fails with `TimedOut` and the client gets `408`.
    /// Default: 60 s.
    ///
    /// It is also the body's whole allowance of waiting: the reads of one
    /// body together may wait this long plus one second per
    /// [`min_data_rate`](Server::min_data_rate) bytes received, so a client
    /// that sends a byte every 59 s is cut off after about a minute instead
    /// of holding its connection forever.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let server = eventlet_rt::http::Server::new(|_| Default::default())
    ///     .body_read_timeout(Duration::from_secs(5));
    /// # drop(server);
    /// ```
    pub fn body_read_timeout(mut self, timeout: Duration) -> Server<H> {
        self.settings.body_read_timeout = nonzero(timeout);
        self
    }

    /// How long one write of a response may wait for the client to take the
    /// bytes; past it the connection closes. Default: 60 s. As for bodies,
    /// the writes of one request's responses together may wait this long
    /// plus one second per [`min_data_rate`](Server::min_data_rate) bytes
    /// the client took.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let server = eventlet_rt::http::Server::new(|_| Default::default())
    ///     .write_timeout(Duration::from_secs(5));
    /// # drop(server);
    /// ```
    pub fn write_timeout(mut self, timeout: Duration) -> Server<H> {
        self.settings.write_timeout = nonzero(timeout);
        self
    }

    /// The slowest a client may send a request body or take a response, in
    /// bytes per second, averaged over the time the server waits on it
    /// (Apache's `RequestReadTimeout MinRate`): on top of the
    /// [body read](Server::body_read_timeout) or
    /// [write](Server::write_timeout) timeout, each `bytes` moved buy one
    /// more second of waiting. Past it: `408` for a body (when no response
    /// byte was sent), a closed connection for a response. Default: 500.
    ///
    /// ```
    /// let server = eventlet_rt::http::Server::new(|_| Default::default()).min_data_rate(4096);
    /// # drop(server);
    /// ```
    pub fn min_data_rate(mut self, bytes: u64) -> Server<H> {
        self.settings.min_data_rate = bytes.max(1);
        self
    }

    /// The longest request line (method, target, version), in bytes; a
    /// longer one gets `414 URI Too Long`, or `501 Not Implemented` while
    /// it is still the method. Default: 8192 (Eventlet's).
    ///
    /// ```
    /// let server = eventlet_rt::http::Server::new(|_| Default::default()).max_request_line(4096);
    /// # drop(server);
    /// ```
    pub fn max_request_line(mut self, bytes: usize) -> Server<H> {
        self.settings.max_request_line = bytes;
        self
    }

    /// The longest header line, in bytes; a longer one gets `431 Request
    /// Header Fields Too Large`. Default: 8192 (Eventlet's).
    ///
    /// ```
    /// let server = eventlet_rt::http::Server::new(|_| Default::default()).max_header_line(4096);
    /// # drop(server);
    /// ```
    pub fn max_header_line(mut self, bytes: usize) -> Server<H> {
        self.settings.max_header_line = bytes;
        self
    }

    /// The largest request head (request line and every header), in bytes;
    /// a larger one gets `431`. It also bounds chunked-body trailers.
    /// Default: 65536 (Eventlet's).
    ///
    /// ```
    /// let server = eventlet_rt::http::Server::new(|_| Default::default()).max_header_bytes(16384);
    /// # drop(server);
    /// ```
    pub fn max_header_bytes(mut self, bytes: usize) -> Server<H> {
        self.settings.max_header_bytes = bytes;
        self
    }

    /// The most header fields a request may have; more get `431`. Default: 100.
    ///
    /// ```
    /// let server = eventlet_rt::http::Server::new(|_| Default::default()).max_headers(50);
    /// # drop(server);
    /// ```
    pub fn max_headers(mut self, count: usize) -> Server<H> {
        self.settings.max_headers = count;
        self
    }

    /// The largest request body, in bytes: a larger `Content-Length` gets
    /// `413 Content Too Large` before the handler runs; a chunked body that
    /// grows past it makes the handler's read fail and gets `413`. Default:
    /// no limit (bodies stream, so only a handler that collects one holds it
    /// in memory).
    ///
    /// ```
    /// let server = eventlet_rt::http::Server::new(|_| Default::default()).max_body_bytes(1 << 20);
    /// # drop(server);
    /// ```
    pub fn max_body_bytes(mut self, bytes: u64) -> Server<H> {
        self.settings.max_body_bytes = Some(bytes);
        self
    }

    /// The most connections open at once on each hub; one more is answered
    /// `503 Service Unavailable` with `Connection: close` and closed at once,
    /// without running any handler. Default: 10,000.
    ///
    /// ```
    /// let server = eventlet_rt::http::Server::new(|_| Default::default()).max_connections(1000);
    /// # drop(server);
    /// ```
    pub fn max_connections(mut self, count: usize) -> Server<H> {
        self.settings.max_connections = count;
        self
    }

    /// How long a graceful shutdown waits for the requests in flight before
    /// closing their connections. Default: 10 s.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let server = eventlet_rt::http::Server::new(|_| Default::default())
    ///     .shutdown_grace(Duration::from_secs(1));
    /// # drop(server);
    /// ```
    pub fn shutdown_grace(mut self, grace: Duration) -> Server<H> {
        self.settings.shutdown_grace = grace;
        self
    }

    /// A handle that stops this server gracefully; see [`ShutdownHandle`].
    ///
    /// ```
    /// let server = eventlet_rt::http::Server::new(|_| Default::default());
    /// let stop = server.shutdown_handle();
    /// assert!(!stop.is_shut_down());
    /// # drop(server);
    /// ```
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }
}

impl<H> Server<H>
where
    H: Fn(Request) -> Response + 'static,
{
    /// Serves `listener` on the calling thread's hub, one green thread per
    /// connection, until a [shutdown](Server::shutdown_handle) (then
    /// `Ok(())`, once the connections are closed) or an accept error other
    /// than an aborted connection.
    ///
    /// See the [module](self) for a full example.
    #[track_caller]
    pub fn serve(self, listener: TcpListener) -> io::Result<()> {
        let handler = self.handler;
        let hub = HubServer::new(self.settings, handler, self.raw, None);
        serve_hub(listener, hub, &self.shutdown)
    }

    /// [`serve`](Server::serve) over TLS: each connection's handshake runs
    /// in its own green thread (bounded by the header timeout), then HTTP/1.1
    /// as over TCP.
    ///
    /// ```
    /// use eventlet_rt::green::tls::{rustls::RootCertStore, TlsAcceptor, TlsConnector};
    /// use eventlet_rt::http::{Body, Response, Server};
    /// use std::io::{Read, Write};
    ///
    /// let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    /// let key = cert.signing_key.serialize_der().try_into().unwrap();
    /// let acceptor = TlsAcceptor::with_single_cert(vec![cert.cert.der().clone()], key)?;
    /// let listener = eventlet_rt::listen("127.0.0.1:0")?;
    /// let addr = listener.local_addr()?;
    /// let server = Server::new(|_| Response::new(Body::from("secret")));
    /// eventlet_rt::spawn_n(move || server.serve_tls(listener, acceptor).unwrap());
    ///
    /// let mut roots = RootCertStore::empty();
    /// roots.add(cert.cert.der().clone()).unwrap();
    /// let connector = TlsConnector::with_root_certificates(roots);
    /// let mut tls = connector.connect("localhost", eventlet_rt::connect(addr)?)?;
    /// tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
    /// let mut reply = String::new();
    /// tls.read_to_string(&mut reply)?;
    /// assert!(reply.starts_with("HTTP/1.1 200 OK\r\n") && reply.ends_with("\r\n\r\nsecret"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn serve_tls(self, listener: TcpListener, acceptor: TlsAcceptor) -> io::Result<()> {
        let handler = self.handler;
        let hub = HubServer::new(self.settings, handler, self.raw, Some(acceptor));
        serve_hub(listener, hub, &self.shutdown)
    }
}

impl<H> Server<H>
where
    H: Fn(Request) -> Response + Send + Sync + 'static,
{
    /// Serves on every hub of `hubs`: each hub binds its own listener on
    /// `addr` with `SO_REUSEPORT` (port 0: one free port for all), so that
    /// the kernel spreads the connections, and serves it as
    /// [`serve`](Server::serve) does, all sharing `handler` (hence
    /// `Send + Sync`). Settings such as the connection limit apply to each
    /// hub. Blocks the calling thread until every hub has stopped: after a
    /// [shutdown](Server::shutdown_handle), `Ok(())`; an accept error on
    /// one hub shuts the others down and is returned. Call it from an OS
    /// thread that is not one of the hubs.
    ///
    /// ```
    /// use eventlet_rt::http::{Body, Response, Server};
    /// use eventlet_rt::hubs::Hubs;
    ///
    /// let hubs = std::sync::Arc::new(Hubs::new(2)?);
    /// // Find a free port first: every hub must listen on the same one.
    /// let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    /// let server = Server::new(|_| Response::new(Body::from("from some hub")));
    /// let stop = server.shutdown_handle();
    /// let serving = hubs.clone();
    /// let serving = std::thread::spawn(move || server.serve_on(&serving, ("127.0.0.1", port)));
    /// let url = format!("http://127.0.0.1:{port}/");
    /// let mut response = loop {
    ///     match eventlet_rt::http::agent().get(&url).call() {
    ///         Ok(response) => break response,
    ///         Err(_) => std::thread::sleep(std::time::Duration::from_millis(5)),
    ///     }
    /// };
    /// assert_eq!(response.body_mut().read_to_string()?, "from some hub");
    /// stop.shutdown();
    /// serving.join().unwrap()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn serve_on(self, hubs: &crate::hubs::Hubs, addr: impl ToSocketAddrs) -> io::Result<()> {
        hubs::serve_on(
            self.handler,
            self.raw,
            self.settings,
            self.shutdown,
            hubs,
            addr,
            None,
        )
    }

    /// [`serve_on`](Server::serve_on) over TLS: every hub's connections
    /// make their handshake with a clone of `acceptor` (one shared
    /// configuration), as [`serve_tls`](Server::serve_tls) does on one hub.
    ///
    /// ```
    /// use eventlet_rt::green::tls::{rustls::RootCertStore, TlsAcceptor, TlsConnector};
    /// use eventlet_rt::http::{Body, Response, Server};
    /// use eventlet_rt::hubs::Hubs;
    /// use std::io::{Read, Write};
    ///
    /// let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    /// let key = cert.signing_key.serialize_der().try_into().unwrap();
    /// let acceptor = TlsAcceptor::with_single_cert(vec![cert.cert.der().clone()], key)?;
    /// let hubs = std::sync::Arc::new(Hubs::new(2)?);
    /// let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    /// let server = Server::new(|_| Response::new(Body::from("secret")));
    /// let stop = server.shutdown_handle();
    /// let serving = hubs.clone();
    /// let serving = std::thread::spawn(move || {
    ///     server.serve_tls_on(&serving, ("127.0.0.1", port), acceptor)
    /// });
    ///
    /// let mut roots = RootCertStore::empty();
    /// roots.add(cert.cert.der().clone()).unwrap();
    /// let connector = TlsConnector::with_root_certificates(roots);
    /// let tcp = loop {
    ///     match eventlet_rt::connect(("127.0.0.1", port)) {
    ///         Ok(tcp) => break tcp,
    ///         Err(_) => eventlet_rt::sleep(std::time::Duration::from_millis(5)),
    ///     }
    /// };
    /// let mut tls = connector.connect("localhost", tcp)?;
    /// tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
    /// let mut reply = String::new();
    /// tls.read_to_string(&mut reply)?;
    /// assert!(reply.ends_with("\r\n\r\nsecret"), "{reply}");
    /// stop.shutdown();
    /// serving.join().unwrap()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn serve_tls_on(
        self,
        hubs: &crate::hubs::Hubs,
        addr: impl ToSocketAddrs,
        acceptor: TlsAcceptor,
    ) -> io::Result<()> {
        hubs::serve_on(
            self.handler,
            self.raw,
            self.settings,
            self.shutdown,
            hubs,
            addr,
            Some(acceptor),
        )
    }
}

/// Timeouts of zero would fail every read: the smallest wait instead.
fn nonzero(timeout: Duration) -> Duration {
    timeout.max(Duration::from_millis(1))
}
