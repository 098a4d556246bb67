//! The eventlet-rt echo server: `serve`, one green thread per connection.
//!
//! `echo_eventlet [ADDR [THREADS]]`: with THREADS above 1, that many hubs
//! (`hubs::serve_on_with_pool`, one `SO_REUSEPORT` listener per hub).

use eventlet_bench::echo;
use eventlet_rt::green::net::TcpStream;

/// Connections served at once (per hub); above the 1,000 the load generator opens.
const CONNECTIONS: usize = 10_000;

fn handle(stream: TcpStream) {
    if stream.set_nodelay(true).is_err() {
        return;
    }
    echo::echo_until_closed(stream);
}

fn main() -> std::io::Result<()> {
    let addr = echo::address_from_args();
    let threads = echo::threads_from_args();
    if threads > 1 {
        let hubs = eventlet_rt::hubs::Hubs::new(threads)?;
        return eventlet_rt::hubs::serve_on_with_pool(&hubs, addr, CONNECTIONS, |stream, _| {
            handle(stream)
        });
    }
    let listener = eventlet_rt::listen(addr)?;
    let pool = eventlet_rt::GreenPool::new(CONNECTIONS);
    eventlet_rt::serve_with_pool(listener, &pool, |stream, _| handle(stream))
}
