//! A tokio echo server: one task per connection, on `current_thread`, or on
//! `multi_thread` with WORKERS workers.
//!
//! `echo_tokio [ADDR [WORKERS]]` (default 1: `current_thread`).

use eventlet_bench::echo::{self, BUFFER};
use eventlet_bench::peers;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn echo(mut stream: TcpStream) {
    let mut buffer = vec![0; BUFFER];
    loop {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if stream.write_all(&buffer[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

fn main() -> std::io::Result<()> {
    let workers = echo::threads_from_args();
    let runtime = if workers > 1 {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()?
    } else {
        peers::tokio_current_thread()
    };
    runtime.block_on(async {
        let listener = TcpListener::bind(echo::address_from_args()).await?;
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            tokio::spawn(echo(stream));
        }
    })
}
