//! Green TCP: many connections on one hub, big transfers, timeouts, errors.

use std::cell::Cell;
use std::io::{self, Read, Write};
use std::rc::Rc;
use std::time::{Duration, Instant};

use eventlet_rt::green::net::{Shutdown, TcpListener, TcpStream};
use eventlet_rt::{hub, spawn, spawn_n};

/// Accepts forever, echoing every connection back until its EOF.
fn echo_server() -> io::Result<std::net::SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    spawn_n(move || {
        for conn in listener.incoming() {
            let mut conn = conn.unwrap();
            spawn_n(move || {
                let mut buf = [0; 4096];
                loop {
                    match conn.read(&mut buf).unwrap() {
                        0 => return,
                        n => conn.write_all(&buf[..n]).unwrap(),
                    }
                }
            });
        }
    });
    Ok(addr)
}

#[test]
fn hundreds_of_concurrent_echo_clients_get_their_own_bytes_back() {
    const CLIENTS: usize = 300;
    const ROUNDS: usize = 10;
    let addr = echo_server().unwrap();
    let most_waiting = Rc::new(Cell::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|id| {
            let most_waiting = most_waiting.clone();
            spawn(move || -> io::Result<usize> {
                let mut conn = TcpStream::connect(addr)?;
                let mut checked = 0;
                for round in 0..ROUNDS {
                    let message = format!("client {id} round {round} {}", "x".repeat(id % 97));
                    conn.write_all(message.as_bytes())?;
                    most_waiting.set(most_waiting.get().max(hub::stats().io_waiters));
                    let mut reply = vec![0; message.len()];
                    conn.read_exact(&mut reply)?;
                    assert_eq!(reply, message.as_bytes());
                    checked += reply.len();
                }
                Ok(checked)
            })
        })
        .collect();
    let mut total = 0;
    for client in clients {
        total += client.wait().unwrap().unwrap();
    }
    assert!(total > CLIENTS * ROUNDS * 20);
    // The clients really were in flight together, each parked on its socket.
    assert!(most_waiting.get() >= CLIENTS / 2, "{}", most_waiting.get());
}

fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Writes `data` on a clone of `conn` while reading as much from it.
fn exchange(conn: TcpStream, data: Vec<u8>) -> io::Result<Vec<u8>> {
    let mut writer = conn.try_clone()?;
    let expected = data.len();
    let writing = spawn(move || writer.write_all(&data));
    let mut received = Vec::with_capacity(expected);
    (&conn).take(expected as u64).read_to_end(&mut received)?;
    writing.wait().unwrap()?;
    Ok(received)
}

#[test]
fn eight_megabytes_cross_in_both_directions_at_once_on_one_connection() {
    const SIZE: usize = 8 << 20;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        exchange(conn, pattern(1, SIZE)).unwrap()
    });
    let client = TcpStream::connect(addr).unwrap();
    let from_server = exchange(client, pattern(2, SIZE)).unwrap();
    let from_client = server.wait().unwrap();
    assert!(
        from_server == pattern(1, SIZE),
        "server's bytes arrived intact"
    );
    assert!(
        from_client == pattern(2, SIZE),
        "client's bytes arrived intact"
    );
}

#[test]
fn read_timeout_fires_while_other_green_threads_keep_running() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut silent = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let ticks = Rc::new(Cell::new(0));
    let t = ticks.clone();
    let ticker = spawn(move || {
        for _ in 0..10 {
            eventlet_rt::sleep(Duration::from_millis(5));
            t.set(t.get() + 1);
        }
    });
    silent
        .set_read_timeout(Some(Duration::from_millis(150)))
        .unwrap();
    let start = Instant::now();
    let error = silent.read(&mut [0; 16]).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    assert!(start.elapsed() >= Duration::from_millis(150));
    // Ticks, not their number: a loaded machine may run the hub late.
    assert!(ticks.get() > 0, "the ticker did not run during the read");
    ticker.wait().unwrap();
    assert_eq!(hub::stats().io_waiters, 0);
}

