//! Every kind of std blocking item that a `use` outside a `#[green]` function can bring in:
//! a module (`thread::sleep`), a function (`sleep`), a generic function called
//! (`spawn(..)`, `mpsc::channel()`), types in the signature and in the body.
use std::sync::mpsc::{self, Receiver};
use std::thread::{self, sleep, spawn};
use std::time::Duration;

#[eventlet_rt::green]
fn relay(input: Receiver<u32>) -> u32 {
    thread::sleep(Duration::from_millis(1));
    sleep(Duration::from_millis(1));
    let (tx, rx) = mpsc::channel();
    let worker = spawn(move || tx.send(input.recv().unwrap()).unwrap());
    worker.join().unwrap();
    let builder: thread::Builder = thread::Builder::new();
    drop(builder);
    rx.recv().unwrap()
}

fn main() {
    let (tx, rx) = mpsc::channel();
    tx.send(1).unwrap();
    relay(rx);
}
