//! Bare names inside a `#[green]` function that do not reach std's blocking items compile:
//! green items imported outside, a type of one's own named like a std one, a local closure
//! named `sleep`, `use`s inside the function, and `#[green(no_patch)]`.
#![deny(warnings)]

use std::time::{Duration, Instant};

use eventlet_rt::green::mpsc::{self, Receiver};
use eventlet_rt::green::net::TcpListener;
use eventlet_rt::green::thread::{self, sleep, spawn};

/// A type of the program's own that shares a std name.
struct TcpStream {
    port: u16,
}

#[eventlet_rt::green]
fn relay(input: Receiver<u32>) -> u32 {
    thread::sleep(Duration::from_millis(1));
    sleep(Duration::from_millis(1));
    let (tx, rx) = mpsc::channel();
    let worker = spawn(move || tx.send(input.recv().unwrap()).unwrap());
    worker.join().unwrap();
    rx.recv().unwrap()
}

#[eventlet_rt::green]
fn own_types_and_locals() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let stream = TcpStream {
        port: listener.local_addr().unwrap().port(),
    };
    let sleep = |ms| std::thread::sleep(Duration::from_millis(ms)); // green: written in full
    sleep(1);
    stream.port
}

#[eventlet_rt::green]
fn imports_inside() -> bool {
    use std::net::UdpSocket;
    use std::thread::sleep;
    sleep(Duration::from_millis(1));
    UdpSocket::bind("127.0.0.1:0").is_ok()
}

mod blocking_on_purpose {
    use std::thread::sleep;

    #[eventlet_rt::green(no_patch)]
    pub fn nap() {
        sleep(std::time::Duration::from_millis(1));
    }
}

fn main() {
    let (tx, rx) = mpsc::channel();
    tx.send(7).unwrap();
    assert_eq!(relay(rx), 7);
    assert!(own_types_and_locals() > 0);
    assert!(imports_inside());
    let start = Instant::now();
    blocking_on_purpose::nap();
    assert!(start.elapsed() >= Duration::from_millis(1));
}
