//! `#[green(no_patch)]` keeps std as written, also inside a `#[green] mod`: these functions
//! only compile if `std::thread::spawn` still gives a std `JoinHandle`.
#![deny(warnings)]

use eventlet_rt::green;

#[green(no_patch)]
fn os_thread() -> u32 {
    let handle: std::thread::JoinHandle<u32> = std::thread::spawn(|| 7);
    handle.join().unwrap()
}

#[green]
mod mixed {
    use std::thread;

    #[eventlet_rt::green(no_patch)]
    pub fn os_thread() -> u32 {
        let handle: std::thread::JoinHandle<u32> = std::thread::spawn(|| 8);
        handle.join().unwrap()
    }

    pub fn green_thread() -> u32 {
        thread::spawn(|| 9).join().unwrap()
    }
}

fn main() {
    assert_eq!(os_thread() + mixed::os_thread() + mixed::green_thread(), 24);
}
