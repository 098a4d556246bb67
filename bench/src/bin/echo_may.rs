//! A `may` echo server with one worker: one coroutine per connection.
//!
//! `echo_may [ADDR]`

use eventlet_bench::echo;
use eventlet_bench::peers;
use may::net::TcpListener;

fn main() -> std::io::Result<()> {
    let addr = echo::address_from_args();
    peers::in_may(move || -> std::io::Result<()> {
        let listener = TcpListener::bind(addr)?;
        loop {
            let (stream, _) = listener.accept()?;
            stream.set_nodelay(true)?;
            may::go!(move || echo::echo_until_closed(stream));
        }
    })
}
