//! Sockets that close, reset, time out or are refused leave no descriptor and
//! no hub registration behind. One test in its own binary: descriptors are
//! counted for the whole process.

use std::io::{self, Read, Write};
use std::time::Duration;

use eventlet_rt::green::net::{TcpListener, TcpStream};
use eventlet_rt::{hub, spawn};

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// One connection that ends the way `round` picks; returns the client's error kind.
fn one_connection(listener: &TcpListener, round: usize) -> Option<io::ErrorKind> {
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (mut server_side, _) = listener.accept().unwrap();
    match round % 4 {
        0 => {
            client.write_all(b"ping").unwrap();
            let mut buf = [0; 4];
            server_side.read_exact(&mut buf).unwrap();
            server_side.write_all(&buf).unwrap();
            client.read_exact(&mut buf).unwrap();
            None
        }
        1 => {
            socket2::SockRef::from(&server_side)
                .set_linger(Some(Duration::ZERO))
                .unwrap();
            drop(server_side);
            client.read(&mut [0; 4]).err().map(|e| e.kind())
        }
        2 => {
            client
                .set_read_timeout(Some(Duration::from_millis(1)))
                .unwrap();
            client.read(&mut [0; 4]).err().map(|e| e.kind())
        }
        _ => {
            drop(server_side);
            assert_eq!(client.read(&mut [0; 4]).unwrap(), 0, "EOF");
            client
                .shutdown(std::net::Shutdown::Both)
                .err()
                .map(|e| e.kind())
        }
    }
}

#[test]
fn a_thousand_connections_leak_no_descriptor_and_no_registration() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // Warm up what stays open for good: the hub's epoll and waker, the pool.
    drop(TcpStream::connect(("localhost", listener.local_addr().unwrap().port())).unwrap());
    drop(listener.accept().unwrap());
    let descriptors = open_descriptors();
    let registrations = hub::stats().io_sources;
    assert_eq!(registrations, 1, "only the listener");

    let mut outcomes = [0; 4];
    for round in 0..1000 {
        match one_connection(&listener, round) {
            None => outcomes[0] += 1,
            Some(io::ErrorKind::ConnectionReset) => outcomes[1] += 1,
            Some(io::ErrorKind::TimedOut) => outcomes[2] += 1,
            Some(other) => panic!("round {round}: unexpected {other:?}"),
        }
        if round % 100 == 0 {
            let refused = TcpStream::connect(("127.0.0.1", closed_port)).unwrap_err();
            assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
        }
    }
    assert_eq!(outcomes, [500, 250, 250, 0]);

    // Connections dropped by killed green threads are released as well.
    let blocked: Vec<_> = (0..50)
        .map(|_| {
            let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            spawn(move || (&client).read(&mut [0; 4]))
        })
        .collect();
    let accepted: Vec<_> = (0..50).map(|_| listener.accept().unwrap()).collect();
    eventlet_rt::yield_now();
    assert_eq!(hub::stats().io_waiters, 50);
    for reader in &blocked {
        reader.kill();
    }
    for reader in blocked {
        assert!(reader.wait().unwrap_err().is_killed());
    }
    drop(accepted);

    assert_eq!(hub::stats().io_sources, registrations);
    assert_eq!(hub::stats().io_waiters, 0);
    assert_eq!(open_descriptors(), descriptors);
}
