use eventlet_rt::pool_imap;

fn main() {
    let pairs = vec![(0, "zero"), (1, "one")];
    let _ = pool_imap!(name.len() for (0, name) in pairs);
}
