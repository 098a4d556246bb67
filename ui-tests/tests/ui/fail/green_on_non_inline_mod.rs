use eventlet_rt::green;

#[green]
mod handlers;

fn main() {}
