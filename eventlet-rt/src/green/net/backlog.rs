//! The listen backlog: how many connections whose handshake is done the
//! kernel keeps for a listener until `accept` takes them.

use std::io;
use std::net::SocketAddr;
use std::sync::OnceLock;

use socket2::{Domain, Protocol, Socket, Type};

/// The listen backlog of [`TcpListener::bind`](super::TcpListener::bind) and
/// [`listen`](crate::listen): 1024, as tokio's, capped by the kernel's
/// `net.core.somaxconn`.
///
/// std's 128 is too small for a burst: once the queue is full the kernel
/// drops new handshakes, the clients retry a second later, and a few
/// hundred connections arriving at once take seconds (or get reset). Choose
/// another value with
/// [`TcpListener::bind_with_backlog`](super::TcpListener::bind_with_backlog)
/// or [`listen_with_backlog`](crate::listen_with_backlog).
///
/// ```
/// let listener = eventlet_rt::listen("127.0.0.1:0")?; // backlog DEFAULT_BACKLOG
/// # assert_eq!(eventlet_rt::green::net::DEFAULT_BACKLOG, 1024);
/// # Ok::<(), std::io::Error>(())
/// ```
pub const DEFAULT_BACKLOG: u32 = 1024;

/// A bound, listening, non-blocking socket with `SO_REUSEADDR` set (as std
/// sets it) and a backlog of `backlog` capped by `somaxconn`.
pub(crate) fn listening_socket(
    addr: SocketAddr,
    backlog: u32,
) -> io::Result<std::net::TcpListener> {
    // socket2 opens it close-on-exec, as std does.
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(capped(backlog))?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// `backlog` within what the kernel grants: it would silently cut a larger
/// value to `somaxconn` anyway, and a value past `i32::MAX` means "the most".
fn capped(backlog: u32) -> i32 {
    i32::try_from(backlog.min(somaxconn())).unwrap_or(i32::MAX)
}

/// `net.core.somaxconn`, read once; no cap when it cannot be read.
fn somaxconn() -> u32 {
    static SOMAXCONN: OnceLock<u32> = OnceLock::new();
    *SOMAXCONN.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .ok()
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(u32::MAX)
    })
}
