use eventlet_rt::green;

#[green]
enum Message {
    Ping,
    Data(Vec<u8>),
}

fn main() {}
