//! A `may` echo server with one worker: one coroutine per connection.
//!
//! `echo_may [ADDR]`

use std::io::{Read, Write};

use eventlet_bench::echo::{self, BUFFER};
use eventlet_bench::peers;
use may::net::{TcpListener, TcpStream};

fn echo(mut stream: TcpStream) {
    let mut buffer = vec![0; BUFFER];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if stream.write_all(&buffer[..n]).is_err() {
                    return;
                }
            }
        }
    }
}

fn main() -> std::io::Result<()> {
    let addr = echo::address_from_args();
    peers::in_may(move || -> std::io::Result<()> {
        let listener = TcpListener::bind(addr)?;
        loop {
            let (stream, _) = listener.accept()?;
            stream.set_nodelay(true)?;
            may::go!(move || echo(stream));
        }
    })
}
