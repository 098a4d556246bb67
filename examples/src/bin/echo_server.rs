//! Eventlet's echo server: every connection gets its own green thread from a
//! pool of 10,000, and every byte a client sends comes back to it.
//!
//! ```text
//! cargo run --release -p eventlet-examples --bin echo_server                  # port 6000
//! cargo run --release -p eventlet-examples --bin echo_server -- --port 0      # any free port
//! cargo run --release -p eventlet-examples --bin echo_server -- --host 127.0.0.1 --verbose
//! cargo run --release -p eventlet-examples --bin echo_server -- --threads 2   # a hub per core
//! ```
//!
//! With `--threads N` above 1, `N` hubs each accept on their own
//! `SO_REUSEPORT` listener (`eventlet_rt::hubs::serve`) and the kernel spreads
//! the connections over them.
//!
//! The first line says the port it listens on. Try it with `nc localhost 6000`.

use std::io::{self, Read, Write};

use clap::Parser;
use eventlet_rt::green::net::{SocketAddr, TcpStream};
use eventlet_rt::{AcceptBackoff, GreenPool};

/// Echoes until the client closes; returns how many bytes went back.
///
/// It waits for the client's next bytes with no buffer on its stack (a
/// one-byte `peek`), so an idle client costs its green thread a few frames:
/// the hub gives the rest of the stack back once it has been idle a while.
fn handle(mut client: TcpStream) -> io::Result<usize> {
    let mut echoed = 0;
    while client.peek(&mut [0])? > 0 {
        echoed += echo_what_arrived(&mut client)?;
    }
    Ok(echoed)
}

/// Reads what has arrived (up to 16 KiB) and writes it back. The buffer
/// lives in this frame only, which is gone while `handle` waits.
#[inline(never)]
fn echo_what_arrived(client: &mut TcpStream) -> io::Result<usize> {
    let mut buf = [0; 16 * 1024];
    let n = client.read(&mut buf)?;
    client.write_all(&buf[..n])?;
    Ok(n)
}

/// Eventlet's echo server on green threads.
#[derive(Parser, Debug)]
struct Options {
    /// The port to listen on (0: any free port, printed on the first line).
    #[arg(long, default_value_t = 6000)]
    port: u16,
    /// The address to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    host: String,
    /// Print a line per connection.
    #[arg(long)]
    verbose: bool,
    /// Hubs (OS threads) to serve on; 1 runs everything on the main thread.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

fn main() -> io::Result<()> {
    let Options {
        port,
        host,
        verbose,
        threads,
    } = Options::parse();
    if threads > 1 {
        return serve_on_hubs(&host, port, threads, verbose);
    }

    let server = eventlet_rt::listen((host.as_str(), port))?;
    println!(
        "server socket listening on port {}",
        server.local_addr()?.port()
    );
    io::stdout().flush()?;
    let pool = GreenPool::new(10_000);
    // Out of descriptors, it waits for clients to leave instead of exiting.
    let mut backoff = AcceptBackoff::new();
    loop {
        let (client, address): (TcpStream, SocketAddr) = backoff.accept(&server)?;
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

/// `--threads N`: a hub per thread, each on its own `SO_REUSEPORT` listener.
fn serve_on_hubs(host: &str, port: u16, threads: usize, verbose: bool) -> io::Result<()> {
    // Every hub binds the same port: pick a free one first if asked for any.
    let port = match port {
        0 => std::net::TcpListener::bind((host, 0))?.local_addr()?.port(),
        port => port,
    };
    println!("server socket listening with {threads} hubs on port {port}");
    io::stdout().flush()?;
    eventlet_rt::hubs::serve((host, port), threads, move |client, address| {
        if verbose {
            println!("accepted {address}");
        }
        match handle(client) {
            Ok(bytes) if verbose => println!("{address} disconnected after {bytes} bytes"),
            Err(error) if verbose => println!("{address} failed: {error}"),
            _ => {}
        }
    })
}
