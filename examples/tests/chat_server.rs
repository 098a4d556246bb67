//! The chat server program, run as a child process on a loopback port.

mod common;

use std::io::{self, BufRead, BufReader, Write};
use std::time::Duration;

use common::Program;
use eventlet_rt::green::net::TcpStream;

fn join(port: u16, server: &Program) -> (TcpStream, BufReader<TcpStream>) {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    server.wait_for("Participant joined chat.");
    let reader = BufReader::new(stream.try_clone().unwrap());
    (stream, reader)
}

fn next_line(reader: &mut BufReader<TcpStream>) -> io::Result<String> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    Ok(line)
}

#[test]
fn chat_server_sends_every_line_to_all_other_participants() {
    let server = Program::start(
        env!("CARGO_BIN_EXE_chat_server"),
        &["--port", "0", "--host", "127.0.0.1"],
    );
    let port = server.announced_port();
    let (mut ada, mut ada_hears) = join(port, &server);
    let (mut bob, mut bob_hears) = join(port, &server);
    let (carol, mut carol_hears) = join(port, &server);

    writeln!(ada, "hello from ada").unwrap();
    assert_eq!(next_line(&mut bob_hears).unwrap(), "hello from ada\n");
    assert_eq!(next_line(&mut carol_hears).unwrap(), "hello from ada\n");
    writeln!(bob, "hi ada").unwrap();
    assert_eq!(next_line(&mut ada_hears).unwrap(), "hi ada\n");
    assert_eq!(next_line(&mut carol_hears).unwrap(), "hi ada\n");

    // Carol leaves; the others carry on.
    drop((carol, carol_hears));
    server.wait_for("Participant left chat.");
    writeln!(ada, "still there?").unwrap();
    assert_eq!(next_line(&mut bob_hears).unwrap(), "still there?\n");

    // Nobody hears their own lines.
    ada.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let own = next_line(&mut ada_hears).unwrap_err();
    assert_eq!(own.kind(), io::ErrorKind::TimedOut);
}
