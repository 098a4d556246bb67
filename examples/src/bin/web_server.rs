//! A web server on `eventlet_rt::http::Server` (Eventlet's `wsgi.server`):
//! plain blocking handlers, one green thread per connection, one hub per
//! core.
//!
//! ```text
//! cargo run --release -p eventlet-examples --bin web_server                   # port 8080, every core
//! cargo run --release -p eventlet-examples --bin web_server -- --port 0       # any free port
//! cargo run --release -p eventlet-examples --bin web_server -- --threads 1    # one hub
//! ```
//!
//! The first line printed is `listening on http://HOST:PORT/`. Routes:
//! `GET /` (this list), `GET /plaintext`, `GET /json` (TechEmpower's two
//! simplest tests), `POST /echo` (the request body back, streamed),
//! `GET /sleep?ms=N` (a green sleep, then 200), `GET /ws` (a WebSocket that
//! sends every message back). `HEAD` reaches every `GET` route; `OPTIONS`
//! gets the route's methods in `Allow` (204); another method on a route gets
//! 405 with `Allow`, one the server implements nowhere 501, any other path
//! 404.

use std::io::{self, Write};
use std::net::ToSocketAddrs;
use std::time::Duration;

use clap::Parser;
use eventlet_rt::http::header::{self, HeaderValue};
use eventlet_rt::http::websocket::{self, WebSocket};
use eventlet_rt::http::{
    Body, Method, RawRequest, RawResponse, Request, Response, Server, StatusCode,
};

const INDEX: &str = "\
GET  /            this list (every GET route answers HEAD too)
GET  /plaintext   Hello, World! (text/plain)
GET  /json        {\"message\":\"Hello, World!\"} (application/json)
POST /echo        the request body back (Content-Length or chunked)
GET  /sleep?ms=N  a green sleep of N ms, then 200
GET  /ws          a WebSocket echo (every text or binary message back)
";

/// The hot routes, answered in place from the borrowed request head (no
/// `http::Request` or `HeaderMap` built); everything else goes to [`app`].
fn hot(request: &RawRequest<'_>, response: &mut RawResponse<'_>) -> bool {
    let body: &[u8] = match (request.method(), request.path()) {
        ("GET" | "HEAD", "/plaintext") => {
            response.header_line("Content-Type: text/plain");
            b"Hello, World!"
        }
        ("GET" | "HEAD", "/json") => {
            response.header_line("Content-Type: application/json");
            br#"{"message":"Hello, World!"}"#
        }
        _ => return false,
    };
    response.header_line("Server: eventlet-rs").body(body);
    true
}

fn app(request: Request) -> Response {
    // HEAD reaches every GET route (RFC 9110 9.3.2): the server sends the
    // head of the GET response and drops its body.
    let method = match *request.method() {
        Method::HEAD => Method::GET,
        ref method => method.clone(),
    };
    match (method, request.uri().path()) {
        (Method::GET, "/") => text(INDEX, "text/plain; charset=utf-8"),
        (Method::GET, "/plaintext") => text("Hello, World!", "text/plain"),
        (Method::GET, "/json") => text(r#"{"message":"Hello, World!"}"#, "application/json"),
        (Method::POST, "/echo") => Response::new(request.into_body()),
        (Method::GET, "/ws") => websocket::upgrade(&request, echo_messages),
        (Method::GET, "/sleep") => {
            let ms = request
                .uri()
                .query()
                .and_then(|query| query.split('&').find_map(|pair| pair.strip_prefix("ms=")))
                .and_then(|ms| ms.parse().ok());
            match ms {
                Some(ms) => {
                    eventlet_rt::sleep(Duration::from_millis(ms));
                    Response::new(Body::from(format!("slept {ms} ms\n")))
                }
                None => status(StatusCode::BAD_REQUEST, "usage: /sleep?ms=N\n"),
            }
        }
        (method, path) => refuse(&method, path),
    }
}

/// The methods each route serves, for `Allow` (RFC 9110 10.2.1).
fn allowed(path: &str) -> Option<&'static str> {
    match path {
        "/" | "/plaintext" | "/json" | "/sleep" | "/ws" => Some("GET, HEAD, OPTIONS"),
        "/echo" => Some("POST, OPTIONS"),
        _ => None,
    }
}

/// What a request no route serves gets (RFC 9110 9.1, 9.3.7, 15.5.6): a
/// method this server does not implement anywhere (one it does not know,
/// or `CONNECT` and `TRACE`: it is no proxy) is 501; `OPTIONS` is answered
/// with the methods the target allows (`*`: the server's); another method
/// on a route that serves others is 405, with `Allow`; any other path 404.
fn refuse(method: &Method, path: &str) -> Response {
    let implemented = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::OPTIONS,
        Method::PATCH,
    ];
    if !implemented.contains(method) {
        return status(StatusCode::NOT_IMPLEMENTED, "method not implemented\n");
    }
    let allow = if path == "*" && *method == Method::OPTIONS {
        Some("GET, HEAD, POST, OPTIONS")
    } else {
        allowed(path)
    };
    let Some(allow) = allow else {
        return status(StatusCode::NOT_FOUND, "not found\n");
    };
    let mut response = if *method == Method::OPTIONS {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NO_CONTENT;
        response
    } else {
        status(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n")
    };
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

/// Sends every text and binary message back until the client closes.
fn echo_messages(mut socket: WebSocket) {
    while let Ok(message) = socket.read() {
        if (message.is_text() || message.is_binary()) && socket.send(message).is_err() {
            break;
        }
    }
}

fn text(body: &'static str, content_type: &'static str) -> Response {
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::SERVER, HeaderValue::from_static("eventlet-rs"));
    response
}

fn status(code: StatusCode, body: &'static str) -> Response {
    let mut response = text(body, "text/plain");
    *response.status_mut() = code;
    response
}

/// A web server on green threads.
#[derive(Parser, Debug)]
struct Options {
    /// The address to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    host: String,
    /// The port to listen on (0: any free port).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Hubs (OS threads), each with its own SO_REUSEPORT listener; default: every core.
    #[arg(long)]
    threads: Option<usize>,
}

fn main() -> io::Result<()> {
    let Options {
        host,
        port,
        threads,
    } = Options::parse();
    let threads = threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let hubs = eventlet_rt::hubs::Hubs::new(threads)?;
    // Every hub listens on the same port: with port 0, pick a free one first.
    let port = match port {
        0 => std::net::TcpListener::bind((host.as_str(), 0))?
            .local_addr()?
            .port(),
        port => port,
    };
    let addr = (host.as_str(), port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to listen on"))?;
    // Announce the address once the hubs accept on it.
    std::thread::spawn(move || {
        while std::net::TcpStream::connect(addr).is_err() {
            std::thread::sleep(Duration::from_millis(5));
        }
        println!("listening on http://{addr}/");
        let _ = io::stdout().flush();
    });
    Server::new(app).borrowed(hot).serve_on(&hubs, addr)
}
