//! Green `TcpStream`: std's TCP stream whose blocking calls park only the
//! calling green thread.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::ToSocketAddrs;
use super::addr::each_addr;
use super::socket::GreenSocket;

/// A TCP connection, as [`std::net::TcpStream`], for green threads.
///
/// Reads, writes and connects that would block park the calling green thread
/// and let the hub run the others. Read and write timeouts end a call with
/// [`io::ErrorKind::TimedOut`]. [`TcpStream::try_clone`] gives a second handle
/// to the same connection, so one green thread can read while another writes.
///
/// A green socket is registered with the hub of the OS thread that made it,
/// so it is `!Send`: it stays on that thread, as green threads do.
///
/// # As an async stream
/// With the feature `tokio` it is also tokio's `AsyncRead + AsyncWrite`,
/// and with `futures-io` futures-io's, so async crates that take any
/// transport run over it (tokio-postgres `connect_raw`, hyper through
/// `hyper_util::rt::TokioIo`, tokio-tungstenite's `client_async`). A poll
/// never parks: when the socket would block, the task's waker waits with
/// the hub's poller for the socket's next readiness. The hub that polls it
/// must be its own (a green socket never migrates): it is polled by
/// [`block_on`](crate::block_on) on a green thread (or the main context) of
/// the thread that made it, or by a tokio task that this hub's runtime runs,
/// started with `tokio::task::spawn_local` from green code (`tokio::spawn`
/// wants `Send`, so the compiler refuses it). One task reads and one writes
/// at a time (each direction keeps the last waker given). The read and write
/// timeouts apply to the blocking calls only; time async code out with
/// `tokio::time::timeout` or [`with_timeout`](crate::with_timeout) around
/// the `block_on`.
///
/// ```
/// # #[cfg(feature = "tokio")] {
/// use eventlet_rt::green::net::{TcpListener, TcpStream};
///
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let addr = listener.local_addr()?;
/// // The blocking side, in plain green code.
/// let server = eventlet_rt::spawn(move || -> std::io::Result<()> {
///     use std::io::{Read, Write};
///     let (mut conn, _) = listener.accept()?;
///     let mut word = [0; 4];
///     conn.read_exact(&mut word)?;
///     conn.write_all(&word.to_ascii_uppercase())
/// });
/// let mut stream = TcpStream::connect(addr)?;
/// // The async side. With both `std::io::Write` and tokio's
/// // `AsyncWriteExt` in one scope, `write_all` names both: keep them
/// // apart, or call one as `AsyncWriteExt::write_all(&mut stream, ..)`.
/// let reply = eventlet_rt::block_on(async {
///     use tokio::io::{AsyncReadExt, AsyncWriteExt};
///     stream.write_all(b"ping").await?;
///     let mut reply = String::new();
///     stream.read_to_string(&mut reply).await?;
///     Ok::<_, std::io::Error>(reply)
/// })?;
/// assert_eq!(reply, "PING");
/// server.wait().unwrap()?;
/// # }
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// ```
/// use std::io::{Read, Write};
/// use eventlet_rt::green::net::{TcpListener, TcpStream};
///
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let addr = listener.local_addr()?;
/// let server = eventlet_rt::spawn(move || -> std::io::Result<()> {
///     let (mut conn, _) = listener.accept()?;
///     let mut word = [0; 5];
///     conn.read_exact(&mut word)?;
///     conn.write_all(&word.to_ascii_uppercase())
/// });
/// let mut client = TcpStream::connect(addr)?;
/// client.write_all(b"hello")?;
/// let mut reply = String::new();
/// client.read_to_string(&mut reply)?;
/// assert_eq!(reply, "HELLO");
/// server.wait().unwrap()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpStream {
    socket: Rc<GreenSocket<mio::net::TcpStream>>,
}

