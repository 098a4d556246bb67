//! Handshake failures as `io::Error`s whose message says what failed.

use std::error::Error;
use std::fmt;
use std::io;

use rustls::CertificateError;

/// What went wrong in a TLS handshake; see [`HandshakeError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HandshakeFailure {
    /// The peer's certificate is not signed by a trusted root.
    UnknownIssuer,
    /// The peer's certificate is not valid for the name that was asked for.
    NameMismatch,
    /// The peer's certificate has expired.
    Expired,
    /// The peer's certificate is not valid yet.
    NotYetValid,
    /// The peer's certificate was rejected for another reason (bad encoding,
    /// bad signature, revoked, wrong purpose...).
    BadCertificate,
    /// The peer refused the handshake with an alert (for instance, it does not
    /// trust our certificate).
    PeerRejected,
    /// The peer closed the connection before the handshake was done.
    PeerClosed,
    /// The peer broke the TLS protocol, or no protocol version or cipher suite
    /// is shared.
    Protocol,
}

impl HandshakeFailure {
    fn describe(self) -> &'static str {
        match self {
            HandshakeFailure::UnknownIssuer => {
                "unknown issuer: the peer's certificate is not signed by a trusted root"
            }
            HandshakeFailure::NameMismatch => {
                "name mismatch: the peer's certificate is not valid for this name"
            }
            HandshakeFailure::Expired => "expired: the peer's certificate has expired",
            HandshakeFailure::NotYetValid => {
                "not yet valid: the peer's certificate is not valid yet"
            }
            HandshakeFailure::BadCertificate => "bad certificate",
            HandshakeFailure::PeerRejected => "the peer rejected the handshake",
            HandshakeFailure::PeerClosed => "the peer closed the connection mid-handshake",
            HandshakeFailure::Protocol => "protocol error",
        }
    }
}

/// The error inside the `io::Error` of a failed handshake: says what failed
/// and keeps rustls's own error as its [`source`](Error::source).
///
/// ```
/// use eventlet_rt::green::tls::{HandshakeError, HandshakeFailure, TlsConnector};
///
/// // A "server" that hangs up at once: the handshake fails with PeerClosed.
/// let listener = eventlet_rt::listen("127.0.0.1:0")?;
/// let addr = listener.local_addr()?;
/// eventlet_rt::spawn_n(move || drop(listener.accept()));
/// let tcp = eventlet_rt::connect(addr)?;
/// let error = TlsConnector::new().connect("localhost", tcp).unwrap_err();
/// let failure = error.get_ref().and_then(|e| e.downcast_ref::<HandshakeError>());
/// assert_eq!(failure.map(HandshakeError::failure), Some(HandshakeFailure::PeerClosed));
/// assert!(error.to_string().contains("closed the connection mid-handshake"), "{error}");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct HandshakeError {
    failure: HandshakeFailure,
    source: io::Error,
}

impl HandshakeError {
    /// What failed.
    ///
    /// ```
    /// # use eventlet_rt::green::tls::{HandshakeError, HandshakeFailure};
    /// # fn check(error: &HandshakeError) {
    /// if error.failure() == HandshakeFailure::UnknownIssuer {
    ///     eprintln!("add the server's CA to the client's roots");
    /// }
    /// # }
    /// ```
    pub fn failure(&self) -> HandshakeFailure {
        self.failure
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TLS handshake failed: {} ({})",
            self.failure.describe(),
            self.source
        )
    }
}

impl Error for HandshakeError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

/// Turns the error of a handshake step into one that says what failed.
///
/// Errors that are not about TLS (a timeout, a reset connection) keep their
/// kind and message, so `ErrorKind::TimedOut` still means a timeout.
pub(super) fn handshake_failed(error: io::Error) -> io::Error {
    let failure = match error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    {
        Some(tls) => classify(tls),
        None => match error.kind() {
            io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe => HandshakeFailure::PeerClosed,
            _ => return error,
        },
    };
    let kind = match failure {
        HandshakeFailure::PeerClosed => io::ErrorKind::UnexpectedEof,
        _ => io::ErrorKind::InvalidData,
    };
    io::Error::new(
        kind,
        HandshakeError {
            failure,
            source: error,
        },
    )
}

fn classify(error: &rustls::Error) -> HandshakeFailure {
    match error {
        rustls::Error::InvalidCertificate(certificate) => match certificate {
            CertificateError::UnknownIssuer => HandshakeFailure::UnknownIssuer,
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                HandshakeFailure::NameMismatch
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                HandshakeFailure::Expired
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                HandshakeFailure::NotYetValid
            }
            _ => HandshakeFailure::BadCertificate,
        },
        rustls::Error::AlertReceived(_) => HandshakeFailure::PeerRejected,
        _ => HandshakeFailure::Protocol,
    }
}
