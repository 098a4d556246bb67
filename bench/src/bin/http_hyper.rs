//! The HTTP peer on tokio: hyper 1.x as TechEmpower's hyper entry runs it,
//! one `current_thread` runtime per thread, each with its own `SO_REUSEPORT`
//! listener, `pipeline_flush` on.
//!
//! `http_hyper ADDR THREADS`

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use eventlet_bench::http::{JSON, PLAINTEXT, reuseport_listener, server_args};
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderValue, SERVER};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

async fn techempower(
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (body, content_type) = match req.uri().path() {
        "/plaintext" => (PLAINTEXT, "text/plain"),
        "/json" => (JSON, "application/json"),
        _ => {
            let mut response = Response::new(Full::new(Bytes::new()));
            *response.status_mut() = StatusCode::NOT_FOUND;
            return Ok(response);
        }
    };
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(SERVER, HeaderValue::from_static("hyper"));
    Ok(response)
}

fn serve(addr: SocketAddr) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(reuseport_listener(addr)).unwrap();
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let _ = http1::Builder::new()
                    .pipeline_flush(true)
                    .serve_connection(TokioIo::new(stream), service_fn(techempower))
                    .await;
            });
        }
    });
}

fn main() {
    let (addr, threads) = server_args();
    let addr: SocketAddr = addr.parse().expect("ADDR");
    let handles: Vec<_> = (0..threads)
        .map(|_| std::thread::spawn(move || serve(addr)))
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
}
