use eventlet_rt::{GreenPool, spawn};

fn main() {
    let pool = GreenPool::new(10);
    let _ = spawn!(pool,);
}
