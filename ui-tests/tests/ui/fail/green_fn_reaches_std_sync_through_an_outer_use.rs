//! A std `Mutex` imported outside a `#[green]` function would deadlock the OS thread as soon
//! as two green threads contend for it across a green blocking call.
use std::rc::Rc;
use std::sync::{Condvar, Mutex};

#[eventlet_rt::green]
fn bump(counter: Rc<(Mutex<u32>, Condvar)>) {
    *counter.0.lock().unwrap() += 1;
    counter.1.notify_all();
}

fn main() {
    bump(Rc::new((Mutex::new(0), Condvar::new())));
}
