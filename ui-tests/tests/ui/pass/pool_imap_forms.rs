//! Every form of `pool_imap!`: with and without a pool, a function or a comprehension, and
//! patterns that destructure each item like Eventlet's `starmap`.
#![deny(warnings)]

use eventlet_rt::{GreenPool, pool_imap};

fn fetch(host: &str, port: u16) -> String {
    eventlet_rt::yield_now();
    format!("{host}:{port}")
}

fn square(n: u64) -> u64 {
    n * n
}

struct Point {
    x: i32,
    y: i32,
}

fn main() {
    let pool = GreenPool::new(4);

    let squares: Vec<u64> = pool_imap!(pool, square, 1..=4).collect();
    assert_eq!(squares, [1, 4, 9, 16]);

    let squares: Vec<u64> = pool_imap!(|n: u64| n * n, vec![5, 6]).collect();
    assert_eq!(squares, [25, 36]);

    let pairs = vec![("a", 1), ("b", 2)];
    let urls: Vec<String> = pool_imap!(pool, fetch(h, p) for (h, p) in pairs).collect();
    assert_eq!(urls, ["a:1", "b:2"]);

    let suffix = String::from("!");
    let shouted: Vec<String> = pool_imap!(format!("{w}{suffix}") for w in ["hi", "yo"]).collect();
    assert_eq!(shouted, ["hi!", "yo!"]);

    let points = vec![Point { x: 1, y: 2 }, Point { x: 3, y: 4 }];
    let sums: Vec<i32> = pool_imap!(&pool, x + y for Point { x, y } in points).collect();
    assert_eq!(sums, [3, 7]);

    let nested = vec![(1, (2, 3)), (4, (5, 6))];
    let firsts: Vec<i32> = pool_imap!(a + c for (a, (_, c)) in nested,).collect();
    assert_eq!(firsts, [4, 10]);

    let typed: Vec<u8> = pool_imap!(pool, n / 2 for n: u8 in [2, 4]).collect();
    assert_eq!(typed, [1, 2]);

    let mut results = pool_imap!(GreenPool::new(2), square, 0..3);
    assert_eq!(results.next(), Some(0));
    assert_eq!(results.collect::<Vec<_>>(), [1, 4]);
}
