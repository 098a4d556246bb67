//! A hand-written single-threaded `mio` echo server: the limit for one core.
//!
//! `echo_mio [ADDR [THREADS]]`: with THREADS above 1, that many independent
//! loops on threads of their own, each with its own `SO_REUSEPORT` listener
//! (the limit for thread-per-core on THREADS cores). Edge-triggered: every readable event reads until
//! `WouldBlock`, writing each chunk straight back; a write that would block
//! keeps the rest and waits for writable.

use std::io::{self, Read, Write};

use eventlet_bench::echo::{self, BUFFER};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use slab::Slab;

const LISTENER: Token = Token(usize::MAX);

struct Connection {
    stream: TcpStream,
    buffer: Box<[u8; BUFFER]>,
    /// Bytes read but not yet written back: `buffer[written..filled]`.
    written: usize,
    filled: usize,
}

impl Connection {
    /// Echoes until the socket would block; false when the peer is gone.
    fn serve(&mut self) -> bool {
        loop {
            while self.written < self.filled {
                match self.stream.write(&self.buffer[self.written..self.filled]) {
                    Ok(n) => self.written += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => return false,
                }
            }
            match self.stream.read(&mut self.buffer[..]) {
                Ok(0) => return false,
                Ok(n) => (self.written, self.filled) = (0, n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
    }
}

fn main() -> io::Result<()> {
    let addr = echo::address_from_args();
    let threads = echo::threads_from_args();
    if threads == 1 {
        return serve(TcpListener::bind(addr)?);
    }
    let loops: Vec<_> = (0..threads)
        .map(|_| {
            let listener = TcpListener::from_std(eventlet_bench::http::reuseport_listener(addr));
            std::thread::spawn(move || serve(listener))
        })
        .collect();
    for event_loop in loops {
        event_loop.join().expect("an event loop panicked")?;
    }
    Ok(())
}

/// One event loop: accepts on `listener` and echoes every connection it got.
fn serve(mut listener: TcpListener) -> io::Result<()> {
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut connections: Slab<Connection> = Slab::new();
    let mut events = Events::with_capacity(1024);
    loop {
        poll.poll(&mut events, None)?;
        for event in events.iter() {
            if event.token() == LISTENER {
                loop {
                    let (mut stream, _) = match listener.accept() {
                        Ok(accepted) => accepted,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => return Err(e),
                    };
                    stream.set_nodelay(true)?;
                    let entry = connections.vacant_entry();
                    poll.registry().register(
                        &mut stream,
                        Token(entry.key()),
                        Interest::READABLE | Interest::WRITABLE,
                    )?;
                    entry.insert(Connection {
                        stream,
                        buffer: Box::new([0; BUFFER]),
                        written: 0,
                        filled: 0,
                    });
                }
                continue;
            }
            let key = event.token().0;
            let alive = connections.get_mut(key).is_some_and(Connection::serve);
            if !alive && connections.contains(key) {
                let mut gone = connections.remove(key);
                poll.registry().deregister(&mut gone.stream)?;
            }
        }
    }
}
