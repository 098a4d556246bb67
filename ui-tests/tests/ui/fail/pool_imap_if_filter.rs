use eventlet_rt::pool_imap;

fn main() {
    let numbers = vec![1, 2, 3];
    let _ = pool_imap!(n * 2 for n in numbers if n > 1);
}
