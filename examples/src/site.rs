//! A small web site served by green threads in this process, for the
//! crawlers to fetch: pages of varied sizes and latencies that link to each
//! other, so a crawl from `/` finds every page.
//!
//! The server reads requests with `httparse` and answers `GET` with
//! `Connection: close`; every third page is sent chunked so clients meet
//! both body framings.

use std::io::{self, Read, Write};
use std::time::Duration;

use eventlet_rt::GreenThread;
use eventlet_rt::green::net::{SocketAddr, TcpStream};

/// How many pages the site has (besides its index, `/`).
pub const PAGES: usize = 24;

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
    pub fn path(&self) -> String {
        format!("/page/{}", self.index)
    }

    /// The pages it links to: its children in a binary tree, so a crawl
    /// from `/page/0` reaches them all; plus links back home and off-site.
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

/// `start`, padded with text until it is `size` bytes long with `end` last.
fn filled_to(mut start: Vec<u8>, size: usize, end: &str) -> Vec<u8> {
    const FILLER: &[u8] = b"green threads cooperate on one hub. ";
    let room = size.saturating_sub(start.len() + end.len());
    start.extend(FILLER.iter().cycle().take(room));
    start.extend_from_slice(end.as_bytes());
    start
}

/// The running site; dropping it stops the server.
#[derive(Debug)]
pub struct Site {
    addr: SocketAddr,
    server: GreenThread<io::Result<()>>,
}

impl Site {
    /// Starts the server on a free loopback port, in a green thread of this
    /// OS thread: it runs whenever this thread blocks on something green.
    ///
    /// ```
    /// let site = eventlet_examples::site::Site::start()?;
    /// let response = eventlet_examples::http_fetch::get(&site.url("/page/1"))?;
    /// assert_eq!(response.body().len(), eventlet_examples::site::Page::new(1).size);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn start() -> io::Result<Site> {
        let listener = eventlet_rt::listen("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let server = eventlet_rt::spawn(move || eventlet_rt::serve(listener, respond));
        Ok(Site { addr, server })
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The full URL of `path` on this site.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The URLs of all pages, in order.
    pub fn page_urls(&self) -> Vec<String> {
        (0..PAGES).map(|i| self.url(&Page::new(i).path())).collect()
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        self.server.kill();
    }
}

/// Answers one request on `stream`; errors just end the connection.
fn respond(mut stream: TcpStream, _client: SocketAddr) {
    let Ok(Some(path)) = read_request_path(&mut stream) else {
        return;
    };
    let response = match route(&path) {
        Some((latency, body, chunked)) => {
            eventlet_rt::sleep(latency);
            ok_response(body, chunked)
        }
        None => {
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
        }
    };
    let _ = stream.write_all(&response);
}

/// What to send for `path`: latency, body, and whether to send it chunked.
fn route(path: &str) -> Option<(Duration, Vec<u8>, bool)> {
    if path == "/" {
        return Some((Duration::from_millis(10), index_body(), false));
    }
    let index = path.strip_prefix("/page/")?.parse::<usize>().ok()?;
    let page = (index < PAGES).then(|| Page::new(index))?;
    Some((page.latency, page.body(), index % 3 == 0))
}

fn index_body() -> Vec<u8> {
    let start = format!(
        "<html><body><a href=\"{}\">start</a>\n",
        Page::new(0).path()
    );
    filled_to(start.into_bytes(), 1_000, "</body></html>\n")
}

fn ok_response(body: Vec<u8>, chunked: bool) -> Vec<u8> {
    let framing = if chunked {
        "Transfer-Encoding: chunked".to_owned()
    } else {
        format!("Content-Length: {}", body.len())
    };
    let mut response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n{framing}\r\nConnection: close\r\n\r\n"
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
fn read_request_path(stream: &mut TcpStream) -> io::Result<Option<String>> {
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
