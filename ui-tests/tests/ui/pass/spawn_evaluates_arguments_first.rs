//! `spawn!(f(a, b))`, `spawn!(path::f(a))`, `spawn!(make()(a))`: the callee and the
//! arguments are evaluated at the call site, in order, before the green thread starts.
#![deny(warnings)]

use std::cell::RefCell;
use std::rc::Rc;

use eventlet_rt::spawn;

fn add(a: i32, b: i32) -> i32 {
    a + b
}

mod math {
    pub fn square(x: u64) -> u64 {
        x * x
    }
}

fn logged(log: &Rc<RefCell<Vec<&'static str>>>, step: &'static str, value: i32) -> i32 {
    log.borrow_mut().push(step);
    value
}

fn main() {
    let mut x = 1;
    let sum = spawn!(add(x, 2));
    x = 100;
    assert_eq!(sum.wait().unwrap(), 3);
    assert_eq!(x, 100);

    assert_eq!(spawn!(math::square(7)).wait().unwrap(), 49);

    let log = Rc::new(RefCell::new(Vec::new()));
    let make_adder = |log: &Rc<RefCell<Vec<&'static str>>>| {
        log.borrow_mut().push("callee");
        add
    };
    let adder = spawn!(make_adder(&log)(logged(&log, "a", 1), logged(&log, "b", 2)));
    log.borrow_mut().push("after spawn!");
    assert_eq!(adder.wait().unwrap(), 3);
    assert_eq!(*log.borrow(), ["callee", "a", "b", "after spawn!"]);
}
