//! The server side: `TlsAcceptor` runs a server handshake over a green socket.

use std::fmt;
use std::io;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, ServerConnection};

use super::{ServerTlsStream, TlsStream, config};
use crate::green::net::TcpStream;

/// Accepts TLS clients on green sockets; a cheap `Clone` handle on one
/// [`rustls::ServerConfig`], shared by every connection of a server.
///
/// ```
/// use std::io::{BufRead, Write};
/// use eventlet_rt::green::tls::{rustls::RootCertStore, TlsAcceptor, TlsConnector};
///
/// # let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
/// # let key = cert.signing_key.serialize_der().try_into().unwrap();
/// # let mut roots = RootCertStore::empty();
/// # roots.add(cert.cert.der().clone()).unwrap();
/// let acceptor = TlsAcceptor::with_single_cert(vec![cert.cert.der().clone()], key)?;
/// let listener = eventlet_rt::listen("127.0.0.1:0")?;
/// let addr = listener.local_addr()?;
/// // An echo server: each connection's handshake and lines run in its own green thread.
/// let server = eventlet_rt::spawn(move || {
///     eventlet_rt::serve(listener, move |tcp, _| {
///         let Ok(mut tls) = acceptor.accept(tcp) else { return };
///         let mut line = String::new();
///         while tls.read_line(&mut line).is_ok_and(|n| n > 0) {
///             let _ = tls.write_all(line.as_bytes());
///             line.clear();
///         }
///     })
/// });
/// let connector = TlsConnector::with_root_certificates(roots);
/// let mut tls = connector.connect("localhost", eventlet_rt::connect(addr)?)?;
/// tls.write_all(b"ping\n")?;
/// let mut echo = String::new();
/// tls.read_line(&mut echo)?;
/// assert_eq!(echo, "ping\n");
/// server.kill();
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct TlsAcceptor {
    config: Arc<ServerConfig>,
}

impl TlsAcceptor {
    /// An acceptor presenting `cert_chain` (the server's certificate first)
    /// and proving it with `key`, on the default provider, without client
    /// authentication.
    ///
    /// Fails with `InvalidInput` if the key does not match the certificate or
    /// is of a kind the provider does not support.
    ///
    /// ```
    /// use eventlet_rt::green::tls::TlsAcceptor;
    /// let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    /// let key = cert.signing_key.serialize_der().try_into().unwrap();
    /// let acceptor = TlsAcceptor::with_single_cert(vec![cert.cert.der().clone()], key)?;
    /// assert!(acceptor.config().alpn_protocols.is_empty());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn with_single_cert(
        cert_chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> io::Result<TlsAcceptor> {
        let config = ServerConfig::builder_with_provider(config::default_provider())
            .with_safe_default_protocol_versions()
            .and_then(|builder| {
                builder
                    .with_no_client_auth()
                    .with_single_cert(cert_chain, key)
            })
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        Ok(TlsAcceptor::from(Arc::new(config)))
    }

    /// The rustls configuration of its streams.
    ///
    /// ```
    /// # let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    /// # let key = cert.signing_key.serialize_der().try_into().unwrap();
    /// let acceptor = eventlet_rt::green::tls::TlsAcceptor::with_single_cert(vec![cert.cert.der().clone()], key)?;
    /// assert!(acceptor.config().max_early_data_size == 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn config(&self) -> &Arc<ServerConfig> {
        &self.config
    }

    /// Runs a TLS handshake over `tcp` as the server.
    ///
    /// Only the calling green thread waits, so run it in the connection's own
    /// green thread (as [`serve`](crate::serve) does): a slow or hostile
    /// client then delays nobody else. A failed handshake gives an
    /// `io::Error` holding a [`HandshakeError`](super::HandshakeError).
    ///
    /// ```
    /// use std::io::Write;
    /// use eventlet_rt::green::tls::{HandshakeError, HandshakeFailure, TlsAcceptor};
    /// # let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    /// # let key = cert.signing_key.serialize_der().try_into().unwrap();
    /// let acceptor = TlsAcceptor::with_single_cert(vec![cert.cert.der().clone()], key)?;
    /// let listener = eventlet_rt::listen("127.0.0.1:0")?;
    /// // A client that speaks plain HTTP to a TLS port.
    /// let mut client = eventlet_rt::connect(listener.local_addr()?)?;
    /// client.write_all(b"GET / HTTP/1.1\r\n\r\n")?;
    /// let error = acceptor.accept(listener.accept()?.0).unwrap_err();
    /// let failure = error.get_ref().and_then(|e| e.downcast_ref::<HandshakeError>());
    /// assert_eq!(failure.map(HandshakeError::failure), Some(HandshakeFailure::Protocol));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn accept(&self, tcp: TcpStream) -> io::Result<ServerTlsStream> {
        let conn = ServerConnection::new(self.config.clone())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        TlsStream::handshake(conn, tcp)
    }
}

impl From<Arc<ServerConfig>> for TlsAcceptor {
    /// An acceptor with any rustls server configuration: client
    /// authentication, ALPN, session resumption settings...
    ///
    /// ```
    /// use std::sync::Arc;
    /// use eventlet_rt::green::tls::{self, rustls, TlsAcceptor};
    /// # let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    /// # let key = cert.signing_key.serialize_der().try_into().unwrap();
    /// let mut config = rustls::ServerConfig::builder_with_provider(tls::default_provider())
    ///     .with_safe_default_protocol_versions()
    ///     .unwrap()
    ///     .with_no_client_auth()
    ///     .with_single_cert(vec![cert.cert.der().clone()], key)
    ///     .unwrap();
    /// config.alpn_protocols = vec![b"http/1.1".to_vec()];
    /// let acceptor = TlsAcceptor::from(Arc::new(config));
    /// assert_eq!(acceptor.config().alpn_protocols, [b"http/1.1"]);
    /// ```
    fn from(config: Arc<ServerConfig>) -> TlsAcceptor {
        TlsAcceptor { config }
    }
}

impl fmt::Debug for TlsAcceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsAcceptor").finish_non_exhaustive()
    }
}
