//! `spawn!(pool, f(a))` and `spawn_n!(pool, f(a))` run in the pool (a `GreenPool`, or a
//! `GreenPile` that collects the results); the pool expression is evaluated first, then the
//! callee and the arguments.
#![deny(warnings)]

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use eventlet_rt::{GreenPile, GreenPool, sleep, spawn, spawn_n};

fn double(x: u32) -> u32 {
    x * 2
}

fn push(log: Rc<RefCell<Vec<u32>>>, x: u32) {
    log.borrow_mut().push(x);
}

fn main() {
    let pool = GreenPool::new(2);
    let pools = [GreenPool::new(1)];
    let mut x = 21;
    let doubled = spawn!(pool, double(x));
    x = 0;
    assert_eq!(doubled.wait().unwrap(), 42);
    assert_eq!(spawn!(&pools[0], double(x + 1)).wait().unwrap(), 2);

    let log = Rc::new(RefCell::new(Vec::new()));
    for i in 0..3 {
        spawn_n!(pool, push(log.clone(), i));
    }
    spawn_n!(pools[0], move || ());
    sleep(Duration::from_millis(10));
    assert_eq!(*log.borrow(), [0, 1, 2]);

    let pile = GreenPile::new(2);
    for x in 1..=3 {
        spawn!(pile, double(x));
    }
    assert_eq!(pile.collect::<Vec<_>>(), [2, 4, 6]);
}
