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

use std::io::{self, Read, Write};
use std::time::Duration;

use eventlet_rt::GreenThread;
use eventlet_rt::green::net::{SocketAddr, TcpListener, TcpStream};
use eventlet_rt::green::tls::TlsAcceptor;
use eventlet_rt::green::tls::rustls::pki_types::CertificateDer;
use eventlet_rt::http::ureq::Agent;

/// How many pages the site has (besides its index, `/`).
pub const PAGES: usize = 24;

/// How long `/stall` waits before it answers.
pub const STALL: Duration = Duration::from_secs(60);

/// What the site serves at `/page/{index}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Its position, 0 to `PAGES - 1`.
    pub index: usize,
    /// Body length in bytes.
    pub size: usize,
    /// How long the server takes before it answers.
    pub latency: Duration,
}

impl Page {
    /// Page `index`: sizes from 2 KB to 62 KB, latencies from 40 to 240 ms.
    ///
    /// ```
    /// let page = eventlet_examples::site::Page::new(3);
    /// assert_eq!(page.path(), "/page/3");
    /// assert!(page.size >= 2_000 && page.latency >= std::time::Duration::from_millis(40));
    /// ```
    pub fn new(index: usize) -> Page {
        Page {
            index,
            size: 2_000 + (index * 7_919) % 60_000,
            latency: Duration::from_millis(40 + (index as u64 * 53) % 200),
        }
    }

    /// Its path on the site.
    ///
    /// ```
    /// assert_eq!(eventlet_examples::site::Page::new(7).path(), "/page/7");
    /// ```
    pub fn path(&self) -> String {
        format!("/page/{}", self.index)
    }

    /// The pages it links to: its children in a binary tree, so a crawl
    /// from `/page/0` reaches them all; plus links back home and off-site.
    ///
    /// ```
    /// let links = eventlet_examples::site::Page::new(0).links();
    /// assert_eq!(links[..2], ["/page/1", "/page/2"]);
    /// ```
    pub fn links(&self) -> Vec<String> {
        let mut links: Vec<String> = [2 * self.index + 1, 2 * self.index + 2]
            .into_iter()
            .filter(|&child| child < PAGES)
            .map(|child| Page::new(child).path())
            .collect();
        links.push("/".to_owned());
        links.push("http://elsewhere.invalid/".to_owned());
        links
    }

    fn body(&self) -> Vec<u8> {
        let mut html = format!("<html><body><h1>Page {}</h1>\n", self.index);
        for link in self.links() {
            html.push_str(&format!("<a href=\"{link}\">{link}</a>\n"));
        }
        html.push_str("<p>");
        filled_to(html.into_bytes(), self.size, "</p></body></html>\n")
    }
}

/// The body of `/bytes/{len}` and `/chunked/{len}`: `len` bytes counting
/// up modulo 251, so a misplaced byte shows.
///
/// ```
/// assert_eq!(eventlet_examples::site::bytes(3), [0, 1, 2]);
/// ```
pub fn bytes(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// `start`, padded with text until it is `size` bytes long with `end` last.
fn filled_to(mut start: Vec<u8>, size: usize, end: &str) -> Vec<u8> {
    const FILLER: &[u8] = b"green threads cooperate on one hub. ";
    let room = size.saturating_sub(start.len() + end.len());
    start.extend(FILLER.iter().cycle().take(room));
    start.extend_from_slice(end.as_bytes());
    start
}

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

/// Answers one request on `stream`; an error just ends the connection.
fn respond(stream: &mut impl ReadWrite) -> io::Result<()> {
    let Some(path) = read_request_path(stream)? else {
        return Ok(());
    };
    let response = match route(&path) {
        Some(Route::Body {
            latency,
            content_type,
            body,
            chunked,
        }) => {
            eventlet_rt::sleep(latency);
            ok_response(content_type, body, chunked)
        }
        Some(Route::Redirect(location)) => format!(
            "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\
             Connection: close\r\n\r\n"
        )
        .into_bytes(),
        None => {
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
        }
    };
    stream.write_all(&response)
}

/// A stream the site can serve: a plain or a TLS connection.
trait ReadWrite: Read + Write {}
impl<S: Read + Write> ReadWrite for S {}

/// What the site sends for a path.
enum Route {
    Body {
        latency: Duration,
        content_type: &'static str,
        body: Vec<u8>,
        chunked: bool,
    },
    Redirect(String),
}

fn route(path: &str) -> Option<Route> {
    let html = |latency, body, chunked| Route::Body {
        latency,
        content_type: "text/html",
        body,
        chunked,
    };
    let binary = |len: usize, chunked| Route::Body {
        latency: Duration::ZERO,
        content_type: "application/octet-stream",
        body: bytes(len),
        chunked,
    };
    let (kind, arg) = match path.rsplit_once('/') {
        Some((kind, arg)) if !kind.is_empty() => (kind, arg),
        _ => (path, ""),
    };
    match (kind, arg.parse::<usize>().ok()) {
        ("/", None) => Some(html(Duration::from_millis(10), index_body(), false)),
        ("/stall", None) => Some(html(STALL, Vec::new(), false)),
        ("/page", Some(index)) if index < PAGES => {
            let page = Page::new(index);
            Some(html(page.latency, page.body(), index % 3 == 0))
        }
        ("/bytes", Some(len)) => Some(binary(len, false)),
        ("/chunked", Some(len)) => Some(binary(len, true)),
        ("/redirect", Some(index)) => Some(Route::Redirect(Page::new(index).path())),
        _ => None,
    }
}

fn index_body() -> Vec<u8> {
    let start = format!(
        "<html><body><a href=\"{}\">start</a>\n",
        Page::new(0).path()
    );
    filled_to(start.into_bytes(), 1_000, "</body></html>\n")
}

fn ok_response(content_type: &str, body: Vec<u8>, chunked: bool) -> Vec<u8> {
    let framing = if chunked {
        "Transfer-Encoding: chunked".to_owned()
    } else {
        format!("Content-Length: {}", body.len())
    };
    let mut response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nServer: eventlet-examples\r\n\
         {framing}\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    if !chunked {
        response.extend_from_slice(&body);
        return response;
    }
    for chunk in body.chunks(4096) {
        response.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        response.extend_from_slice(chunk);
        response.extend_from_slice(b"\r\n");
    }
    response.extend_from_slice(b"0\r\n\r\n");
    response
}

/// Reads a request head; the path of a `GET`, `None` for anything else.
fn read_request_path(stream: &mut impl Read) -> io::Result<Option<String>> {
    let mut buf = Vec::new();
    let mut chunk = [0; 2048];
    loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 || buf.len() > 16 * 1024 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&buf) {
            Ok(httparse::Status::Complete(_)) if request.method == Some("GET") => {
                return Ok(request.path.map(str::to_owned));
            }
            Ok(httparse::Status::Partial) => continue,
            _ => return Ok(None),
        }
    }
}