#[test]
fn write_timeout_fires_when_the_peer_never_reads() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let _peer = listener.accept().unwrap();
    stream
        .set_write_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let chunk = vec![7u8; 1 << 16];
    let error = loop {
        if let Err(error) = stream.write(&chunk) {
            break error;
        }
    };
    assert_eq!(error.kind(), io::ErrorKind::TimedOut);
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let error = TcpStream::connect(("127.0.0.1", port)).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused);
    assert_eq!(
        hub::stats().io_sources,
        0,
        "the failed socket left no registration"
    );
}

#[test]
fn connect_by_host_name_resolves_off_the_hub() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    for stream in [
        TcpStream::connect(("localhost", port)),
        TcpStream::connect(format!("localhost:{port}")),
        eventlet_rt::connect(("localhost", port)),
    ] {
        let stream = stream.unwrap();
        let (accepted, _) = listener.accept().unwrap();
        assert_eq!(accepted.peer_addr().unwrap(), stream.local_addr().unwrap());
    }
    let error = TcpStream::connect("localhost:not-a-port").unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn connect_timeout_gives_up_on_a_peer_that_never_answers() {
    // A listener with a backlog of one that never accepts: once its queue is
    // full the kernel drops further SYNs, so those connects hang.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(
            &"127.0.0.1:0"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .unwrap();
    socket.listen(1).unwrap();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    let mut held = Vec::new();
    let error = loop {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(100)) {
            Ok(stream) if held.len() < 16 => held.push(stream),
            Ok(_) => panic!("the kernel accepted 16 connections into a backlog of 1"),
            Err(error) => break error,
        }
    };
    assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    let zero = TcpStream::connect_timeout(&addr, Duration::ZERO).unwrap_err();
    assert_eq!(zero.kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn a_reset_connection_reads_as_connection_reset() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server_side, _) = listener.accept().unwrap();
    // Linger 0: closing sends RST instead of FIN.
    socket2::SockRef::from(&server_side)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(server_side);
    let error = client.read(&mut [0; 8]).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::ConnectionReset);
}

#[test]
fn writing_to_a_closed_peer_fails_with_broken_pipe_or_reset() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    drop(listener.accept().unwrap());
    let error = loop {
        if let Err(error) = client.write(&[1; 1024]) {
            break error;
        }
        eventlet_rt::sleep(Duration::from_millis(1));
    };
    assert!(
        matches!(
            error.kind(),
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
        ),
        "{error:?}"
    );
}

#[test]
fn early_eof_is_unexpected_eof_for_read_exact() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (mut server_side, _) = listener.accept().unwrap();
    server_side.write_all(b"short").unwrap();
    server_side.shutdown(Shutdown::Write).unwrap();
    let error = client.read_exact(&mut [0; 10]).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
}

#[test]
fn killing_a_reader_leaves_no_waiter_and_the_socket_still_works() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (mut server_side, _) = listener.accept().unwrap();
    let reader = client.try_clone().unwrap();
    let blocked = spawn(move || (&reader).read(&mut [0; 8]));
    eventlet_rt::yield_now();
    assert_eq!(hub::stats().io_waiters, 1);
    blocked.kill();
    assert!(blocked.wait().unwrap_err().is_killed());
    assert_eq!(hub::stats().io_waiters, 0);
    server_side.write_all(b"still here").unwrap();
    let mut got = [0; 10];
    (&client).read_exact(&mut got).unwrap();
    assert_eq!(&got, b"still here");
}

#[test]
fn with_timeout_interrupts_a_blocked_accept() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let outcome = eventlet_rt::with_timeout(Duration::from_millis(20), || listener.accept());
    assert!(outcome.is_err());
    assert_eq!(hub::stats().io_waiters, 0);
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    assert_eq!(listener.accept().unwrap().1, client.local_addr().unwrap());
}
