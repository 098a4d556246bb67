use eventlet_rt::green;

#[green(no_patch, no_patch)]
fn nap() {
    std::thread::sleep(std::time::Duration::from_millis(1));
}

fn main() {}
