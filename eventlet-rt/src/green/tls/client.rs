//! The client side: `TlsConnector` runs a client handshake over a green socket.

use std::fmt;
use std::io;
use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore};

use super::{ClientTlsStream, TlsStream, config};
use crate::green::net::TcpStream;

/// Opens client TLS streams over green sockets; a cheap `Clone` handle on one
/// [`rustls::ClientConfig`] (session tickets are shared between its streams).
///
/// ```no_run
/// use std::io::{Read, Write};
/// use eventlet_rt::green::tls::TlsConnector;
///
/// let tcp = eventlet_rt::connect(("example.com", 443))?;
/// let mut tls = TlsConnector::new().connect("example.com", tcp)?;
/// tls.write_all(b"GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n")?;
/// let mut page = String::new();
/// tls.read_to_string(&mut page)?;
/// assert!(page.starts_with("HTTP/1.1"));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct TlsConnector {
    config: Arc<ClientConfig>,
}

impl TlsConnector {
    /// A connector trusting the Mozilla roots of `webpki-roots`, on rustls's
    /// `ring` provider with its safe default protocol versions.
    ///
    /// ```
    /// let connector = eventlet_rt::green::tls::TlsConnector::new();
    /// assert!(connector.config().alpn_protocols.is_empty());
    /// ```
    pub fn new() -> TlsConnector {
        TlsConnector::with_root_certificates(config::webpki_roots())
    }

    /// A connector trusting `roots` only (for instance a private CA, or a
    /// test server's self-signed certificate).
    ///
    /// ```
    /// use eventlet_rt::green::tls::{rustls::RootCertStore, TlsConnector};
    /// let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    /// let mut roots = RootCertStore::empty();
    /// roots.add(cert.cert.der().clone()).unwrap();
    /// let connector = TlsConnector::with_root_certificates(roots);
    /// # drop(connector);
    /// ```
    pub fn with_root_certificates(roots: RootCertStore) -> TlsConnector {
        TlsConnector {
            config: config::client_config(roots),
        }
    }

    /// The rustls configuration of its streams.
    ///
    /// ```
    /// let connector = eventlet_rt::green::tls::TlsConnector::new();
    /// assert!(connector.config().enable_sni);
    /// ```
    pub fn config(&self) -> &Arc<ClientConfig> {
        &self.config
    }

    /// Runs a TLS handshake over `tcp` with the server named `server_name`
    /// (a DNS name or an IP address, checked against its certificate).
    ///
    /// Only the calling green thread waits. A failed handshake gives an
    /// `io::Error` holding a [`HandshakeError`](super::HandshakeError); the
    /// socket's timeouts and [`with_timeout`](crate::with_timeout) bound it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use eventlet_rt::green::tls::TlsConnector;
    ///
    /// // A server that accepts and then says nothing: the handshake times out.
    /// let listener = eventlet_rt::listen("127.0.0.1:0")?;
    /// let tcp = eventlet_rt::connect(listener.local_addr()?)?;
    /// tcp.set_read_timeout(Some(Duration::from_millis(50)))?;
    /// let error = TlsConnector::new().connect("localhost", tcp).unwrap_err();
    /// assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect(&self, server_name: &str, tcp: TcpStream) -> io::Result<ClientTlsStream> {
        let name = ServerName::try_from(server_name)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?
            .to_owned();
        let conn = ClientConnection::new(self.config.clone(), name)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        TlsStream::handshake(conn, tcp)
    }
}

impl Default for TlsConnector {
    fn default() -> TlsConnector {
        TlsConnector::new()
    }
}

impl From<Arc<ClientConfig>> for TlsConnector {
    /// A connector with any rustls client configuration: client
    /// certificates, ALPN, a custom verifier...
    ///
    /// ```
    /// use std::sync::Arc;
    /// use eventlet_rt::green::tls::{self, rustls, TlsConnector};
    ///
    /// let mut config = rustls::ClientConfig::builder_with_provider(tls::default_provider())
    ///     .with_safe_default_protocol_versions()
    ///     .unwrap()
    ///     .with_root_certificates(tls::webpki_roots())
    ///     .with_no_client_auth();
    /// config.alpn_protocols = vec![b"http/1.1".to_vec()];
    /// let connector = TlsConnector::from(Arc::new(config));
    /// assert_eq!(connector.config().alpn_protocols, [b"http/1.1"]);
    /// ```
    fn from(config: Arc<ClientConfig>) -> TlsConnector {
        TlsConnector { config }
    }
}

impl fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConnector").finish_non_exhaustive()
    }
}
