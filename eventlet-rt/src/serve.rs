//! Eventlet's convenience functions: `listen`, `connect` and `serve`.

use std::io;

use crate::green::net::{TcpListener, TcpStream, ToSocketAddrs};

/// Opens a listening TCP socket on `addr` (Eventlet's `eventlet.listen`):
/// [`TcpListener::bind`], with `SO_REUSEADDR` set.
///
/// ```
/// let listener = eventlet_rt::listen("127.0.0.1:0")?;
/// assert_ne!(listener.local_addr()?.port(), 0);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn listen<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
    TcpListener::bind(addr)
}

/// Opens a TCP connection to `addr` (Eventlet's `eventlet.connect`):
/// [`TcpStream::connect`]; host names resolve without blocking the hub.
///
/// ```
/// let listener = eventlet_rt::listen("127.0.0.1:0")?;
/// let stream = eventlet_rt::connect(("localhost", listener.local_addr()?.port()))?;
/// assert!(stream.peer_addr()?.ip().is_loopback());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
    TcpStream::connect(addr)
}
