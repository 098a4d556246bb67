use eventlet_rt::green;

#[green]
struct Connection {
    stream: std::net::TcpStream,
}

fn main() {}
