//! A small green HTTP/1.1 client: `GET` over a green [`TcpStream`].
//!
//! `httparse` parses the response head and the chunk sizes of a chunked body;
//! the `http` crate's types carry the URL and the response. Every blocking
//! step (name resolution, connect, reads, writes) parks only the calling
//! green thread, so a [`GreenPool`](eventlet_rt::GreenPool) can run
//! thousands of fetches at once. Plain `http://` only; the place where TLS
//! would wrap the stream is [`get`]'s connect.

use std::io::{self, Read, Write};
use std::time::Duration;

use eventlet_rt::green::net::TcpStream;
use http::{Response, Uri, Version};

/// The longest response head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// The most response headers accepted.
const MAX_HEADERS: usize = 64;
/// A server silent for this long fails the fetch instead of hanging it.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Fetches `url` with a `GET` and returns the whole response.
///
/// Any status is a successful fetch (check `response.status()`); errors are
/// I/O errors: `InvalidInput` for a bad URL, `Unsupported` for a scheme other
/// than `http`, `InvalidData` for a malformed response, `UnexpectedEof` for a
/// response cut short, and what connect, read and write give.
///
/// ```
/// use std::io::{Read, Write};
///
/// let listener = eventlet_rt::listen("127.0.0.1:0")?;
/// let url = format!("http://{}/hello", listener.local_addr()?);
/// eventlet_rt::spawn_n(move || {
///     let (mut conn, _) = listener.accept().unwrap();
///     conn.read(&mut [0; 1024]).unwrap();
///     conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello").unwrap();
/// });
/// let response = eventlet_examples::http_fetch::get(&url)?;
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.body(), b"hello");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn get(url: &str) -> io::Result<Response<Vec<u8>>> {
    let uri: Uri = url
        .parse()
        .map_err(|e| invalid_input(format!("{url}: {e}")))?;
    if uri.scheme_str() != Some("http") {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("{url}: only http:// URLs are supported"),
        ));
    }
    let (Some(host), Some(authority)) = (uri.host(), uri.authority()) else {
        return Err(invalid_input(format!("{url}: no host")));
    };
    let port = uri.port_u16().unwrap_or(80);
    let target = uri.path_and_query().map_or("/", |p| p.as_str());

    let mut stream = TcpStream::connect((host.trim_matches(['[', ']']), port))?;
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: eventlet-rs-examples\r\n\
         Accept: */*\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes())?;

    let mut reader = ResponseReader {
        stream,
        buf: Vec::with_capacity(16 * 1024),
    };
    let head = reader.read_head()?;
    let body = reader.read_body(&head)?;
    Ok(head.map(|()| body))
}

fn invalid_input(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

fn invalid_data(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

/// The response as it arrives: bytes read but not consumed yet stay in `buf`.
struct ResponseReader {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl ResponseReader {
    /// Reads more bytes into the buffer; 0 at the end of the stream.
    fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0; 16 * 1024];
        let n = self.stream.read(&mut chunk)?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// Reads until the buffer holds at least `len` bytes.
    fn fill_to(&mut self, len: usize) -> io::Result<()> {
        while self.buf.len() < len {
            if self.fill()? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        Ok(())
    }

    fn read_head(&mut self) -> io::Result<Response<()>> {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut parsed = httparse::Response::new(&mut headers);
            let status = parsed
                .parse(&self.buf)
                .map_err(|e| invalid_data(format!("bad response head: {e}")))?;
            if let httparse::Status::Complete(head_len) = status {
                let head = to_http(&parsed)?;
                self.buf.drain(..head_len);
                return Ok(head);
            }
            if self.buf.len() > MAX_HEAD {
                return Err(invalid_data("response head too long"));
            }
            if self.fill()? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    fn read_body(&mut self, head: &Response<()>) -> io::Result<Vec<u8>> {
        let status = head.status();
        if status.is_informational() || status == 204 || status == 304 {
            return Ok(Vec::new());
        }
        let headers = head.headers();
        let chunked = headers
            .get_all(http::header::TRANSFER_ENCODING)
            .iter()
            .any(|v| {
                v.to_str()
                    .is_ok_and(|v| v.to_ascii_lowercase().contains("chunked"))
            });
        if chunked {
            return self.read_chunked();
        }
        match headers.get(http::header::CONTENT_LENGTH) {
            Some(length) => {
                let length: usize = length
                    .to_str()
                    .ok()
                    .and_then(|v| v.trim().parse().ok())
                    .ok_or_else(|| invalid_data("bad Content-Length"))?;
                self.fill_to(length)?;
                self.buf.truncate(length);
            }
            None => while self.fill()? > 0 {},
        }
        Ok(std::mem::take(&mut self.buf))
    }

    fn read_chunked(&mut self) -> io::Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let (size_len, size) = loop {
                match httparse::parse_chunk_size(&self.buf) {
                    Ok(httparse::Status::Complete(parsed)) => break parsed,
                    Ok(httparse::Status::Partial) => self.fill_to(self.buf.len() + 1)?,
                    Err(_) => return Err(invalid_data("bad chunk size")),
                }
            };
            self.buf.drain(..size_len);
            if size == 0 {
                return Ok(body); // trailers, if any, die with the connection
            }
            let size = usize::try_from(size).map_err(|_| invalid_data("chunk too large"))?;
            self.fill_to(size + 2)?;
            if &self.buf[size..size + 2] != b"\r\n" {
                return Err(invalid_data("chunk not followed by CRLF"));
            }
            body.extend_from_slice(&self.buf[..size]);
            self.buf.drain(..size + 2);
        }
    }
}

/// The parsed head as an `http::Response`.
fn to_http(parsed: &httparse::Response<'_, '_>) -> io::Result<Response<()>> {
    let mut builder = Response::builder()
        .status(parsed.code.unwrap_or(0))
        .version(match parsed.version {
            Some(0) => Version::HTTP_10,
            _ => Version::HTTP_11,
        });
    for header in parsed.headers.iter() {
        builder = builder.header(header.name, header.value);
    }
    builder
        .body(())
        .map_err(|e| invalid_data(format!("bad response head: {e}")))
}
