//! `tpool::execute` runs its closure on another OS thread, so it must be `Send`.
use std::rc::Rc;

fn main() {
    let shared = Rc::new(5);
    let doubled = eventlet_rt::tpool::execute(move || *shared * 2);
    assert_eq!(doubled, 10);
}
