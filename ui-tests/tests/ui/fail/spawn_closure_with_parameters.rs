use eventlet_rt::spawn;

fn main() {
    let _ = spawn!(|n: u32| n + 1);
}