impl TcpStream {
    /// Opens a connection to `addr`, trying each address it resolves to in
    /// turn; host names resolve on the thread pool.
    ///
    /// A refused connection gives [`io::ErrorKind::ConnectionRefused`].
    ///
    /// ```
    /// use eventlet_rt::green::net::{TcpListener, TcpStream};
    /// let listener = TcpListener::bind("127.0.0.1:0")?;
    /// let stream = TcpStream::connect(("localhost", listener.local_addr()?.port()))?;
    /// assert_eq!(stream.peer_addr()?.port(), listener.local_addr()?.port());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        each_addr(&addr, |addr| TcpStream::connect_until(addr, None))
    }

    /// Opens a connection to `addr`, giving up with [`io::ErrorKind::TimedOut`]
    /// after `timeout`. A zero `timeout` is an error, as in std.
    ///
    /// ```
    /// use std::time::Duration;
    /// use eventlet_rt::green::net::{TcpListener, TcpStream};
    /// let listener = TcpListener::bind("127.0.0.1:0")?;
    /// let stream = TcpStream::connect_timeout(&listener.local_addr()?, Duration::from_secs(5))?;
    /// assert_eq!(stream.peer_addr()?, listener.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect_timeout(addr: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        super::socket::checked_timeout(Some(timeout))?;
        TcpStream::connect_until(*addr, Some(Instant::now() + timeout))
    }

    fn connect_until(addr: SocketAddr, deadline: Option<Instant>) -> io::Result<TcpStream> {
        let stream = TcpStream::from_mio(mio::net::TcpStream::connect(addr)?)?;
        stream.socket.write_until(deadline, connect_outcome)?;
        Ok(stream)
    }

    /// Where its registered socket lies, which every read and write goes
    /// through first: for the hub's prefetch (`hub::mark_hot_objects`).
    pub(crate) fn hot_object(&self) -> crate::task::HotObject {
        crate::task::HotObject::of(&*self.socket)
    }

    /// The registered socket, for the async side (`tcp_stream_async.rs`).
    #[cfg(any(feature = "tokio", feature = "futures-io"))]
    pub(super) fn socket(&self) -> &GreenSocket<mio::net::TcpStream> {
        &self.socket
    }

    pub(crate) fn from_mio(stream: mio::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            socket: Rc::new(GreenSocket::new(stream)?),
        })
    }

    /// Turns a connected std stream into a green one (it becomes non-blocking).
    ///
    /// ```
    /// use eventlet_rt::green::net::{TcpListener, TcpStream};
    /// let listener = TcpListener::bind("127.0.0.1:0")?;
    /// let plain = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// let green = TcpStream::from_std(plain)?;
    /// assert_eq!(green.peer_addr()?, listener.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        TcpStream::from_mio(mio::net::TcpStream::from_std(stream))
    }

    /// The address of the remote end.
    ///
    /// ```
    /// # let listener = eventlet_rt::listen("127.0.0.1:0")?;
    /// let stream = eventlet_rt::connect(listener.local_addr()?)?;
    /// assert_eq!(stream.peer_addr()?, listener.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.socket.get().peer_addr()
    }

    /// The address of this end.
    ///
    /// ```
    /// # let listener = eventlet_rt::listen("127.0.0.1:0")?;
    /// let stream = eventlet_rt::connect(listener.local_addr()?)?;
    /// assert!(stream.local_addr()?.ip().is_loopback());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.get().local_addr()
    }

    /// Shuts down the read half, the write half or both, for every clone.
    ///
    /// ```
    /// use std::io::Read;
    /// use eventlet_rt::green::net::Shutdown;
    /// # let listener = eventlet_rt::listen("127.0.0.1:0")?;
    /// let mut stream = eventlet_rt::connect(listener.local_addr()?)?;
    /// stream.shutdown(Shutdown::Read)?;
    /// assert_eq!(stream.read(&mut [0; 8])?, 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.socket.get().shutdown(how)?;
        if how != Shutdown::Write {
            self.socket.read_side_shut();
        }
        Ok(())
    }

    /// A second handle to the same connection: one green thread can read
    /// through it while another writes. Clones share the descriptor, its
    /// registration and its timeouts; the socket closes when the last drops.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// # let listener = eventlet_rt::listen("127.0.0.1:0")?;
    /// let stream = eventlet_rt::connect(listener.local_addr()?)?;
    /// let (mut server_side, _) = listener.accept()?;
    /// let mut reader = stream.try_clone()?;
    /// let reading = eventlet_rt::spawn(move || {
    ///     let mut got = [0; 4];
    ///     reader.read_exact(&mut got).map(|()| got)
    /// });
    /// server_side.write_all(b"ping")?;
    /// assert_eq!(&reading.wait().unwrap()?, b"ping");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_clone(&self) -> io::Result<TcpStream> {
        Ok(TcpStream {
            socket: self.socket.clone(),
        })
    }

    /// Limits how long a read may block; `None` waits forever. Past the
    /// limit a read fails with [`io::ErrorKind::TimedOut`]. Zero is an error.
    ///
    /// ```
    /// use std::{io::Read, time::Duration};
    /// # let listener = eventlet_rt::listen("127.0.0.1:0")?;
    /// let mut stream = eventlet_rt::connect(listener.local_addr()?)?;
    /// stream.set_read_timeout(Some(Duration::from_millis(20)))?;
    /// assert_eq!(stream.read_timeout()?, Some(Duration::from_millis(20)));
    /// let error = stream.read(&mut [0; 8]).unwrap_err();
    /// assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.socket.set_read_timeout(timeout)
    }

    /// Limits how long a write may block; `None` waits forever. Past the
    /// limit a write fails with [`io::ErrorKind::TimedOut`]. Zero is an error.
    ///
    /// ```
    /// use std::time::Duration;
    /// # let listener = eventlet_rt::listen("127.0.0.1:0")?;
    /// let stream = eventlet_rt::connect(listener.local_addr()?)?;
    /// stream.set_write_timeout(Some(Duration::from_secs(1)))?;
    /// assert_eq!(stream.write_timeout()?, Some(Duration::from_secs(1)));
    /// assert!(stream.set_write_timeout(Some(Duration::ZERO)).is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.socket.set_write_timeout(timeout)
    }

    /// The read timeout; see [`TcpStream::set_read_timeout`].
    ///
    /// ```
    /// # let listener = eventlet_rt::listen("127.0.0.1:0")?;
    /// let stream = eventlet_rt::connect(listener.local_addr()?)?;
    /// assert_eq!(stream.read_timeout()?, None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.socket.read_timeout())
    }

    /// The write timeout; see [`TcpStream::set_write_timeout`].
    ///
    /// ```
    /// # let listener = eventlet_rt::listen("127.0.0.1:0")?;
    /// let stream = eventlet_rt::connect(listener.local_addr()?)?;
    /// assert_eq!(stream.write_timeout()?, None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.socket.write_timeout())
    }

    /// Reads without taking the bytes off the socket; parks until some arrive.
    ///
    /// ```
    /// use std::io::Write;
    /// # let listener = eventlet_rt::listen("127.0.0.1:0")?;
    /// let stream = eventlet_rt::connect(listener.local_addr()?)?;
    /// listener.accept()?.0.write_all(b"abc")?;
    /// let mut buf = [0; 3];
    /// assert_eq!(stream.peek(&mut buf)?, 3);
    /// assert_eq!(stream.peek(&mut buf)?, 3);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.socket.read_with(|socket| socket.peek(buf))
    }

    /// Parks until a read may find bytes, within the read timeout, without
    /// a buffer or a system call (a server waiting for a client's next
    /// request holds no buffer meanwhile). It returns at once when the last
    /// read did not empty the receive buffer; a read may still find nothing.
    #[cfg(feature = "http")]
    pub(crate) fn wait_readable(&self) -> io::Result<()> {
        self.socket.wait_readable()
    }

    /// Sets `TCP_NODELAY` (Nagle's algorithm off when `true`).
    ///
    /// ```
    /// # let listener = eventlet_rt::listen("127.0.0.1:0")?;
    /// let stream = eventlet_rt::connect(listener.local_addr()?)?;
    /// stream.set_nodelay(true)?;
    /// assert!(stream.nodelay()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.socket.get().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// ```
    /// # let listener = eventlet_rt::listen("127.0.0.1:0")?;
    /// let stream = eventlet_rt::connect(listener.local_addr()?)?;
    /// assert!(!stream.nodelay()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        self.socket.get().nodelay()
    }

    /// Sets the IP time-to-live of outgoing packets.
    ///
    /// ```
    /// # let listener = eventlet_rt::listen("127.0.0.1:0")?;
    /// let stream = eventlet_rt::connect(listener.local_addr()?)?;
    /// stream.set_ttl(42)?;
    /// assert_eq!(stream.ttl()?, 42);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.socket.get().set_ttl(ttl)
    }

    /// The IP time-to-live of outgoing packets.
    ///
    /// ```
    /// # let listener = eventlet_rt::listen("127.0.0.1:0")?;
    /// let stream = eventlet_rt::connect(listener.local_addr()?)?;
    /// assert!(stream.ttl()? > 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.socket.get().ttl()
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    ///
    /// ```
    /// # let listener = eventlet_rt::listen("127.0.0.1:0")?;
    /// let stream = eventlet_rt::connect(listener.local_addr()?)?;
    /// assert!(stream.take_error()?.is_none());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.socket.get().take_error()
    }

    /// In non-blocking mode, calls that would block fail with
    /// [`io::ErrorKind::WouldBlock`] instead of parking the green thread.
    ///
    /// ```
    /// use std::io::Read;
    /// # let listener = eventlet_rt::listen("127.0.0.1:0")?;
    /// let mut stream = eventlet_rt::connect(listener.local_addr()?)?;
    /// stream.set_nonblocking(true)?;
    /// let error = stream.read(&mut [0; 8]).unwrap_err();
    /// assert_eq!(error.kind(), std::io::ErrorKind::WouldBlock);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.socket.set_nonblocking(nonblocking);
        Ok(())
    }
}

