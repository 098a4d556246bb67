//! Green `TcpListener`: accepting parks only the calling green thread.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::rc::Rc;

use super::addr::each_addr;
use super::backlog::{DEFAULT_BACKLOG, listening_socket};
use super::socket::GreenSocket;
use super::{TcpStream, ToSocketAddrs};

/// A TCP server socket, as [`std::net::TcpListener`], for green threads.
///
/// `accept` parks the calling green thread until a connection arrives. The
/// listener is `!Send`, like every green socket (see [`TcpStream`]).
///
/// ```
/// use std::io::Write;
/// use eventlet_rt::green::net::{TcpListener, TcpStream};
///
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let addr = listener.local_addr()?;
/// let server = eventlet_rt::spawn(move || -> std::io::Result<()> {
///     for stream in listener.incoming().take(2) {
///         stream?.write_all(b"hi")?;
///     }
///     Ok(())
/// });
/// for _ in 0..2 {
///     let reply = std::io::read_to_string(TcpStream::connect(addr)?)?;
///     assert_eq!(reply, "hi");
/// }
/// server.wait().unwrap()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpListener {
    socket: Rc<GreenSocket<mio::net::TcpListener>>,
}

impl TcpListener {
    /// Binds to `addr` (the first address it resolves to that works) and
    /// listens, with `SO_REUSEADDR` set as std does. Port 0 picks a free port.
    ///
    /// The listen backlog is [`DEFAULT_BACKLOG`] (1024, capped by
    /// `net.core.somaxconn`), not std's 128, so that a burst of clients is
    /// not dropped; [`TcpListener::bind_with_backlog`] chooses another.
    ///
    /// ```
    /// use eventlet_rt::green::net::TcpListener;
    /// let listener = TcpListener::bind(("127.0.0.1", 0))?;
    /// assert_ne!(listener.local_addr()?.port(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        TcpListener::bind_with_backlog(addr, DEFAULT_BACKLOG)
    }

    /// [`TcpListener::bind`] with a listen backlog of `backlog`: how many
    /// connections the kernel completes and keeps for the listener before
    /// `accept` takes them (more arriving meanwhile are dropped and retried
    /// by their clients a second later). The kernel caps it at
    /// `net.core.somaxconn` (4096 on recent Linux).
    ///
    /// ```
    /// use eventlet_rt::green::net::TcpListener;
    /// // A server that takes bursts of thousands of connections at once.
    /// let listener = TcpListener::bind_with_backlog("127.0.0.1:0", 4096)?;
    /// let _client = eventlet_rt::connect(listener.local_addr()?)?;
    /// assert!(listener.accept().is_ok());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind_with_backlog<A: ToSocketAddrs>(addr: A, backlog: u32) -> io::Result<TcpListener> {
        each_addr(&addr, |addr| {
            let listener = listening_socket(addr, backlog)?;
            TcpListener::from_mio(mio::net::TcpListener::from_std(listener))
        })
    }

    fn from_mio(listener: mio::net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener {
            socket: Rc::new(GreenSocket::new(listener)?),
        })
    }

    /// Turns a listening std socket into a green one (it becomes non-blocking).
    ///
    /// ```
    /// use eventlet_rt::green::net::TcpListener;
    /// let plain = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let port = plain.local_addr()?.port();
    /// let green = TcpListener::from_std(plain)?;
    /// assert_eq!(green.local_addr()?.port(), port);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        TcpListener::from_mio(mio::net::TcpListener::from_std(listener))
    }

    /// Waits (green) for the next connection; gives the stream and the
    /// client's address.
    ///
    /// ```
    /// # let listener = eventlet_rt::listen("127.0.0.1:0")?;
    /// let client = eventlet_rt::connect(listener.local_addr()?)?;
    /// let (stream, addr) = listener.accept()?;
    /// assert_eq!(addr, client.local_addr()?);
    /// assert_eq!(stream.peer_addr()?, addr);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        self.accept_noting_empty(&mut false)
    }

    /// [`TcpListener::accept`] that also sets `found_empty` when it found no
    /// connection waiting (and so parked): the server had caught up.
    pub(crate) fn accept_noting_empty(
        &self,
        found_empty: &mut bool,
    ) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, addr) = self.socket.read_with(|listener| {
            let accepted = listener.accept();
            if matches!(&accepted, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
                *found_empty = true;
            }
            accepted
        })?;
        Ok((TcpStream::from_mio(stream)?, addr))
    }

    /// An endless iterator over incoming connections: `accept` in a loop.
    ///
    /// ```
    /// # let listener = eventlet_rt::listen("127.0.0.1:0")?;
    /// let _client = eventlet_rt::connect(listener.local_addr()?)?;
    /// let stream = listener.incoming().next().unwrap()?;
    /// assert!(stream.peer_addr().is_ok());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// The address the listener is bound to.
    ///
    /// ```
    /// let listener = eventlet_rt::listen("127.0.0.1:0")?;
    /// assert!(listener.local_addr()?.ip().is_loopback());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.get().local_addr()
    }

    /// A second handle to the same listening socket; both can accept.
    ///
    /// ```
    /// let listener = eventlet_rt::listen("127.0.0.1:0")?;
    /// let other = listener.try_clone()?;
    /// assert_eq!(other.local_addr()?, listener.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_clone(&self) -> io::Result<TcpListener> {
        Ok(TcpListener {
            socket: self.socket.clone(),
        })
    }

    /// Sets the IP time-to-live of accepted connections' packets.
    ///
    /// ```
    /// let listener = eventlet_rt::listen("127.0.0.1:0")?;
    /// listener.set_ttl(100)?;
    /// assert_eq!(listener.ttl()?, 100);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.socket.get().set_ttl(ttl)
    }

    /// The IP time-to-live; see [`TcpListener::set_ttl`].
    ///
    /// ```
    /// let listener = eventlet_rt::listen("127.0.0.1:0")?;
    /// assert!(listener.ttl()? > 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.socket.get().ttl()
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    ///
    /// ```
    /// let listener = eventlet_rt::listen("127.0.0.1:0")?;
    /// assert!(listener.take_error()?.is_none());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.socket.get().take_error()
    }

    /// In non-blocking mode `accept` fails with [`io::ErrorKind::WouldBlock`]
    /// instead of parking when no connection is pending.
    ///
    /// ```
    /// let listener = eventlet_rt::listen("127.0.0.1:0")?;
    /// listener.set_nonblocking(true)?;
    /// assert_eq!(listener.accept().unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.socket.set_nonblocking(nonblocking);
        Ok(())
    }
}

impl AsFd for TcpListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.get().as_fd()
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.get().as_raw_fd()
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("TcpListener");
        if let Ok(addr) = self.local_addr() {
            out.field("addr", &addr);
        }
        out.field("fd", &self.as_raw_fd()).finish()
    }
}

/// The iterator of [`TcpListener::incoming`]: never ends; each item is one
/// `accept`.
///
/// ```
/// # let listener = eventlet_rt::listen("127.0.0.1:0")?;
/// # let _client = eventlet_rt::connect(listener.local_addr()?)?;
/// let mut incoming = listener.incoming();
/// let first: std::io::Result<_> = incoming.next().unwrap();
/// assert!(first.is_ok());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn next(&mut self) -> Option<io::Result<TcpStream>> {
        Some(self.listener.accept().map(|(stream, _)| stream))
    }
}
