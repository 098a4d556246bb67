//! `--threads N`: the echo and chat servers on several hubs.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::time::Duration;

use common::Program;

/// Connects, retrying while the hubs are still binding their listeners (the
/// port is announced just before).
fn connect(port: u16) -> std::net::TcpStream {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let stream = loop {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(stream) => break stream,
            Err(e) if std::time::Instant::now() >= deadline => panic!("cannot connect: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

#[test]
fn echo_server_on_two_hubs_echoes_every_client() {
    let server = Program::start(
        env!("CARGO_BIN_EXE_echo_server"),
        &["--port", "0", "--host", "127.0.0.1", "--threads", "2"],
    );
    let port = server.announced_port();
    let clients: Vec<_> = (0..100)
        .map(|i| {
            std::thread::spawn(move || {
                let mut client = connect(port);
                let message = format!("message {i}").repeat(50);
                client.write_all(message.as_bytes()).unwrap();
                let mut back = vec![0; message.len()];
                client.read_exact(&mut back).unwrap();
                assert_eq!(back, message.as_bytes());
            })
        })
        .collect();
    clients.into_iter().for_each(|c| c.join().unwrap());
}

#[test]
fn chat_server_on_two_hubs_sends_a_line_to_the_participants_of_every_hub() {
    let server = Program::start(
        env!("CARGO_BIN_EXE_chat_server"),
        &["--port", "0", "--host", "127.0.0.1", "--threads", "2"],
    );
    let port = server.announced_port();
    // Sixteen participants: the kernel puts some on each hub (all on one is
    // a one in 2^15 chance).
    let participants: Vec<_> = (0..16)
        .map(|_| {
            let stream = connect(port);
            server.wait_for("Participant joined chat.");
            let reader = BufReader::new(stream.try_clone().unwrap());
            (stream, reader)
        })
        .collect();
    let (mut speakers, mut listeners): (Vec<_>, Vec<_>) = participants.into_iter().unzip();
    writeln!(speakers[0], "hello, everyone").unwrap();
    for listener in &mut listeners[1..] {
        let mut line = String::new();
        listener.read_line(&mut line).unwrap();
        assert_eq!(line, "hello, everyone\n");
    }
    writeln!(speakers[15], "and back").unwrap();
    for listener in &mut listeners[..15] {
        let mut line = String::new();
        listener.read_line(&mut line).unwrap();
        assert_eq!(line, "and back\n");
    }
}
