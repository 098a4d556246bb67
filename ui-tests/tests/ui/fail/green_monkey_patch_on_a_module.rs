#[eventlet_rt::green(monkey_patch)]
mod handlers {
    pub fn nap() {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

fn main() {
    handlers::nap();
}
