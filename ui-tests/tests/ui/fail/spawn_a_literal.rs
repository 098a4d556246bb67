use eventlet_rt::spawn;

fn main() {
    let _ = spawn!(42);
}
