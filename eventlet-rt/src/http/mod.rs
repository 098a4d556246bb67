//! Green HTTP: a client, [`ureq`] 3 over green sockets (Eventlet's green
//! `urllib`), and a server, [`Server`] (Eventlet's `wsgi`; see [`server`]),
//! on the `http` crate's request and response types, re-exported here.
//!
//! [`agent()`] gives a ready [`ureq::Agent`]: plain ureq for the user, whose
//! every wait parks only the calling green thread. Name resolution runs on
//! [`tpool`](crate::tpool) ([`GreenResolver`]), connects, reads and writes
//! are green ([`GreenConnector`], [`GreenTransport`]), and `https://` goes
//! through ureq's own rustls layer on top (ring provider, `webpki-roots` by
//! default). So a [`GreenPool`](crate::GreenPool) runs thousands of requests
//! at once on one OS thread, and ureq's timeouts,
//! [`with_timeout`](crate::with_timeout) and kills end a request cleanly.
//!
//! The module is behind the default-on cargo feature `http`, and re-exports
//! the [`ureq`] it is built on. That version is pinned exactly: the transport
//! traits it plugs into are in ureq's `unversioned` module, which may change
//! in any minor release.
//!
//! # Threads
//! ureq wants its transports `Send + Sync` and its `Agent` is a `Send + Sync`
//! handle with one connection pool. A green connection belongs to the hub of
//! the OS thread that opened it, so [`GreenTransport`] holds only `Send`
//! parts (descriptor, registration slot, home thread) and checks where it is
//! used: on its home thread it is green; elsewhere its I/O fails with an
//! `io::Error` and it tells the pool it is not open, so a pooled connection
//! is never reused on another thread (the pool drops it, and its home hub
//! closes it). Sharing one agent between OS threads therefore works: each
//! thread reuses the connections it opened. Nothing here needs `unsafe`.
//!
//! HTTP `CONNECT` proxies work (ureq's `ConnectProxyConnector` is in the
//! chain); SOCKS proxies do not.
//!
//! ```
//! use std::io::{Read, Write};
//!
//! // A one-shot server, for the example.
//! let listener = eventlet_rt::listen("127.0.0.1:0")?;
//! let url = format!("http://{}/hello", listener.local_addr()?);
//! eventlet_rt::spawn_n(move || {
//!     let (mut conn, _) = listener.accept().unwrap();
//!     conn.read(&mut [0; 1024]).unwrap();
//!     conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello").unwrap();
//! });
//!
//! let agent = eventlet_rt::http::agent();
//! let mut response = agent.get(&url).call()?;
//! assert_eq!(response.status(), 200);
//! assert_eq!(response.body_mut().read_to_string()?, "hello");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod connector;
mod homed;
mod resolver;
pub mod server;
mod transport;
pub mod websocket;

pub use ::http::{
    HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, Version, header, request, response,
};
pub use connector::GreenConnector;
pub use resolver::GreenResolver;
pub use server::{
    Body, RawRequest, RawResponse, Request, Response, Server, ShutdownHandle, Upgraded,
    switch_protocols,
};
pub use transport::GreenTransport;
pub use ureq;

use ureq::Agent;
use ureq::config::Config;
use ureq::unversioned::transport::{ConnectProxyConnector, Connector, RustlsConnector};

/// A ureq agent whose requests are green, with ureq's default configuration
/// (no timeouts, redirects followed, 4xx and 5xx as `Err`).
///
/// An agent pools connections: reuse one agent for many requests. Cloning
/// it is cheap and shares the pool.
///
/// ```
/// use std::io::{Read, Write};
/// # let listener = eventlet_rt::listen("127.0.0.1:0")?;
/// # let base = format!("http://{}", listener.local_addr()?);
/// # eventlet_rt::spawn_n(move || while let Ok((mut conn, _)) = listener.accept() {
/// #     conn.read(&mut [0; 1024]).unwrap();
/// #     conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok").unwrap();
/// # });
/// let agent = eventlet_rt::http::agent();
/// // Ten requests at once, each in its own green thread, on this OS thread.
/// let pool = eventlet_rt::GreenPool::new(10);
/// let bodies: Vec<String> = pool
///     .imap(
///         move |i: usize| {
///             let url = format!("{base}/item/{i}");
///             agent.get(&url).call().unwrap().body_mut().read_to_string().unwrap()
///         },
///         0..10,
///     )
///     .collect();
/// assert_eq!(bodies, vec!["ok"; 10]);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn agent() -> Agent {
    agent_with_config(Agent::config_builder().build())
}

/// A green ureq agent with `config`: timeouts, redirects, TLS roots,
/// user agent... (see [`ureq::config::ConfigBuilder`]).
///
/// ```
/// use std::time::Duration;
/// use eventlet_rt::http::ureq;
///
/// let listener = eventlet_rt::listen("127.0.0.1:0")?; // accepts, never answers
/// let url = format!("http://{}/", listener.local_addr()?);
/// let config = ureq::Agent::config_builder()
///     .timeout_global(Some(Duration::from_millis(50)))
///     .build();
/// let error = eventlet_rt::http::agent_with_config(config).get(&url).call().unwrap_err();
/// assert!(matches!(error, ureq::Error::Timeout(_)), "{error}");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn agent_with_config(config: Config) -> Agent {
    let connector =
        ().chain(ConnectProxyConnector::default())
            .chain(GreenConnector::default())
            .chain(RustlsConnector::default());
    Agent::with_parts(config, connector, GreenResolver::default())
}
