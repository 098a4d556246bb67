//! `spawn_n!` has the forms of `spawn!` and returns nothing.
#![deny(warnings)]

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use eventlet_rt::{sleep, spawn_n};

type Log = Rc<RefCell<Vec<String>>>;

fn record(log: Log, entry: String) {
    log.borrow_mut().push(entry);
}

struct Recorder(Log);

impl Recorder {
    fn record(self, entry: &str) {
        self.0.borrow_mut().push(entry.to_owned());
    }
}

fn main() {
    let log: Log = Rc::default();
    let mut n = 1;
    spawn_n!(record(log.clone(), format!("call {n}")));
    n += 1;
    spawn_n!(Recorder(log.clone()).record("method"));
    let closure_log = log.clone();
    spawn_n!(move || closure_log.borrow_mut().push(format!("closure {n}")));
    sleep(Duration::ZERO);
    assert_eq!(*log.borrow(), ["call 1", "method", "closure 2"]);
}
