//! `spawn!(recv.method(a))` moves the receiver into the green thread after evaluating it;
//! `spawn!(move || ...)` spawns the closure as it is; closure arguments keep their inference.
#![deny(warnings)]

use std::cell::Cell;
use std::rc::Rc;

use eventlet_rt::spawn;

struct Counter {
    hits: Rc<Cell<u32>>,
}

impl Counter {
    fn hit(self, times: u32) -> u32 {
        self.hits.set(self.hits.get() + times);
        self.hits.get()
    }

    fn parse_as<T: std::str::FromStr>(&self, text: &str) -> Option<T> {
        self.hits.set(self.hits.get() + 1);
        text.parse().ok()
    }
}

fn apply(values: Vec<u32>, f: impl Fn(u32) -> u32) -> Vec<u32> {
    values.into_iter().map(f).collect()
}

fn main() {
    let hits = Rc::new(Cell::new(0));
    let counter = Counter { hits: hits.clone() };
    assert_eq!(spawn!(counter.hit(3)).wait().unwrap(), 3);

    let parser = Counter { hits: hits.clone() };
    assert_eq!(spawn!(parser.parse_as::<u8>("42")).wait().unwrap(), Some(42));

    let words = vec!["a", "b", "c"];
    assert_eq!(spawn!(words.len()).wait().unwrap(), 3);

    let name = String::from("Ada");
    let greeting = spawn!(move || format!("hello {name}"));
    assert_eq!(greeting.wait().unwrap(), "hello Ada");

    let offset = 10;
    let shifted = spawn!(apply(vec![1, 2], move |v| v + offset));
    assert_eq!(shifted.wait().unwrap(), [11, 12]);
    assert_eq!(hits.get(), 4);
}
