use eventlet_rt::green;

struct Server;

#[green]
impl Server {
    fn run(&self) {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

fn main() {}
