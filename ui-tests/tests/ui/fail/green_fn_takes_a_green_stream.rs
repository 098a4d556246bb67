//! A `#[green]` fn's signature is green too: it takes `eventlet_rt::green::net::TcpStream`,
//! so a std stream made outside does not fit.
use eventlet_rt::green;

#[green]
fn handle(stream: std::net::TcpStream) -> std::io::Result<()> {
    stream.set_nodelay(true)
}

fn main() {
    let stream = std::net::TcpStream::connect("127.0.0.1:9").unwrap();
    handle(stream).unwrap();
}
