//! Green UDP: round trips, connected sockets, timeouts.

use std::io;
use std::time::Duration;

use eventlet_rt::green::net::UdpSocket;
use eventlet_rt::{hub, spawn};

#[test]
fn a_datagram_round_trip_between_green_threads() {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    let server_addr = server.local_addr().unwrap();
    let echo = spawn(move || {
        let mut buf = [0; 1500];
        for _ in 0..3 {
            let (n, from) = server.recv_from(&mut buf).unwrap();
            buf[..n].reverse();
            server.send_to(&buf[..n], from).unwrap();
        }
    });
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    for word in ["alpha", "beta", "gamma"] {
        client.send_to(word.as_bytes(), server_addr).unwrap();
        let mut buf = [0; 1500];
        let (n, from) = client.recv_from(&mut buf).unwrap();
        assert_eq!(from, server_addr);
        let reversed: String = word.chars().rev().collect();
        assert_eq!(&buf[..n], reversed.as_bytes());
    }
    echo.wait().unwrap();
}

#[test]
fn connected_sockets_send_recv_and_peek() {
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    a.connect(b.local_addr().unwrap()).unwrap();
    b.connect(("localhost", a.local_addr().unwrap().port()))
        .unwrap();
    let reader = b.try_clone().unwrap();
    let receiving = spawn(move || {
        let mut buf = [0; 64];
        let peeked = reader.peek(&mut buf).unwrap();
        let got = reader.recv(&mut buf).unwrap();
        (peeked, buf[..got].to_vec())
    });
    eventlet_rt::yield_now();
    assert_eq!(hub::stats().io_waiters, 1, "the receiver parked");
    a.send(b"connected").unwrap();
    assert_eq!(receiving.wait().unwrap(), (9, b"connected".to_vec()));
}

#[test]
fn recv_times_out_and_leaves_no_waiter() {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(30)))
        .unwrap();
    let error = socket.recv_from(&mut [0; 8]).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    assert_eq!(hub::stats().io_waiters, 0);
    assert_eq!(
        socket
            .set_read_timeout(Some(Duration::ZERO))
            .unwrap_err()
            .kind(),
        io::ErrorKind::InvalidInput
    );
}
