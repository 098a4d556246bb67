//! Failed and stalled TLS handshakes: each gives an error that says what
//! failed, and the other connections of the hub keep going meanwhile.

mod common;

use std::cell::Cell;
use std::io::{self, Read, Write};
use std::rc::Rc;
use std::time::Duration;

use common::{Identity, echo_server};
use eventlet_rt::green::net::{SocketAddr, TcpListener};
use eventlet_rt::green::tls::{HandshakeError, HandshakeFailure, TlsAcceptor, TlsConnector};
use eventlet_rt::{GreenThread, Queue, TimedOut, hub, spawn, with_timeout};
use rcgen::{CertificateParams, date_time_ymd};

fn failure(error: &io::Error) -> Option<HandshakeFailure> {
    error
        .get_ref()
        .and_then(|e| e.downcast_ref::<HandshakeError>())
        .map(HandshakeError::failure)
}

/// A TLS server that reports each handshake's outcome on a queue.
fn reporting_server(
    acceptor: TlsAcceptor,
) -> (
    SocketAddr,
    Queue<Option<HandshakeFailure>>,
    GreenThread<io::Result<()>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let outcomes = Queue::new();
    let report = outcomes.clone();
    let server = spawn(move || {
        eventlet_rt::serve(listener, move |tcp, _| {
            report.put(acceptor.accept(tcp).err().map(|e| failure(&e).unwrap()));
        })
    });
    (addr, outcomes, server)
}

/// A client that echoes round after round over TLS until `stop` is set,
/// counting the rounds it completed (each one checked) in `rounds`.
fn busy_client(stop: Rc<Cell<bool>>, rounds: Rc<Cell<usize>>) -> GreenThread<()> {
    let identity = Identity::localhost();
    let (addr, server) = echo_server(identity.acceptor.clone());
    let connector = identity.connector();
    spawn(move || {
        let mut tls = connector
            .connect("localhost", eventlet_rt::connect(addr).unwrap())
            .unwrap();
        while !stop.get() {
            let sent = format!("round {}", rounds.get());
            tls.write_all(sent.as_bytes()).unwrap();
            let mut back = vec![0; sent.len()];
            tls.read_exact(&mut back).unwrap();
            assert_eq!(back, sent.as_bytes());
            rounds.set(rounds.get() + 1);
        }
        server.kill();
    })
}

/// Runs `check` while a busy TLS client works on the same hub; asserts
/// the client's connection went on working through the check.
fn while_others_work(check: impl FnOnce()) {
    let (stop, rounds) = (Rc::new(Cell::new(false)), Rc::new(Cell::new(0)));
    let busy = busy_client(stop.clone(), rounds.clone());
    while rounds.get() == 0 {
        eventlet_rt::yield_now();
    }
    let before = rounds.get();
    check();
    while rounds.get() <= before {
        assert!(!busy.is_finished(), "the other connection broke");
        eventlet_rt::yield_now();
    }
    stop.set(true);
    busy.wait().unwrap();
}

#[test]
fn a_certificate_for_another_name_is_a_name_mismatch_on_both_sides() {
    let identity = Identity::localhost();
    let (addr, outcomes, server) = reporting_server(identity.acceptor.clone());
    while_others_work(|| {
        let tcp = eventlet_rt::connect(addr).unwrap();
        let error = identity
            .connector()
            .connect("example.org", tcp)
            .unwrap_err();
        assert_eq!(
            failure(&error),
            Some(HandshakeFailure::NameMismatch),
            "{error}"
        );
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert!(error.to_string().contains("name mismatch"), "{error}");
        assert_eq!(outcomes.get(), Some(HandshakeFailure::PeerRejected));
    });
    server.kill();
}

#[test]
fn a_certificate_nobody_vouches_for_is_an_unknown_issuer() {
    let identity = Identity::localhost();
    let (addr, outcomes, server) = reporting_server(identity.acceptor.clone());
    while_others_work(|| {
        let tcp = eventlet_rt::connect(addr).unwrap();
        let error = TlsConnector::new().connect("localhost", tcp).unwrap_err();
        assert_eq!(
            failure(&error),
            Some(HandshakeFailure::UnknownIssuer),
            "{error}"
        );
        assert!(error.to_string().contains("unknown issuer"), "{error}");
        assert_eq!(outcomes.get(), Some(HandshakeFailure::PeerRejected));
    });
    server.kill();
}

#[test]
fn an_expired_certificate_is_reported_as_expired() {
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.not_before = date_time_ymd(2000, 1, 1);
    params.not_after = date_time_ymd(2001, 1, 1);
    let identity = Identity::with_params(params);
    let (addr, _outcomes, server) = reporting_server(identity.acceptor.clone());
    let tcp = eventlet_rt::connect(addr).unwrap();
    let error = identity.connector().connect("localhost", tcp).unwrap_err();
    assert_eq!(failure(&error), Some(HandshakeFailure::Expired), "{error}");
    assert!(error.to_string().contains("expired"), "{error}");
    server.kill();
}

#[test]
fn a_server_that_hangs_up_mid_handshake_is_peer_closed() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = spawn(move || {
        let (mut tcp, _) = listener.accept().unwrap();
        let mut hello = [0; 5];
        tcp.read_exact(&mut hello).unwrap(); // a record header: the ClientHello is coming
        assert_eq!(hello[0], 22, "a handshake record");
    });
    while_others_work(|| {
        let tcp = eventlet_rt::connect(addr).unwrap();
        let error = TlsConnector::new().connect("localhost", tcp).unwrap_err();
        assert_eq!(
            failure(&error),
            Some(HandshakeFailure::PeerClosed),
            "{error}"
        );
        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
    });
    server.wait().unwrap();
}

#[test]
fn a_client_that_hangs_up_mid_handshake_is_peer_closed() {
    let identity = Identity::localhost();
    let (addr, outcomes, server) = reporting_server(identity.acceptor.clone());
    while_others_work(|| {
        let mut tcp = eventlet_rt::connect(addr).unwrap();
        // The start of a ClientHello record, then nothing more.
        tcp.write_all(&[22, 3, 1, 0, 200, 1, 0, 0]).unwrap();
        drop(tcp);
        assert_eq!(outcomes.get(), Some(HandshakeFailure::PeerClosed));
    });
    server.kill();
}

#[test]
fn with_timeout_around_a_stalled_handshake_unwinds_cleanly() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // Accepts, then never says a word.
    let server = spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        eventlet_rt::sleep(Duration::from_secs(60));
        drop(tcp);
    });
    // A green thread that only sleeps, so the hub's I/O counters are ours.
    let ticker = spawn(|| {
        (0..10).for_each(|_| eventlet_rt::sleep(Duration::from_millis(10)));
        10
    });
    let sources = hub::stats().io_sources;
    let outcome = with_timeout(Duration::from_millis(50), || {
        let tcp = eventlet_rt::connect(addr).unwrap();
        TlsConnector::new().connect("localhost", tcp)
    });
    assert_eq!(outcome.unwrap_err(), TimedOut);
    let after = hub::stats();
    assert_eq!(after.io_waiters, 0, "no wait left behind");
    // The client socket was closed by the unwind; the server's accepted one is still open.
    assert_eq!(after.io_sources, sources + 1);
    assert_eq!(ticker.wait().unwrap(), 10, "the ticker kept going");
    server.kill();
}
