use eventlet_rt::{GreenPool, spawn};

fn add(a: u32, b: u32) -> u32 {
    a + b
}

fn main() {
    let pool = GreenPool::new(10);
    let _ = spawn!(pool, add, 1, 2);
}
