//! `#[green] mod`: `use std::{net, thread}`, `use std::sync::{mpsc, Arc}` and friends are
//! split so that only the green modules move; `thread::sleep` after `use std::thread` is green.
#![deny(warnings)]

use std::time::{Duration, Instant};

#[eventlet_rt::green]
mod worker {
    use std::sync::{Arc, mpsc};
    use std::time::Duration;
    use std::{net, thread};

    pub fn nap() {
        thread::sleep(Duration::from_millis(50));
    }

    pub fn local_addr() -> net::SocketAddr {
        net::SocketAddr::from(([127, 0, 0, 1], 80))
    }

    pub fn channel_and_counter() -> (mpsc::Sender<u8>, mpsc::Receiver<u8>, Arc<u8>) {
        let (tx, rx) = mpsc::channel();
        (tx, rx, Arc::new(0))
    }

    pub mod nested {
        use std::thread as t;

        pub fn nap() {
            t::sleep(std::time::Duration::from_millis(50));
        }
    }
}

fn main() {
    let start = Instant::now();
    let nappers: Vec<_> = (0..20)
        .map(|i| {
            if i % 2 == 0 {
                eventlet_rt::spawn(worker::nap)
            } else {
                eventlet_rt::spawn(worker::nested::nap)
            }
        })
        .collect();
    for napper in nappers {
        napper.wait().unwrap();
    }
    assert!(start.elapsed() < Duration::from_millis(700), "{:?}", start.elapsed());
    assert_eq!(worker::local_addr().port(), 80);
    let (tx, rx, counter) = worker::channel_and_counter();
    tx.send(7).unwrap();
    assert_eq!(rx.recv().unwrap(), 7 + *counter);
}
