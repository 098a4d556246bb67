//! Paths inside macro arguments that parse as expressions are green too: `format!`,
//! `write!`, `vec!`, `assert!`, `matches!`, nested macros.
#![deny(warnings)]

use std::fmt::Write;
use std::time::{Duration, Instant};

use eventlet_rt::{green, spawn};

#[green]
fn busy() -> String {
    let naps = vec![std::thread::sleep(Duration::from_millis(25)); 1];
    assert!(matches!(naps.as_slice(), [()]), "{:?}", std::thread::yield_now());
    let line = format!("{:?}", std::thread::sleep(Duration::from_millis(25)));
    assert_eq!(line, format!("{:?}", ()));
    let mut out = String::new();
    write!(out, "{:?}", vec![std::thread::current().id()]).unwrap();
    assert!(out.starts_with("[ThreadId"), "{out}");
    line
}

fn main() {
    let start = Instant::now();
    let busy: Vec<_> = (0..20).map(|_| spawn(busy)).collect();
    for b in busy {
        assert_eq!(b.wait().unwrap(), "()");
    }
    assert!(start.elapsed() < Duration::from_millis(700), "{:?}", start.elapsed());
}
