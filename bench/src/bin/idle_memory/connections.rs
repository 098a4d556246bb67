//! Resident bytes per idle connection of a server in another process.
//!
//! The server starts fresh for each measurement and serves one warm-up
//! connection before the first reading, so its fixed costs (listener,
//! runtime, first-use caches) are not counted. Then COUNT connections each
//! make one exchange and stay open, silent, for SETTLE seconds: the server's
//! RSS growth over COUNT is what an idle connection costs it.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use super::nginx::Nginx;

/// One echo: what the load generator of the echo part sends, 64 bytes.
const MESSAGE: [u8; 64] = [b'x'; 64];

const REQUEST: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: localhost\r\n\r\n";

/// `echo|http COUNT SETTLE SERVER_COMMAND...`: the JSON line of one measurement.
pub(crate) fn measure(args: &[String]) -> serde_json::Value {
    let [kind, count, settle, command @ ..] = args else {
        panic!("usage: idle_memory connections echo|http COUNT SETTLE SERVER_COMMAND...");
    };
    let exchange: fn(&mut Client) -> io::Result<()> = match kind.as_str() {
        "echo" => echo,
        "http" => get,
        other => panic!("unknown kind {other:?}: echo or http"),
    };
    let count: usize = count.parse().expect("COUNT is a number of connections");
    let settle = Duration::from_secs_f64(settle.parse().expect("SETTLE is a number of seconds"));
    assert!(!command.is_empty(), "no server command");
    let port = free_port();
    let server = Server::start(command, port);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));

    let mut warm_up = Client::connect(addr);
    exchange(&mut warm_up).expect("the warm-up exchange");
    drop(warm_up);
    std::thread::sleep(Duration::from_millis(300));
    let before = server.resident_bytes();
    let started = Instant::now();
    let mut clients: Vec<Client> = (0..count)
        .map(|n| {
            let mut client = Client::connect(addr);
            exchange(&mut client).unwrap_or_else(|e| panic!("connection {n}: {e}"));
            client
        })
        .collect();
    let connected = started.elapsed();
    let after_exchange = server.resident_bytes();
    std::thread::sleep(settle);
    let after = server.resident_bytes();
    let answered = clients
        .iter_mut()
        .map(exchange)
        .filter(io::Result::is_ok)
        .count();
    let per_connection = |rss: u64| rss.saturating_sub(before) as f64 / count as f64;
    json!({
        "kind": kind,
        "server": server.name,
        "connections": count,
        "rss_before": before,
        "rss_after": after,
        "bytes_per_connection_at_once": per_connection(after_exchange),
        "bytes_per_connection": per_connection(after),
        "settle_seconds": settle.as_secs_f64(),
        "answered_after_idle": answered,
        "connect_seconds": connected.as_secs_f64(),
    })
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("its address").port()
}

/// The server under measurement, killed when dropped.
struct Server {
    name: String,
    child: Child,
    _nginx: Option<Nginx>,
}

impl Server {
    fn start(command: &[String], port: u16) -> Server {
        let (nginx, command) = if command == ["nginx"] {
            let nginx = Nginx::configure(port);
            let command = nginx.command();
            (Some(nginx), command)
        } else {
            let command = command
                .iter()
                .map(|arg| arg.replace("PORT", &port.to_string()))
                .collect();
            (None, command)
        };
        let program = std::path::Path::new(&command[0]);
        let name = program
            .file_name()
            .map_or(command[0].clone(), |n| n.to_string_lossy().into_owned());
        let child = Command::new(program)
            .args(&command[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {command:?}: {e}"));
        let server = Server {
            name,
            child,
            _nginx: nginx,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "{command:?} does not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    fn resident_bytes(&self) -> u64 {
        let statm = std::fs::read_to_string(format!("/proc/{}/statm", self.child.id()))
            .expect("the server's /proc/PID/statm");
        let pages: u64 = statm
            .split_whitespace()
            .nth(1)
            .and_then(|field| field.parse().ok())
            .expect("resident pages");
        // SAFETY: sysconf has no preconditions.
        pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One client connection, with its read buffer.
struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        stream.set_nodelay(true).expect("nodelay");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("read timeout");
        Client {
            reader: BufReader::with_capacity(1024, stream),
        }
    }
}

/// 64 bytes out, the same 64 back.
fn echo(client: &mut Client) -> io::Result<()> {
    client.reader.get_mut().write_all(&MESSAGE)?;
    let mut back = [0; MESSAGE.len()];
    client.reader.read_exact(&mut back)?;
    if back != MESSAGE {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "a wrong echo"));
    }
    Ok(())
}

/// One keep-alive `GET /plaintext`, its whole response read (Content-Length).
fn get(client: &mut Client) -> io::Result<()> {
    client.reader.get_mut().write_all(REQUEST)?;
    let mut line = String::new();
    client.reader.read_line(&mut line)?;
    if !line.starts_with("HTTP/1.1 200") {
        return Err(io::Error::new(io::ErrorKind::InvalidData, line));
    }
    let mut length = None;
    loop {
        line.clear();
        client.reader.read_line(&mut line)?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse::<usize>().ok();
        }
    }
    let length = length.ok_or_else(|| io::Error::other("no Content-Length"))?;
    let mut body = vec![0; length];
    client.reader.read_exact(&mut body)
}
