//! `#[green] fn main`: std-style thread code (`spawn`, `join`, `sleep`, `current`) compiles
//! unchanged and runs on green threads.
#![deny(warnings)]

use std::time::Duration;

#[eventlet_rt::green]
fn main() {
    let handles: Vec<_> = (0..4)
        .map(|i| {
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(10));
                i * 2
            })
        })
        .collect();
    let doubled: Vec<usize> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(doubled, [0, 2, 4, 6]);
    let _main: std::thread::ThreadId = std::thread::current().id();
}
