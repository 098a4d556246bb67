//! What every echo server shares: its address and its buffer size.

use std::net::SocketAddr;

/// Bytes read at once; 64-byte messages always fit.
pub const BUFFER: usize = 4096;

/// The address from the first argument, `127.0.0.1:PORT`; loopback only.
pub fn address_from_args() -> SocketAddr {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9000".to_string())
        .parse()
        .expect("ADDR like 127.0.0.1:9000");
    assert!(
        addr.ip().is_loopback(),
        "echo servers listen on loopback only"
    );
    addr
}
