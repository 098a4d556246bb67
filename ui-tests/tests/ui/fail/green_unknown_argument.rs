use eventlet_rt::green;

#[green(patch_all)]
fn nap() {
    std::thread::sleep(std::time::Duration::from_millis(1));
}

fn main() {}