/// The outcome of a non-blocking connect, once the socket turns writable:
/// either `SO_ERROR` holds its error or the peer address is known; until
/// then, `WouldBlock`.
pub(crate) fn connect_outcome(socket: &mio::net::TcpStream) -> io::Result<()> {
    match socket.take_error()? {
        Some(error) => Err(error),
        None => match socket.peer_addr() {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                Err(io::ErrorKind::WouldBlock.into())
            }
            Err(e) => Err(e),
        },
    }
}

impl Read for &TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let wanted = buf.len();
        self.socket
            .read_stream_with(wanted, |mut socket| socket.read(buf))
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        let wanted = bufs.iter().map(|buf| buf.len()).sum();
        self.socket
            .read_stream_with(wanted, |mut socket| socket.read_vectored(bufs))
    }
}

impl Write for &TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.socket.write_with(|mut socket| socket.write(buf))
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.socket
            .write_with(|mut socket| socket.write_vectored(bufs))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        (&*self).read_vectored(bufs)
    }
}

impl Write for TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        (&*self).write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsFd for TcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.get().as_fd()
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.get().as_raw_fd()
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("TcpStream");
        if let Ok(addr) = self.local_addr() {
            out.field("addr", &addr);
        }
        if let Ok(peer) = self.peer_addr() {
            out.field("peer", &peer);
        }
        out.field("fd", &self.as_raw_fd()).finish()
    }
}
