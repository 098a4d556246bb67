use eventlet_rt::green;

trait Handler {
    #[green]
    fn handle(&self, request: &str) -> String;
}

fn main() {}
