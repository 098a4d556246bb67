//! The eventlet-rt echo server: `serve`, one green thread per connection.
//!
//! `echo_eventlet [ADDR]`

use eventlet_bench::echo;

/// Connections served at once; above the 1,000 the load generator opens.
const CONNECTIONS: usize = 10_000;

fn main() -> std::io::Result<()> {
    let listener = eventlet_rt::listen(echo::address_from_args())?;
    let pool = eventlet_rt::GreenPool::new(CONNECTIONS);
    eventlet_rt::serve_with_pool(listener, &pool, |stream, _| {
        if stream.set_nodelay(true).is_err() {
            return;
        }
        echo::echo_until_closed(stream);
    })
}
