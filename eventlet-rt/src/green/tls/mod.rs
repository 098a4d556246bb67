//! Green TLS (Eventlet's `eventlet.green.ssl`): TLS client and server streams
//! over a green [`TcpStream`], on [`rustls`] with its `ring` provider.
//!
//! [`TlsConnector::connect`] and [`TlsAcceptor::accept`] run the handshake
//! and give a [`TlsStream`] with blocking-style [`Read`] and [`Write`]. Every
//! wait (handshake included) parks only the calling green thread, so one hub
//! serves thousands of TLS connections; the socket's read and write timeouts,
//! [`with_timeout`](crate::with_timeout) and
//! [`GreenThread::kill`](crate::GreenThread::kill) end a wait cleanly.
//!
//! - Clients trust the Mozilla roots of `webpki-roots` by default
//!   ([`TlsConnector::new`]); any [`rustls::ClientConfig`] can be passed
//!   instead ([`TlsConnector::from`]).
//! - Servers take a [`rustls::ServerConfig`] ([`TlsAcceptor::from`]) or a
//!   certificate chain and its key ([`TlsAcceptor::with_single_cert`]).
//! - A failed handshake is an `io::Error` holding a [`HandshakeError`] that
//!   says what failed: unknown issuer, name mismatch, expired certificate,
//!   the peer closing mid-handshake, a protocol error.
//! - [`TlsStream::shutdown`] sends TLS's `close_notify` before closing the
//!   write half, so the peer can tell a complete stream from a cut one.
//!
//! The module is behind the default-on cargo feature `tls`. It re-exports the
//! [`rustls`] it is built on, so configurations built with
//! `eventlet_rt::green::tls::rustls` always match.
//!
//! ```
//! use std::io::{Read, Write};
//! use eventlet_rt::green::tls::{rustls::RootCertStore, TlsAcceptor, TlsConnector};
//!
//! // A certificate for "localhost", trusted by this client only.
//! let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
//! let key = cert.signing_key.serialize_der().try_into().unwrap();
//! let acceptor = TlsAcceptor::with_single_cert(vec![cert.cert.der().clone()], key)?;
//! let mut roots = RootCertStore::empty();
//! roots.add(cert.cert.der().clone()).unwrap();
//! let connector = TlsConnector::with_root_certificates(roots);
//!
//! let listener = eventlet_rt::listen("127.0.0.1:0")?;
//! let addr = listener.local_addr()?;
//! eventlet_rt::spawn_n(move || {
//!     let (tcp, _) = listener.accept().unwrap();
//!     let mut tls = acceptor.accept(tcp).unwrap();
//!     let mut word = [0; 5];
//!     tls.read_exact(&mut word).unwrap();
//!     tls.write_all(&word.to_ascii_uppercase()).unwrap();
//!     tls.shutdown().unwrap();
//! });
//! let mut tls = connector.connect("localhost", eventlet_rt::connect(addr)?)?;
//! tls.write_all(b"hello")?;
//! let mut reply = String::new();
//! tls.read_to_string(&mut reply)?;
//! assert_eq!(reply, "HELLO");
//! # Ok::<(), std::io::Error>(())
//! ```

mod client;
mod config;
mod error;
mod server;

use std::fmt;
use std::io::{self, BufRead, IoSlice, Read, Write};
use std::ops::{Deref, DerefMut};

use rustls::{ClientConnection, ConnectionCommon, ServerConnection, SideData, StreamOwned};

use crate::green::net::{Shutdown, TcpStream};

pub use client::TlsConnector;
pub use config::{default_provider, webpki_roots};
pub use error::{HandshakeError, HandshakeFailure};
pub use rustls;
pub use server::TlsAcceptor;

/// A TLS stream on the client side, from [`TlsConnector::connect`].
pub type ClientTlsStream = TlsStream<ClientConnection>;

/// A TLS stream on the server side, from [`TlsAcceptor::accept`].
pub type ServerTlsStream = TlsStream<ServerConnection>;

/// A TLS connection over a green [`TcpStream`], with its handshake done.
///
/// [`Read`] gives the peer's plaintext, [`Write`] encrypts and sends (a write
/// returns once its bytes are on the socket; `flush` is free). Like the
/// socket under it, it is `!Send` and its calls park only the calling green
/// thread. One green thread uses it at a time: TLS state is shared by both
/// directions, so there is no `try_clone`.
///
/// See the [module](self) for a full client and server.
pub struct TlsStream<C> {
    inner: StreamOwned<C, TcpStream>,
}

