//! Both mistakes of a comprehension show in one build.
use eventlet_rt::pool_imap;

fn main() {
    let numbers = vec![Some(1), None];
    let _ = pool_imap!(n * 2 for Some(n) in numbers if n > 1);
}
