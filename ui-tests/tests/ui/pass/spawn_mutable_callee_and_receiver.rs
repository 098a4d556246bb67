//! An `FnMut` callee and a `&mut self` receiver move into the green thread and are called
//! there, as they would be in place.
#![deny(warnings)]

use std::io::Write;

use eventlet_rt::spawn;

fn main() {
    let mut calls = 0;
    let bump = move |by: u32| {
        calls += by;
        calls
    };
    assert_eq!(spawn!(bump(2)).wait().unwrap(), 2);

    let buffer: Vec<u8> = Vec::new();
    let written = spawn!(buffer.write(b"hello"));
    assert_eq!(written.wait().unwrap().unwrap(), 5);

    let mut words = vec!["b", "a"];
    words.push("c");
    let sorted = spawn!(words.into_iter().rev().collect::<Vec<_>>());
    assert_eq!(sorted.wait().unwrap(), ["c", "a", "b"]);
}
