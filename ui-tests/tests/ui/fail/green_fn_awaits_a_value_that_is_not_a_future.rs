use eventlet_rt::green;

#[green]
fn count() -> u32 {
    let n: u32 = 5;
    n.await
}

fn main() {
    count();
}
