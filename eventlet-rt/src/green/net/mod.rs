//! Green `std::net`: TCP and UDP sockets whose blocking calls park only the
//! calling green thread (Eventlet's `eventlet.green.socket`).
//!
//! [`TcpListener`], [`TcpStream`] and [`UdpSocket`] have std's methods and
//! std's error kinds; the plain data types of `std::net` ([`SocketAddr`],
//! [`IpAddr`], [`Shutdown`]...) are re-exported, so code written against
//! `std::net` compiles unchanged against this module (that is what `#[green]`
//! relies on).
//!
//! # How a blocking call works
//! Every green socket is non-blocking underneath and registered with the hub
//! of its OS thread (edge-triggered, for reading and writing, once). A call
//! is always tried first; only when the kernel says `WouldBlock` does the
//! green thread park until the hub's poller sees the socket become ready,
//! then it tries again. Timeouts, [`with_timeout`](crate::with_timeout) and
//! [`GreenThread::kill`](crate::GreenThread::kill) end the wait cleanly.
//! Dropping the last handle deregisters the socket and closes it.
//!
//! # Differences from std
//! - **Not `Send`.** A green socket belongs to the hub of the OS thread that
//!   created it, like the green threads that use it, so it cannot be moved to
//!   another OS thread (the compiler says so). Green threads do not need
//!   `Send`, and code patched by `#[green]` spawns green threads, so ordinary
//!   server code is unaffected. To hand a connection to another OS thread,
//!   pass a `std::net::TcpStream` and wrap it there with
//!   [`TcpStream::from_std`].
//!
//!   ```compile_fail
//!   fn needs_send<T: Send>(_: T) {}
//!   let listener = eventlet_rt::green::net::TcpListener::bind("127.0.0.1:0").unwrap();
//!   needs_send(listener); // error: a green socket is bound to its thread's hub
//!   ```
//! - **Name resolution is green.** [`ToSocketAddrs`] is this module's own
//!   trait with std's shape: literal addresses parse in place, host names
//!   resolve on [`tpool`](crate::tpool) so DNS never blocks the hub.
//! - Timeouts fail with [`std::io::ErrorKind::TimedOut`] (std on Unix says
//!   `WouldBlock`).
//! - `try_clone` shares one descriptor between the handles instead of `dup`ing
//!   it; the socket closes when the last handle drops.
//!
//! ```
//! use std::io::{BufRead, BufReader, Write};
//! use eventlet_rt::green::net::{TcpListener, TcpStream};
//!
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let addr = listener.local_addr()?;
//! eventlet_rt::spawn_n(move || {
//!     let (conn, _) = listener.accept().unwrap();
//!     let mut writer = conn.try_clone().unwrap();
//!     for line in BufReader::new(conn).lines() {
//!         writeln!(writer, "echo: {}", line.unwrap()).unwrap();
//!     }
//! });
//! let mut client = TcpStream::connect(addr)?;
//! writeln!(client, "hello")?;
//! let mut reply = String::new();
//! BufReader::new(client).read_line(&mut reply)?;
//! assert_eq!(reply, "echo: hello\n");
//! # Ok::<(), std::io::Error>(())
//! ```

mod addr;
mod backlog;
mod socket;
mod tcp_listener;
mod tcp_stream;
#[cfg(any(feature = "tokio", feature = "futures-io"))]
mod tcp_stream_async;
mod udp;

pub use addr::ToSocketAddrs;
pub use backlog::DEFAULT_BACKLOG;
pub use std::net::{
    AddrParseError, IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, SocketAddrV4, SocketAddrV6,
};
pub use tcp_listener::{Incoming, TcpListener};
pub use tcp_stream::TcpStream;
#[cfg(feature = "http")]
pub(crate) use tcp_stream::connect_outcome;
pub use udp::UdpSocket;
