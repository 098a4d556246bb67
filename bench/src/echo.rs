//! What every echo server shares: its command line (`ADDR [THREADS]`), its
//! buffer size and, for the blocking-style servers, the loop that echoes one
//! connection.

use std::io::{Read, Write};
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

/// The thread count from the second argument: hubs, workers or event loops
/// (default 1, the one-core servers of the `echo` part).
pub fn threads_from_args() -> usize {
    let threads = std::env::args()
        .nth(2)
        .map_or(1, |n| n.parse().expect("THREADS, a positive number"));
    assert!(threads >= 1, "THREADS is at least 1");
    threads
}

/// Echoes everything `stream` sends back to it until it closes or fails,
/// through a buffer of [`BUFFER`] bytes of its own.
pub fn echo_until_closed(mut stream: impl Read + Write) {
    let mut buffer = vec![0; BUFFER];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if stream.write_all(&buffer[..n]).is_err() {
                    return;
                }
            }
        }
    }
}
