use eventlet_rt::green;

#[green]
unsafe extern "C" {
    fn sleep(seconds: u32) -> u32;
}

fn main() {}
