use eventlet_rt::green;

#[green(no_patch = true)]
fn nap() {
    std::thread::sleep(std::time::Duration::from_millis(1));
}

fn main() {}
