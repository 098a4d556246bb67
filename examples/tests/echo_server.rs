//! The echo server program, run as a child process on a loopback port.

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::Program;
use eventlet_rt::green::net::TcpStream;

#[test]
fn echo_server_echoes_hundreds_of_concurrent_clients() {
    let server = Program::start(
        env!("CARGO_BIN_EXE_echo_server"),
        &["--port", "0", "--host", "127.0.0.1"],
    );
    let port = server.announced_port();
    let clients: Vec<_> = (0..200)
        .map(|id| {
            eventlet_rt::spawn(move || {
                let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
                for round in 0..5 {
                    let message = format!("client {id} round {round}\n");
                    stream.write_all(message.as_bytes()).unwrap();
                    let mut reply = vec![0; message.len()];
                    stream.read_exact(&mut reply).unwrap();
                    assert_eq!(reply, message.as_bytes());
                }
                id
            })
        })
        .collect();
    for (id, client) in clients.into_iter().enumerate() {
        assert_eq!(client.wait().unwrap(), id);
    }
}

#[test]
fn echo_servers_idle_clients_do_not_hold_a_16_kib_buffer_each() {
    let server = Program::start(
        env!("CARGO_BIN_EXE_echo_server"),
        &["--port", "0", "--host", "127.0.0.1"],
    );
    let port = server.announced_port();
    // 16 KiB that no compressor shrinks, different for every client, so that
    // a buffer kept on the stack is full of it.
    let echo = |stream: &mut std::net::TcpStream, seed: u64| {
        let mut x = 0x2545_F491_4F6C_DD1Du64 ^ seed;
        let message: Vec<u8> = (0..16 * 1024)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        stream.write_all(&message).unwrap();
        let mut reply = vec![0; message.len()];
        stream.read_exact(&mut reply).unwrap();
        assert_eq!(reply, message);
    };
    echo(
        &mut std::net::TcpStream::connect(("127.0.0.1", port)).unwrap(),
        0,
    );
    let before = server.resident_bytes();
    let mut clients: Vec<_> = (1..=400)
        .map(|seed| {
            let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            echo(&mut stream, seed);
            stream
        })
        .collect();
    // Each client's green thread went through a 16 KiB buffer. Parked a
    // second, a green thread gives back the stack pages below its frames,
    // and the buffer was not in the frames it waits in; a buffer in them
    // would stay resident until the stack is stowed, ten seconds in.
    let per_client = || (server.resident_bytes().saturating_sub(before)) / 400;
    let deadline = Instant::now() + Duration::from_secs(8);
    while per_client() > 12 * 1024 {
        assert!(
            Instant::now() < deadline,
            "{} bytes per idle client",
            per_client()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for (seed, client) in (1..).zip(&mut clients) {
        echo(client, seed);
    }
}

#[test]
fn echo_server_listens_on_port_6000_by_default() {
    let Ok(free) = std::net::TcpListener::bind("127.0.0.1:6000") else {
        return; // something else holds port 6000 on this machine
    };
    drop(free);
    let server = Program::start(env!("CARGO_BIN_EXE_echo_server"), &["--host", "127.0.0.1"]);
    assert_eq!(server.announced_port(), 6000);
    let mut stream = TcpStream::connect("127.0.0.1:6000").unwrap();
    stream.write_all(b"ping").unwrap();
    let mut reply = [0; 4];
    stream.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"ping");
}

#[test]
fn echo_server_limited_to_64_descriptors_serves_150_clients() {
    // 150 clients at once need more descriptors than the server has: it must
    // wait for some to leave, not exit with "Too many open files".
    let exe = env!("CARGO_BIN_EXE_echo_server");
    let server = Program::start(
        "sh",
        &[
            "-c",
            "ulimit -n 64 && exec \"$0\" \"$@\"",
            exe,
            "--port",
            "0",
            "--host",
            "127.0.0.1",
        ],
    );
    let port = server.announced_port();
    let clients: Vec<_> = (0..150)
        .map(|id| {
            eventlet_rt::spawn(move || -> std::io::Result<usize> {
                let mut stream = TcpStream::connect(("127.0.0.1", port))?;
                stream.set_read_timeout(Some(std::time::Duration::from_secs(60)))?;
                for round in 0..5 {
                    let message = format!("client {id} round {round}\n");
                    stream.write_all(message.as_bytes())?;
                    let mut reply = vec![0; message.len()];
                    stream.read_exact(&mut reply)?;
                    assert_eq!(reply, message.as_bytes());
                }
                Ok(id)
            })
        })
        .collect();
    for (id, client) in clients.into_iter().enumerate() {
        match client.wait().unwrap() {
            Ok(served) => assert_eq!(served, id),
            Err(error) => panic!("client {id} failed: {error}"),
        }
    }
    // And it still serves.
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.write_all(b"still here").unwrap();
    let mut reply = [0; 10];
    stream.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"still here");
}
