use eventlet_rt::pool_imap;

fn fetch(url: &str) -> usize {
    url.len()
}

fn main() {
    let _ = pool_imap!(fetch(url) for url in);
}
