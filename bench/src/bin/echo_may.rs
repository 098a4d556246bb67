//! A `may` echo server: one coroutine per connection.
//!
//! `echo_may [ADDR [WORKERS]]` (default one worker).

use eventlet_bench::echo;
use eventlet_bench::peers;
use may::net::TcpListener;

fn main() -> std::io::Result<()> {
    let addr = echo::address_from_args();
    let workers = echo::threads_from_args();
    if workers > 1 {
        may::config().set_workers(workers).set_worker_pin(false);
    }
    let serve = move || -> std::io::Result<()> {
        let listener = TcpListener::bind(addr)?;
        loop {
            let (stream, _) = listener.accept()?;
            stream.set_nodelay(true)?;
            may::go!(move || echo::echo_until_closed(stream));
        }
    };
    if workers > 1 {
        may::go!(serve).join().expect("may coroutine panicked")
    } else {
        peers::in_may(serve)
    }
}
