use eventlet_rt::{GreenPool, pool_imap};

fn main() {
    let pool = GreenPool::new(10);
    let urls = vec!["a", "b"];
    let _ = pool_imap!(pool, for url in urls);
}
