use eventlet_rt::{GreenPool, pool_imap};

fn fetch(url: &str) -> usize {
    url.len()
}

fn main() {
    let pool = GreenPool::new(10);
    let urls = vec![Some("a"), None];
    let _ = pool_imap!(pool, fetch(url) for Some(url) in urls);
}
