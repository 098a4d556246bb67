//! The echo server of `echo_eventlet` written against `std::net` only, made
//! green by `eventlet_rt::monkey_patch()`: one green thread per connection.
//!
//! `echo_patched [ADDR]`

use eventlet_bench::echo;

fn main() -> std::io::Result<()> {
    eventlet_rt::monkey_patch();
    let listener = std::net::TcpListener::bind(echo::address_from_args())?;
    loop {
        let (stream, _) = listener.accept()?;
        eventlet_rt::spawn_n(move || {
            if stream.set_nodelay(true).is_err() {
                return;
            }
            echo::echo_until_closed(stream);
        });
    }
}
