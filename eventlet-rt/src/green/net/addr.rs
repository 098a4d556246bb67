//! `ToSocketAddrs` that never blocks the hub: literal addresses parse inline,
//! host names resolve on the thread pool while the hub runs other green threads.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::{iter, option, slice, vec};

/// Green `std::net::ToSocketAddrs`: the same trait, implemented for the same
/// types, but a host name is resolved by [`tpool::execute`](crate::tpool::execute)
/// so only the calling green thread waits for DNS.
///
/// Literal addresses (`"127.0.0.1:80"`, `("::1", 80)`, a [`SocketAddr`]) are
/// parsed in place with no thread involved. Generic code written against
/// `std::net::ToSocketAddrs` keeps compiling once `#[green]` points it here.
///
/// ```
/// use eventlet_rt::green::net::{SocketAddr, ToSocketAddrs};
///
/// let literal: Vec<SocketAddr> = "127.0.0.1:8080".to_socket_addrs()?.collect();
/// assert_eq!(literal, ["127.0.0.1:8080".parse::<SocketAddr>()?]);
/// // A host name: resolved on a pool thread; other green threads run meanwhile.
/// let local = ("localhost", 8080).to_socket_addrs()?;
/// assert!(local.into_iter().all(|a| a.ip().is_loopback() && a.port() == 8080));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait ToSocketAddrs {
    /// The addresses this value resolves to.
    type Iter: Iterator<Item = SocketAddr>;

    /// Resolves to socket addresses, green: blocks only the calling green thread.
    fn to_socket_addrs(&self) -> io::Result<Self::Iter>;
}

/// Runs std's resolver for `host` on the thread pool.
fn lookup(host: String, port: u16) -> io::Result<vec::IntoIter<SocketAddr>> {
    crate::tpool::execute(move || {
        std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
            .map(Iterator::collect::<Vec<_>>)
    })
    .map(Vec::into_iter)
}

impl ToSocketAddrs for SocketAddr {
    type Iter = option::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        Ok(Some(*self).into_iter())
    }
}

impl ToSocketAddrs for SocketAddrV4 {
    type Iter = option::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        SocketAddr::V4(*self).to_socket_addrs()
    }
}

impl ToSocketAddrs for SocketAddrV6 {
    type Iter = option::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        SocketAddr::V6(*self).to_socket_addrs()
    }
}

impl ToSocketAddrs for (IpAddr, u16) {
    type Iter = option::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        SocketAddr::new(self.0, self.1).to_socket_addrs()
    }
}

impl ToSocketAddrs for (Ipv4Addr, u16) {
    type Iter = option::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        SocketAddr::new(self.0.into(), self.1).to_socket_addrs()
    }
}

impl ToSocketAddrs for (Ipv6Addr, u16) {
    type Iter = option::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        SocketAddr::new(self.0.into(), self.1).to_socket_addrs()
    }
}

impl ToSocketAddrs for (&str, u16) {
    type Iter = vec::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        let (host, port) = *self;
        match host.parse::<IpAddr>() {
            Ok(ip) => Ok(vec![SocketAddr::new(ip, port)].into_iter()),
            Err(_) => lookup(host.to_owned(), port),
        }
    }
}

impl ToSocketAddrs for (String, u16) {
    type Iter = vec::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        (self.0.as_str(), self.1).to_socket_addrs()
    }
}

impl ToSocketAddrs for str {
    type Iter = vec::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        if let Ok(addr) = self.parse::<SocketAddr>() {
            return Ok(vec![addr].into_iter());
        }
        let invalid = |message| io::Error::new(io::ErrorKind::InvalidInput, message);
        let (host, port) = self
            .rsplit_once(':')
            .ok_or_else(|| invalid("invalid socket address"))?;
        let port = port
            .parse::<u16>()
            .map_err(|_| invalid("invalid port value"))?;
        lookup(host.to_owned(), port)
    }
}

impl ToSocketAddrs for String {
    type Iter = vec::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        self.as_str().to_socket_addrs()
    }
}

impl<'a> ToSocketAddrs for &'a [SocketAddr] {
    type Iter = iter::Cloned<slice::Iter<'a, SocketAddr>>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        Ok(self.iter().cloned())
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {
    type Iter = T::Iter;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        (**self).to_socket_addrs()
    }
}

/// Calls `f` on each address `addr` resolves to until one succeeds, like std
/// does for `bind` and `connect`; the last error otherwise.
pub(crate) fn each_addr<A: ToSocketAddrs + ?Sized, R>(
    addr: &A,
    mut f: impl FnMut(SocketAddr) -> io::Result<R>,
) -> io::Result<R> {
    let mut last_error = None;
    for addr in addr.to_socket_addrs()? {
        match f(addr) {
            Ok(done) => return Ok(done),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any addresses",
        )
    }))
}
