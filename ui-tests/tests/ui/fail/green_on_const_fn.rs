use eventlet_rt::green;

#[green]
const fn answer() -> u32 {
    42
}

fn main() {}
