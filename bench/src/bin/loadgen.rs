//! Echo load generator: N connections, request/response ping-pong of B-byte
//! messages for S seconds, every echoed byte checked.
//!
//! `loadgen ADDR CONNECTIONS BYTES SECONDS [SERVER_PID]`
//!
//! One thread and one `mio` poll; every buffer is allocated before the
//! measurement, so a round trip costs the load generator no allocation. It
//! connects everything, warms up for a second, then measures for SECONDS and
//! prints one JSON line: round trips/s, p50/p99 latency and, given the
//! server's pid, the server's CPU time (user + system) per round trip.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use eventlet_bench::latency::Histogram;
use eventlet_bench::proc_stats;
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

const WARM_UP: Duration = Duration::from_secs(1);
const CONNECT_PATIENCE: Duration = Duration::from_secs(10);

/// One connection and its message in flight.
struct Connection {
    stream: TcpStream,
    /// The message sent; its first 8 bytes are the round's sequence number.
    sent: Vec<u8>,
    received: Vec<u8>,
    written: usize,
    read: usize,
    sequence: u64,
    started: Instant,
}

impl Connection {
    fn new(stream: TcpStream, id: usize, bytes: usize) -> Connection {
        let sent = (0..bytes).map(|i| (i + id) as u8).collect();
        Connection {
            stream,
            sent,
            received: vec![0; bytes],
            written: 0,
            read: 0,
            sequence: 0,
            started: Instant::now(),
        }
    }

    /// Starts the next round: a fresh sequence number, then write.
    fn start_round(&mut self) -> io::Result<()> {
        self.sequence += 1;
        let tag = self.sequence.to_le_bytes();
        let n = tag.len().min(self.sent.len());
        self.sent[..n].copy_from_slice(&tag[..n]);
        self.written = 0;
        self.read = 0;
        self.started = Instant::now();
        self.write_some()
    }

    fn write_some(&mut self) -> io::Result<()> {
        while self.written < self.sent.len() {
            match self.stream.write(&self.sent[self.written..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Reads what has arrived; true when the whole echo is in and checked.
    fn read_some(&mut self) -> io::Result<bool> {
        while self.read < self.received.len() {
            match self.stream.read(&mut self.received[self.read..]) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => self.read += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if self.received != self.sent {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the echo differs from the message sent",
            ));
        }
        Ok(true)
    }
}

/// Connects with retries while the server starts.
fn connect(addr: SocketAddr) -> io::Result<std::net::TcpStream> {
    let deadline = Instant::now() + CONNECT_PATIENCE;
    loop {
        match std::net::TcpStream::connect(addr) {
            Ok(stream) => return Ok(stream),
            Err(_) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(e),
        }
    }
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 4 {
        eprintln!("usage: loadgen ADDR CONNECTIONS BYTES SECONDS [SERVER_PID]");
        std::process::exit(2);
    }
    let addr: SocketAddr = args[0].parse().expect("ADDR like 127.0.0.1:9000");
    let count: usize = args[1].parse().expect("CONNECTIONS");
    let bytes: usize = args[2].parse().expect("BYTES");
    let seconds: f64 = args[3].parse().expect("SECONDS");
    let server_pid: Option<u32> = args.get(4).map(|pid| pid.parse().expect("SERVER_PID"));

    let mut poll = Poll::new()?;
    let mut connections = Vec::with_capacity(count);
    for id in 0..count {
        let stream = connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_nonblocking(true)?;
        let mut stream = TcpStream::from_std(stream);
        poll.registry().register(
            &mut stream,
            Token(id),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        connections.push(Connection::new(stream, id, bytes));
    }
    for connection in &mut connections {
        connection.start_round()?;
    }

    let mut events = Events::with_capacity(count.max(64));
    let mut latencies = Histogram::default();
    let mut round_trips: u64 = 0;
    let warm_until = Instant::now() + WARM_UP;
    let mut measuring: Option<(Instant, f64)> = None;
    let run_for = Duration::from_secs_f64(seconds);
    loop {
        let now = Instant::now();
        match measuring {
            None if now >= warm_until => {
                latencies.clear();
                round_trips = 0;
                let cpu = server_pid.map_or(Ok(0.0), proc_stats::cpu_seconds)?;
                measuring = Some((now, cpu));
            }
            Some((start, _)) if now.duration_since(start) >= run_for => break,
            _ => {}
        }
        poll.poll(&mut events, Some(Duration::from_millis(10)))?;
        for event in events.iter() {
            let connection = &mut connections[event.token().0];
            if event.is_writable() {
                connection.write_some()?;
            }
            if event.is_readable() && connection.read_some()? {
                latencies.record(connection.started.elapsed());
                round_trips += 1;
                connection.start_round()?;
            }
        }
    }
    let (start, cpu_before) = measuring.expect("measured");
    let elapsed = start.elapsed().as_secs_f64();
    let server_cpu = server_pid
        .map(proc_stats::cpu_seconds)
        .transpose()?
        .map(|cpu| cpu - cpu_before);
    println!(
        "{}",
        serde_json::json!({
            "connections": count,
            "bytes": bytes,
            "seconds": elapsed,
            "round_trips": round_trips,
            "round_trips_per_sec": round_trips as f64 / elapsed,
            "p50_us": latencies.quantile_micros(0.50),
            "p99_us": latencies.quantile_micros(0.99),
            "server_cpu_seconds": server_cpu,
            "server_cpu_us_per_round_trip":
                server_cpu.map(|cpu| cpu * 1e6 / round_trips.max(1) as f64),
        })
    );
    Ok(())
}
