//! eventlet-rt's HTTP server (`eventlet_rt::http::Server`) on TechEmpower's
//! plaintext and json: one hub (`Server::serve`), or one hub per thread,
//! each with its own `SO_REUSEPORT` listener (`Server::serve_on`).
//!
//! `http_eventlet ADDR THREADS [borrowed]`: with `borrowed`, the two routes
//! are answered by the borrowed handler form (`Server::borrowed`: the head
//! read in place, the response written into the output batch); without, by
//! the `http::Request` -> `http::Response` handler.

use eventlet_bench::http::{JSON, PLAINTEXT, server_args};
use eventlet_rt::http::header::{CONTENT_TYPE, HeaderValue, SERVER};
use eventlet_rt::http::{Body, RawRequest, RawResponse, Request, Response, Server, StatusCode};

fn techempower(request: Request) -> Response {
    let (body, content_type) = match request.uri().path() {
        "/plaintext" => (PLAINTEXT, "text/plain"),
        "/json" => (JSON, "application/json"),
        _ => {
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::NOT_FOUND;
            return response;
        }
    };
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(SERVER, HeaderValue::from_static("eventlet-rs"));
    response
}

fn techempower_borrowed(request: &RawRequest<'_>, response: &mut RawResponse<'_>) -> bool {
    let (body, content_type) = match request.path() {
        "/plaintext" => (PLAINTEXT, "Content-Type: text/plain"),
        "/json" => (JSON, "Content-Type: application/json"),
        _ => return false,
    };
    response
        .header_line(content_type)
        .header_line("Server: eventlet-rs")
        .body(body.as_bytes());
    true
}

fn main() {
    let (addr, threads) = server_args();
    let mut server = Server::new(techempower);
    if std::env::args().nth(3).as_deref() == Some("borrowed") {
        server = server.borrowed(techempower_borrowed);
    }
    if threads == 1 {
        // One hub on this thread, as `serve` runs it.
        let listener = eventlet_rt::listen(addr.as_str()).expect("bind");
        server.serve(listener).unwrap();
    } else {
        let hubs = eventlet_rt::hubs::Hubs::new(threads).expect("start the hubs");
        server.serve_on(&hubs, addr.as_str()).unwrap();
    }
}
