//! The macros' own locals (`callee`, `receiver`, `arg0`...) never clash with the user's
//! variables of the same names.
#![deny(warnings)]

use eventlet_rt::spawn;

fn pair(a: u32, b: u32) -> (u32, u32) {
    (a, b)
}

fn main() {
    let callee = 1;
    let arg0 = 2;
    let arg1 = 3;
    let receiver = vec![arg0, arg1];
    assert_eq!(spawn!(pair(arg1, callee)).wait().unwrap(), (3, 1));
    assert_eq!(spawn!(pair(callee + arg0, arg0)).wait().unwrap(), (3, 2));
    let sum = spawn!(receiver.into_iter().fold(arg0, |acc, n| acc + n));
    assert_eq!(sum.wait().unwrap(), 7);
}
