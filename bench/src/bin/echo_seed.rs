//! The seed's echo server (Eventlet's echo example, as `examples/echo_server`
//! writes it) with the peers' 4 KiB buffer: one green thread per connection
//! from a pool, the buffer on the green thread's stack.
//!
//! `echo_seed [ADDR]`; the idle-memory part of `run.sh` measures it.

use std::io::{Read, Write};

use eventlet_bench::echo::{self, BUFFER};
use eventlet_rt::green::net::TcpStream;

/// Connections served at once; above the 10,000 the measurement opens.
const CONNECTIONS: usize = 20_000;

fn handle(mut client: TcpStream) -> std::io::Result<()> {
    let mut buf = [0; BUFFER];
    loop {
        let n = client.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        client.write_all(&buf[..n])?;
    }
}

fn main() -> std::io::Result<()> {
    let listener = eventlet_rt::listen(echo::address_from_args())?;
    let pool = eventlet_rt::GreenPool::new(CONNECTIONS);
    eventlet_rt::serve_with_pool(listener, &pool, |stream, _| {
        let _ = stream.set_nodelay(true).and_then(|()| handle(stream));
    })
}
