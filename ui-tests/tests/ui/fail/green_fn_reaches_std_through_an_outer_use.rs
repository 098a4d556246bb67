//! The README's old example: `use std::net::TcpStream;` sits outside the `#[green]` function,
//! so `#[green]` cannot see it and `TcpStream` would stay std's, blocking the whole OS thread
//! (ten fetches of a 200 ms server took 2 s instead of 0.2 s). Now a compile error that names
//! the outer `use` and the fix.
use std::io::{Read, Write};
use std::net::TcpStream;

#[eventlet_rt::green]
fn fetch(addr: &str) -> std::io::Result<usize> {
    let mut stream = TcpStream::connect(addr)?;
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
    let mut body = Vec::new();
    stream.read_to_end(&mut body)?;
    Ok(body.len())
}

fn main() {
    let pool = eventlet_rt::GreenPool::new(100);
    let addrs = vec!["127.0.0.1:8080"; 10];
    for size in eventlet_rt::pool_imap!(pool, fetch(a) for a in addrs) {
        println!("{size:?}");
    }
}
