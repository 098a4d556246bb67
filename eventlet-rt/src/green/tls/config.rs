//! The defaults a TLS client starts from: rustls's `ring` provider and the
//! Mozilla root certificates of `webpki-roots`.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, RootCertStore};

/// The cryptography every default configuration of this module uses:
/// rustls's `ring` provider (pure Rust and assembly; the build needs no cmake).
///
/// Use it to build a custom [`rustls::ClientConfig`] or [`rustls::ServerConfig`]
/// on the same provider as the defaults.
///
/// ```
/// use eventlet_rt::green::tls::{self, rustls};
///
/// let config = rustls::ClientConfig::builder_with_provider(tls::default_provider())
///     .with_safe_default_protocol_versions()?
///     .with_root_certificates(tls::webpki_roots())
///     .with_no_client_auth();
/// assert!(config.alpn_protocols.is_empty());
/// # Ok::<(), rustls::Error>(())
/// ```
pub fn default_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The Mozilla root certificates (the `webpki-roots` crate): the trust store of
/// [`TlsConnector::new`](super::TlsConnector::new).
///
/// ```
/// assert!(eventlet_rt::green::tls::webpki_roots().len() > 100);
/// ```
pub fn webpki_roots() -> RootCertStore {
    RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

/// A client configuration trusting `roots`, on the default provider.
pub(super) fn client_config(roots: RootCertStore) -> Arc<ClientConfig> {
    let config = ClientConfig::builder_with_provider(default_provider())
        .with_safe_default_protocol_versions()
        .expect("eventlet-rt: the ring provider supports rustls's default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}
