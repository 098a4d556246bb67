//! Green `UdpSocket`: datagrams whose blocking calls park only the calling
//! green thread.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::rc::Rc;
use std::time::Duration;

use super::ToSocketAddrs;
use super::addr::each_addr;
use super::socket::GreenSocket;

/// A UDP socket, as [`std::net::UdpSocket`], for green threads.
///
/// `recv*` park the calling green thread until a datagram arrives (or the
/// read timeout passes, with [`io::ErrorKind::TimedOut`]); `send*` park while
/// the send buffer is full. `!Send`, like every green socket.
///
/// ```
/// use eventlet_rt::green::net::UdpSocket;
///
/// let server = UdpSocket::bind("127.0.0.1:0")?;
/// let client = UdpSocket::bind("127.0.0.1:0")?;
/// client.send_to(b"ping", server.local_addr()?)?;
/// let mut buf = [0; 16];
/// let (n, from) = server.recv_from(&mut buf)?;
/// assert_eq!((&buf[..n], from), (&b"ping"[..], client.local_addr()?));
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UdpSocket {
    socket: Rc<GreenSocket<mio::net::UdpSocket>>,
}

impl UdpSocket {
    /// Binds to `addr` (the first address it resolves to that works).
    ///
    /// ```
    /// let socket = eventlet_rt::green::net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert_ne!(socket.local_addr()?.port(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        each_addr(&addr, |addr| {
            UdpSocket::from_mio(mio::net::UdpSocket::bind(addr)?)
        })
    }

    fn from_mio(socket: mio::net::UdpSocket) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            socket: Rc::new(GreenSocket::new(socket)?),
        })
    }

    /// Turns a std socket into a green one (it becomes non-blocking).
    ///
    /// ```
    /// let plain = std::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let addr = plain.local_addr()?;
    /// let green = eventlet_rt::green::net::UdpSocket::from_std(plain)?;
    /// assert_eq!(green.local_addr()?, addr);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        UdpSocket::from_mio(mio::net::UdpSocket::from_std(socket))
    }

    /// Waits for a datagram; gives its length and sender. Bytes past `buf`'s
    /// length are dropped, as in std.
    ///
    /// ```
    /// # use eventlet_rt::green::net::UdpSocket;
    /// let (a, b) = (UdpSocket::bind("127.0.0.1:0")?, UdpSocket::bind("127.0.0.1:0")?);
    /// b.send_to(b"hey", a.local_addr()?)?;
    /// let mut buf = [0; 8];
    /// assert_eq!(a.recv_from(&mut buf)?, (3, b.local_addr()?));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.socket.read_with(|socket| socket.recv_from(buf))
    }

    /// Like [`UdpSocket::recv_from`], but leaves the datagram queued.
    ///
    /// ```
    /// # use eventlet_rt::green::net::UdpSocket;
    /// let (a, b) = (UdpSocket::bind("127.0.0.1:0")?, UdpSocket::bind("127.0.0.1:0")?);
    /// b.send_to(b"hey", a.local_addr()?)?;
    /// let mut buf = [0; 8];
    /// assert_eq!(a.peek_from(&mut buf)?.0, 3);
    /// assert_eq!(a.recv_from(&mut buf)?.0, 3);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.socket.read_with(|socket| socket.peek_from(buf))
    }

    /// Sends `buf` to the first address `addr` resolves to.
    ///
    /// ```
    /// # use eventlet_rt::green::net::UdpSocket;
    /// let (a, b) = (UdpSocket::bind("127.0.0.1:0")?, UdpSocket::bind("127.0.0.1:0")?);
    /// assert_eq!(b.send_to(b"four", ("127.0.0.1", a.local_addr()?.port()))?, 4);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], addr: A) -> io::Result<usize> {
        let target = addr.to_socket_addrs()?.next().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "no addresses to send data to")
        })?;
        self.socket.write_with(|socket| socket.send_to(buf, target))
    }

    /// Sets the default peer: `send` and `recv` then talk to it only.
    ///
    /// ```
    /// # use eventlet_rt::green::net::UdpSocket;
    /// let (a, b) = (UdpSocket::bind("127.0.0.1:0")?, UdpSocket::bind("127.0.0.1:0")?);
    /// a.connect(b.local_addr()?)?;
    /// b.connect(a.local_addr()?)?;
    /// a.send(b"ok")?;
    /// let mut buf = [0; 4];
    /// assert_eq!(b.recv(&mut buf)?, 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        each_addr(&addr, |addr| self.socket.get().connect(addr))
    }

    /// Sends `buf` to the connected peer.
    ///
    /// ```
    /// # use eventlet_rt::green::net::UdpSocket;
    /// let (a, b) = (UdpSocket::bind("127.0.0.1:0")?, UdpSocket::bind("127.0.0.1:0")?);
    /// a.connect(b.local_addr()?)?;
    /// assert_eq!(a.send(b"hello")?, 5);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.socket.write_with(|socket| socket.send(buf))
    }

    /// Waits for a datagram from the connected peer.
    ///
    /// ```
    /// # use eventlet_rt::green::net::UdpSocket;
    /// let (a, b) = (UdpSocket::bind("127.0.0.1:0")?, UdpSocket::bind("127.0.0.1:0")?);
    /// a.connect(b.local_addr()?)?;
    /// b.send_to(b"yo", a.local_addr()?)?;
    /// let mut buf = [0; 4];
    /// assert_eq!(a.recv(&mut buf)?, 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.socket.read_with(|socket| socket.recv(buf))
    }

    /// Like [`UdpSocket::recv`], but leaves the datagram queued.
    ///
    /// ```
    /// # use eventlet_rt::green::net::UdpSocket;
    /// let (a, b) = (UdpSocket::bind("127.0.0.1:0")?, UdpSocket::bind("127.0.0.1:0")?);
    /// a.connect(b.local_addr()?)?;
    /// b.send_to(b"yo", a.local_addr()?)?;
    /// let mut buf = [0; 4];
    /// assert_eq!(a.peek(&mut buf)?, 2);
    /// assert_eq!(a.recv(&mut buf)?, 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.socket.read_with(|socket| socket.peek(buf))
    }

    /// The address this socket is bound to.
    ///
    /// ```
    /// let socket = eventlet_rt::green::net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert!(socket.local_addr()?.ip().is_loopback());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.get().local_addr()
    }

    /// The connected peer's address; `NotConnected` before `connect`.
    ///
    /// ```
    /// # use eventlet_rt::green::net::UdpSocket;
    /// let (a, b) = (UdpSocket::bind("127.0.0.1:0")?, UdpSocket::bind("127.0.0.1:0")?);
    /// assert!(a.peer_addr().is_err());
    /// a.connect(b.local_addr()?)?;
    /// assert_eq!(a.peer_addr()?, b.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.socket.get().peer_addr()
    }

    /// A second handle to the same socket (shared descriptor and timeouts).
    ///
    /// ```
    /// let socket = eventlet_rt::green::net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert_eq!(socket.try_clone()?.local_addr()?, socket.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_clone(&self) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            socket: self.socket.clone(),
        })
    }

    /// Limits how long `recv*` may block ([`io::ErrorKind::TimedOut`] after).
    ///
    /// ```
    /// use std::time::Duration;
    /// let socket = eventlet_rt::green::net::UdpSocket::bind("127.0.0.1:0")?;
    /// socket.set_read_timeout(Some(Duration::from_millis(10)))?;
    /// assert_eq!(socket.read_timeout()?, Some(Duration::from_millis(10)));
    /// let error = socket.recv(&mut [0; 4]).unwrap_err();
    /// assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.socket.set_read_timeout(timeout)
    }

    /// Limits how long `send*` may block ([`io::ErrorKind::TimedOut`] after).
    ///
    /// ```
    /// use std::time::Duration;
    /// let socket = eventlet_rt::green::net::UdpSocket::bind("127.0.0.1:0")?;
    /// socket.set_write_timeout(Some(Duration::from_secs(1)))?;
    /// assert_eq!(socket.write_timeout()?, Some(Duration::from_secs(1)));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.socket.set_write_timeout(timeout)
    }

    /// The read timeout; see [`UdpSocket::set_read_timeout`].
    ///
    /// ```
    /// let socket = eventlet_rt::green::net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert_eq!(socket.read_timeout()?, None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.socket.read_timeout())
    }

    /// The write timeout; see [`UdpSocket::set_write_timeout`].
    ///
    /// ```
    /// let socket = eventlet_rt::green::net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert_eq!(socket.write_timeout()?, None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.socket.write_timeout())
    }

    /// Sets `SO_BROADCAST`.
    ///
    /// ```
    /// let socket = eventlet_rt::green::net::UdpSocket::bind("127.0.0.1:0")?;
    /// socket.set_broadcast(true)?;
    /// assert!(socket.broadcast()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_broadcast(&self, broadcast: bool) -> io::Result<()> {
        self.socket.get().set_broadcast(broadcast)
    }

    /// Whether `SO_BROADCAST` is set.
    ///
    /// ```
    /// let socket = eventlet_rt::green::net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert!(!socket.broadcast()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn broadcast(&self) -> io::Result<bool> {
        self.socket.get().broadcast()
    }

    /// Sets the IP time-to-live of outgoing datagrams.
    ///
    /// ```
    /// let socket = eventlet_rt::green::net::UdpSocket::bind("127.0.0.1:0")?;
    /// socket.set_ttl(7)?;
    /// assert_eq!(socket.ttl()?, 7);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.socket.get().set_ttl(ttl)
    }

    /// The IP time-to-live of outgoing datagrams.
    ///
    /// ```
    /// let socket = eventlet_rt::green::net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert!(socket.ttl()? > 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.socket.get().ttl()
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    ///
    /// ```
    /// let socket = eventlet_rt::green::net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert!(socket.take_error()?.is_none());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.socket.get().take_error()
    }

    /// In non-blocking mode calls that would block fail with
    /// [`io::ErrorKind::WouldBlock`] instead of parking.
    ///
    /// ```
    /// let socket = eventlet_rt::green::net::UdpSocket::bind("127.0.0.1:0")?;
    /// socket.set_nonblocking(true)?;
    /// let error = socket.recv_from(&mut [0; 4]).unwrap_err();
    /// assert_eq!(error.kind(), std::io::ErrorKind::WouldBlock);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.socket.set_nonblocking(nonblocking);
        Ok(())
    }
}

impl AsFd for UdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.get().as_fd()
    }
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.get().as_raw_fd()
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("UdpSocket");
        if let Ok(addr) = self.local_addr() {
            out.field("addr", &addr);
        }
        out.field("fd", &self.as_raw_fd()).finish()
    }
}
