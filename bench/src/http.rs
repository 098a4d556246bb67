//! What the HTTP servers of the benchmark share: TechEmpower's two
//! simplest responses, the command line, and `SO_REUSEPORT` listeners.
//!
//! Every server writes the json body from the same constant (no
//! serializer), so the figures compare the HTTP stacks alone.

use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};

pub const PLAINTEXT: &str = "Hello, World!";
pub const JSON: &str = r#"{"message":"Hello, World!"}"#;

/// `ADDR THREADS` from the command line.
pub fn server_args() -> (String, usize) {
    let mut args = std::env::args().skip(1);
    let addr = args.next().expect("usage: ADDR THREADS");
    let threads = args.next().and_then(|n| n.parse().ok()).unwrap_or(1);
    (addr, threads)
}

/// A listener on `addr` with `SO_REUSEPORT`, one per thread of a server.
pub fn reuseport_listener(addr: SocketAddr) -> std::net::TcpListener {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP)).unwrap();
    socket.set_reuse_address(true).unwrap();
    socket.set_reuse_port(true).unwrap();
    socket.set_nonblocking(true).unwrap();
    socket.bind(&addr.into()).unwrap();
    socket.listen(1024).unwrap();
    socket.into()
}
