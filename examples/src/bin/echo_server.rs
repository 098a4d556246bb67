//! Eventlet's echo server: every connection gets its own green thread from a
//! pool of 10,000, and every byte a client sends comes back to it.
//!
//! ```text
//! cargo run --release -p eventlet-examples --bin echo_server                  # port 6000
//! cargo run --release -p eventlet-examples --bin echo_server -- --port 0      # any free port
//! cargo run --release -p eventlet-examples --bin echo_server -- --host 127.0.0.1 --verbose 1
//! ```
//!
//! The first line says the port it listens on. Try it with `nc localhost 6000`.

use std::io::{self, Read, Write};

use eventlet_examples::args::Args;
use eventlet_rt::GreenPool;
use eventlet_rt::green::net::{SocketAddr, TcpStream};

/// Echoes until the client closes; returns how many bytes went back.
fn handle(mut client: TcpStream) -> io::Result<usize> {
    let mut buf = [0; 16 * 1024];
    let mut echoed = 0;
    loop {
        let n = client.read(&mut buf)?;
        if n == 0 {
            return Ok(echoed);
        }
        client.write_all(&buf[..n])?;
        echoed += n;
    }
}

fn main() -> io::Result<()> {
    let args = Args::from_env();
    let port: u16 = args.value("port", 6000);
    let host: String = args.value("host", "0.0.0.0".to_owned());
    let verbose = args.value("verbose", 0u8) > 0;

    let server = eventlet_rt::listen((host.as_str(), port))?;
    println!(
        "server socket listening on port {}",
        server.local_addr()?.port()
    );
    io::stdout().flush()?;
    let pool = GreenPool::new(10_000);
    loop {
        let (client, address): (TcpStream, SocketAddr) = server.accept()?;
        if verbose {
            println!("accepted {address}");
        }
        pool.spawn_n(move || match handle(client) {
            Ok(bytes) if verbose => println!("{address} disconnected after {bytes} bytes"),
            Err(error) if verbose => println!("{address} failed: {error}"),
            _ => {}
        });
    }
}
