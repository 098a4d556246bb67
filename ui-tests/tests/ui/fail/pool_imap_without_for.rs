use eventlet_rt::{GreenPool, pool_imap};

fn fetch(url: &str) -> usize {
    url.len()
}

fn main() {
    let pool = GreenPool::new(10);
    let urls = vec!["a", "b"];
    let _ = pool_imap!(pool, fetch(url) url in urls);
}
