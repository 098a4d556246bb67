//! A small web site served by green threads in this process, for the
//! crawlers and tests to fetch, over `http://` and `https://` at once.
//!
//! Its pages have varied sizes and latencies and link to each other, so a
//! crawl from `/` finds every page. For the HTTP client's tests it also
//! serves bodies of any size (`/bytes/N` with a `Content-Length`,
//! `/chunked/N` chunked), a redirect (`/redirect/N` to `/page/N`), a page
//! that stalls for a minute (`/stall`), and 404 for anything else.
//!
//! The `https://` side presents a certificate made at start-up with `rcgen`
//! for `localhost` and `127.0.0.1`; only clients told to trust it
//! ([`Site::agent`]) accept it. The server reads requests with `httparse`
//! and answers each with `Connection: close`.

mod pages;
mod responder;

use std::io;
use std::time::Duration;

use eventlet_rt::GreenThread;
use eventlet_rt::green::net::{SocketAddr, TcpListener, TcpStream};
use eventlet_rt::green::tls::TlsAcceptor;
use eventlet_rt::green::tls::rustls::pki_types::CertificateDer;
use eventlet_rt::http::ureq::Agent;

pub use pages::{PAGES, Page, STALL, bytes};
use responder::respond;

/// The running site; dropping it stops both servers.
#[derive(Debug)]
pub struct Site {
    http: SocketAddr,
    https: SocketAddr,
    certificate: CertificateDer<'static>,
    certificate_pem: String,
    servers: [GreenThread<io::Result<()>>; 2],
}

impl Site {
    /// Starts the site on two free loopback ports, one for `http://` and one
    /// for `https://` (with a fresh self-signed certificate), in green
    /// threads of this OS thread: they run whenever this thread blocks on
    /// something green.
    ///
    /// ```
    /// let site = eventlet_examples::site::Site::start()?;
    /// let agent = site.agent();
    /// for url in [site.url("/page/1"), site.https_url("/page/1")] {
    ///     let body = agent.get(&url).call().unwrap().body_mut().read_to_vec().unwrap();
    ///     assert_eq!(body.len(), eventlet_examples::site::Page::new(1).size);
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn start() -> io::Result<Site> {
        let identity = rcgen::generate_simple_self_signed(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
        ])
        .map_err(io::Error::other)?;
        let certificate = identity.cert.der().clone();
        let certificate_pem = identity.cert.pem();
        let key = identity
            .signing_key
            .serialize_der()
            .try_into()
            .map_err(io::Error::other)?;
        let acceptor = TlsAcceptor::with_single_cert(vec![certificate.clone()], key)?;

        let plain = eventlet_rt::listen("127.0.0.1:0")?;
        let tls = eventlet_rt::listen("127.0.0.1:0")?;
        let (http, https) = (plain.local_addr()?, tls.local_addr()?);
        let servers = [
            eventlet_rt::spawn(move || {
                eventlet_rt::serve(plain, |mut tcp, _| drop(respond(&mut tcp)))
            }),
            eventlet_rt::spawn(move || serve_tls(tls, acceptor)),
        ];
        Ok(Site {
            http,
            https,
            certificate,
            certificate_pem,
            servers,
        })
    }

    /// The address of the `http://` server.
    ///
    /// ```
    /// let site = eventlet_examples::site::Site::start()?;
    /// assert!(site.addr().ip().is_loopback());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.http
    }

    /// The full `http://` URL of `path` on this site.
    ///
    /// ```
    /// let site = eventlet_examples::site::Site::start()?;
    /// assert_eq!(site.url("/page/1"), format!("http://{}/page/1", site.addr()));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    /// The full `https://` URL of `path` on this site (another port).
    ///
    /// ```
    /// let site = eventlet_examples::site::Site::start()?;
    /// assert!(site.https_url("/").starts_with("https://127.0.0.1:"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn https_url(&self, path: &str) -> String {
        format!("https://{}{path}", self.https)
    }

    /// The `http://` URLs of all pages, in order.
    ///
    /// ```
    /// let site = eventlet_examples::site::Site::start()?;
    /// assert_eq!(site.page_urls().len(), eventlet_examples::site::PAGES);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn page_urls(&self) -> Vec<String> {
        (0..PAGES).map(|i| self.url(&Page::new(i).path())).collect()
    }

    /// The URLs of all pages, in order: even pages over `http://`, odd
    /// pages over `https://`.
    ///
    /// ```
    /// let site = eventlet_examples::site::Site::start()?;
    /// let urls = site.mixed_page_urls();
    /// assert!(urls[0].starts_with("http://") && urls[1].starts_with("https://"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn mixed_page_urls(&self) -> Vec<String> {
        (0..PAGES)
            .map(|i| match i % 2 {
                0 => self.url(&Page::new(i).path()),
                _ => self.https_url(&Page::new(i).path()),
            })
            .collect()
    }

    /// The certificate of the `https://` side (self-signed, made at start-up).
    ///
    /// ```
    /// use eventlet_rt::green::tls::{rustls::RootCertStore, TlsConnector};
    /// let site = eventlet_examples::site::Site::start()?;
    /// let mut roots = RootCertStore::empty();
    /// roots.add(site.certificate().clone()).unwrap();
    /// let port = site.https_url("/").rsplit(':').next().unwrap().trim_end_matches('/').parse::<u16>().unwrap();
    /// let tcp = eventlet_rt::connect(("127.0.0.1", port))?;
    /// TlsConnector::with_root_certificates(roots).connect("localhost", tcp)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn certificate(&self) -> &CertificateDer<'static> {
        &self.certificate
    }

    /// The same certificate in PEM, for programs told to trust it
    /// (`crawler --cacert FILE`).
    ///
    /// ```
    /// let site = eventlet_examples::site::Site::start()?;
    /// assert!(site.certificate_pem().starts_with("-----BEGIN CERTIFICATE-----"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// A green HTTP client that trusts this site's certificate (and no
    /// other), with a 30 s timeout; see [`crate::fetch::agent`].
    ///
    /// ```
    /// let site = eventlet_examples::site::Site::start()?;
    /// let mut response = site.agent().get(&site.https_url("/")).call().unwrap();
    /// assert_eq!(response.body_mut().read_to_vec().unwrap().len(), 1_000);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn agent(&self) -> Agent {
        crate::fetch::agent(Some(&self.certificate), Duration::from_secs(30))
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        self.servers.iter().for_each(GreenThread::kill);
    }
}

/// Serves `https://`: each connection's handshake runs in its own green thread.
fn serve_tls(listener: TcpListener, acceptor: TlsAcceptor) -> io::Result<()> {
    eventlet_rt::serve(listener, move |tcp: TcpStream, _| {
        let Ok(mut tls) = acceptor.accept(tcp) else {
            return;
        };
        if respond(&mut tls).is_ok() {
            let _ = tls.shutdown();
        }
    })
}
