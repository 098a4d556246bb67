use eventlet_rt::pool_imap;

fn main() {
    let digits = vec![1, 2, 3];
    let _ = pool_imap!(d * 2 for 1 | 2 in digits);
}
