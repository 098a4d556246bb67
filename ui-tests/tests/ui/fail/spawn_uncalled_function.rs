use eventlet_rt::spawn;

fn work() -> u32 {
    1
}

fn main() {
    let _ = spawn!(work);
}
