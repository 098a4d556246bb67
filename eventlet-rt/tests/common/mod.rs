//! Certificates for the TLS and HTTP tests: made with rcgen at test time.
// Each test binary uses part of these helpers.
#![allow(dead_code)]

use std::io::{Read, Write};

use eventlet_rt::green::net::{SocketAddr, TcpListener};
use eventlet_rt::green::tls::rustls::RootCertStore;
use eventlet_rt::green::tls::rustls::pki_types::CertificateDer;
use eventlet_rt::green::tls::{TlsAcceptor, TlsConnector};
use eventlet_rt::{GreenThread, spawn};
use rcgen::{CertificateParams, KeyPair};

/// A server identity: its certificate and an acceptor presenting it.
pub struct Identity {
    pub cert: CertificateDer<'static>,
    pub acceptor: TlsAcceptor,
}

impl Identity {
    /// A self-signed certificate for `localhost` and 127.0.0.1.
    pub fn localhost() -> Identity {
        Identity::with_params(
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap(),
        )
    }

    /// A self-signed certificate made from `params`.
    pub fn with_params(params: CertificateParams) -> Identity {
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap().der().clone();
        let acceptor = TlsAcceptor::with_single_cert(
            vec![cert.clone()],
            key.serialize_der().try_into().unwrap(),
        )
        .unwrap();
        Identity { cert, acceptor }
    }

    /// A client trusting this certificate only.
    pub fn connector(&self) -> TlsConnector {
        let mut roots = RootCertStore::empty();
        roots.add(self.cert.clone()).unwrap();
        TlsConnector::with_root_certificates(roots)
    }
}

/// A TLS echo server in a green thread of this OS thread; kill it to stop.
pub fn echo_server(acceptor: TlsAcceptor) -> (SocketAddr, GreenThread<std::io::Result<()>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = spawn(move || {
        eventlet_rt::serve(listener, move |tcp, _| {
            let Ok(mut tls) = acceptor.accept(tcp) else {
                return;
            };
            let mut buf = [0; 16 * 1024];
            loop {
                match tls.read(&mut buf) {
                    Ok(0) => return drop(tls.shutdown()),
                    Err(_) => return,
                    Ok(n) => {
                        if tls.write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                }
            }
        })
    });
    (addr, server)
}
