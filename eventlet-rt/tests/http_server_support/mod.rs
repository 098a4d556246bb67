//! What the HTTP server tests share: a server on this thread's hub and raw clients.

#![allow(dead_code)] // each test file uses its own part

use std::io::{Read, Write};
use std::time::Duration;

use eventlet_rt::green::net::{SocketAddr, TcpStream};
use eventlet_rt::http::{Request, Response, Server};

/// Serves `server` in a green thread of this thread's hub; its address.
pub fn start<H>(server: Server<H>) -> SocketAddr
where
    H: Fn(Request) -> Response + 'static,
{
    let listener = eventlet_rt::listen("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    eventlet_rt::spawn_n(move || server.serve(listener).unwrap());
    addr
}

/// A client connection that gives up reading after 10 s (a hang fails the test).
pub fn client(addr: SocketAddr) -> TcpStream {
    let stream = eventlet_rt::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Sends `request` and reads until the server closes the connection.
pub fn exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = client(addr);
    stream.write_all(request).unwrap();
    read_to_close(&mut stream)
}

/// Everything the server sends until it closes; panics on a timeout.
pub fn read_to_close(stream: &mut TcpStream) -> String {
    let mut reply = Vec::new();
    match stream.read_to_end(&mut reply) {
        Ok(_) => {}
        // A reset after the answer still counts: the answer is what matters.
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!(
            "no close from the server: {e}; got {:?}",
            String::from_utf8_lossy(&reply)
        ),
    }
    String::from_utf8_lossy(&reply).into_owned()
}

/// The status codes of every response in `reply`, in order (the tests'
/// bodies never hold a status line).
pub fn statuses(reply: &str) -> Vec<u16> {
    reply
        .match_indices("HTTP/1.1 ")
        .map(|(at, _)| reply[at + 9..at + 12].parse().unwrap())
        .collect()
}