impl<C, S> TlsStream<C>
where
    C: DerefMut + Deref<Target = ConnectionCommon<S>>,
    S: SideData,
{
    /// Drives `conn`'s handshake over `tcp` to its end.
    fn handshake(conn: C, tcp: TcpStream) -> io::Result<TlsStream<C>> {
        let mut inner = StreamOwned::new(conn, tcp);
        while inner.conn.is_handshaking() {
            inner
                .conn
                .complete_io(&mut inner.sock)
                .map_err(error::handshake_failed)?;
        }
        Ok(TlsStream { inner })
    }

    /// The socket and the rustls connection state (negotiated version,
    /// cipher suite, ALPN protocol, peer certificates...).
    ///
    /// ```
    /// # use eventlet_rt::green::tls::{rustls::RootCertStore, TlsAcceptor, TlsConnector};
    /// # let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    /// # let key = cert.signing_key.serialize_der().try_into().unwrap();
    /// # let acceptor = TlsAcceptor::with_single_cert(vec![cert.cert.der().clone()], key)?;
    /// # let mut roots = RootCertStore::empty();
    /// # roots.add(cert.cert.der().clone()).unwrap();
    /// # let connector = TlsConnector::with_root_certificates(roots);
    /// # let listener = eventlet_rt::listen("127.0.0.1:0")?;
    /// # let addr = listener.local_addr()?;
    /// eventlet_rt::spawn_n(move || drop(acceptor.accept(listener.accept().unwrap().0)));
    /// let tls = connector.connect("localhost", eventlet_rt::connect(addr)?)?;
    /// let (tcp, state) = tls.get_ref();
    /// assert_eq!(tcp.peer_addr()?, addr);
    /// assert!(state.protocol_version().is_some());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn get_ref(&self) -> (&TcpStream, &C) {
        (&self.inner.sock, &self.inner.conn)
    }

    /// Ends the stream: sends TLS's `close_notify` alert, then shuts down
    /// the socket's write half. The peer reads the end of the stream (`Ok(0)`)
    /// and can still send; reading here goes on working until it is done.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// # use eventlet_rt::green::tls::{rustls::RootCertStore, TlsAcceptor, TlsConnector};
    /// # let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    /// # let key = cert.signing_key.serialize_der().try_into().unwrap();
    /// # let acceptor = TlsAcceptor::with_single_cert(vec![cert.cert.der().clone()], key)?;
    /// # let mut roots = RootCertStore::empty();
    /// # roots.add(cert.cert.der().clone()).unwrap();
    /// # let connector = TlsConnector::with_root_certificates(roots);
    /// # let listener = eventlet_rt::listen("127.0.0.1:0")?;
    /// # let addr = listener.local_addr()?;
    /// let server = eventlet_rt::spawn(move || -> std::io::Result<Vec<u8>> {
    ///     let mut tls = acceptor.accept(listener.accept()?.0)?;
    ///     let mut request = Vec::new();
    ///     tls.read_to_end(&mut request)?; // ends at the client's close_notify
    ///     tls.write_all(b"bye")?;
    ///     tls.shutdown()?;
    ///     Ok(request)
    /// });
    /// let mut tls = connector.connect("localhost", eventlet_rt::connect(addr)?)?;
    /// tls.write_all(b"that is all")?;
    /// tls.shutdown()?;
    /// let mut reply = Vec::new();
    /// tls.read_to_end(&mut reply)?;
    /// assert_eq!(reply, b"bye");
    /// assert_eq!(server.wait().unwrap()?, b"that is all");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&mut self) -> io::Result<()> {
        self.inner.conn.send_close_notify();
        while self.inner.conn.wants_write() {
            self.inner.conn.write_tls(&mut self.inner.sock)?;
        }
        self.inner.sock.shutdown(Shutdown::Write)
    }
}

impl<C, S> Read for TlsStream<C>
where
    C: DerefMut + Deref<Target = ConnectionCommon<S>>,
    S: SideData,
{
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl<C, S> BufRead for TlsStream<C>
where
    C: DerefMut + Deref<Target = ConnectionCommon<S>>,
    S: SideData + 'static,
{
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.inner.consume(amount)
    }
}

impl<C, S> Write for TlsStream<C>
where
    C: DerefMut + Deref<Target = ConnectionCommon<S>>,
    S: SideData,
{
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.inner.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<C> fmt::Debug for TlsStream<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsStream")
            .field("tcp", &self.inner.sock)
            .finish_non_exhaustive()
    }
}
