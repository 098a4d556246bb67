//! A connected pair of green TCP streams on the loopback, for the socket tests.

use std::io;

use eventlet_rt::green::net::{TcpListener, TcpStream};

/// A connected pair: (the accepted side, the connecting side).
pub fn pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let client = TcpStream::connect(listener.local_addr()?)?;
    let (server, _) = listener.accept()?;
    Ok((server, client))
}
