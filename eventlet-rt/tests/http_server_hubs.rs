//! `Server::serve_on`: one HTTP server over every hub of a `Hubs`.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eventlet_rt::green::tls::{TlsAcceptor, TlsConnector, rustls::RootCertStore};
use eventlet_rt::http::{Body, Response, Server};
use eventlet_rt::hubs::Hubs;

fn get(port: u16) -> std::io::Result<String> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    Ok(reply)
}

#[test]
fn requests_over_two_hubs_are_all_answered_by_both_and_shutdown_stops_them() {
    let seen = Arc::new(Mutex::new(HashSet::new()));
    let recorder = seen.clone();
    let server = Server::new(move |_| {
        let hub = std::thread::current().name().unwrap_or("?").to_owned();
        recorder.lock().unwrap().insert(hub.clone());
        Response::new(Body::from(hub))
    });
    let stop = server.shutdown_handle();
    let (port, _hubs, serving) = serve_on_two_hubs(server, None);
    let first = get(port).unwrap();
    assert!(first.starts_with("HTTP/1.1 200 OK\r\n"), "{first}");
    let mut answered = 1;
    while answered < 200 && seen.lock().unwrap().len() < 2 {
        let reply = get(port).unwrap();
        assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
        assert!(reply.contains("eventlet-hub-"), "{reply}");
        answered += 1;
    }
    let seen_hubs = seen.lock().unwrap().clone();
    assert!(
        seen_hubs.contains("eventlet-hub-0"),
        "{seen_hubs:?} after {answered}"
    );
    assert!(
        seen_hubs.contains("eventlet-hub-1"),
        "{seen_hubs:?} after {answered}"
    );

    stop.shutdown();
    serving.join().unwrap().unwrap();
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

/// Starts `server` on two hubs on a free port; gives the port, the hubs and
/// the thread that serves.
fn serve_on_two_hubs<H>(
    server: Server<H>,
    tls: Option<TlsAcceptor>,
) -> (u16, Arc<Hubs>, std::thread::JoinHandle<std::io::Result<()>>)
where
    H: Fn(eventlet_rt::http::Request) -> Response + Send + Sync + 'static,
{
    let hubs = Arc::new(Hubs::new(2).unwrap());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let serving_hubs = hubs.clone();
    let serving = std::thread::spawn(move || match tls {
        Some(acceptor) => server.serve_tls_on(&serving_hubs, ("127.0.0.1", port), acceptor),
        None => server.serve_on(&serving_hubs, ("127.0.0.1", port)),
    });
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(5));
    }
    (port, hubs, serving)
}

fn answer_with_hub_name(_: eventlet_rt::http::Request) -> Response {
    let hub = std::thread::current().name().unwrap_or("?").to_owned();
    Response::new(Body::from(hub))
}

#[test]
fn serve_tls_on_answers_over_tls_on_both_hubs() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let key = cert.signing_key.serialize_der().try_into().unwrap();
    let acceptor = TlsAcceptor::with_single_cert(vec![cert.cert.der().clone()], key).unwrap();
    let server = Server::new(answer_with_hub_name);
    let stop = server.shutdown_handle();
    let (port, _hubs, serving) = serve_on_two_hubs(server, Some(acceptor));
    let mut roots = RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let connector = TlsConnector::with_root_certificates(roots);

    let mut seen = HashSet::new();
    let mut asked = 0;
    while seen.len() < 2 {
        assert!(
            asked < 200,
            "only {seen:?} answered after {asked} connections"
        );
        asked += 1;
        let tcp = eventlet_rt::connect(("127.0.0.1", port)).unwrap();
        let mut tls = connector.connect("localhost", tcp).unwrap();
        tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut reply = String::new();
        tls.read_to_string(&mut reply).unwrap();
        assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
        let hub = reply.rsplit("\r\n\r\n").next().unwrap().to_owned();
        assert!(hub.starts_with("eventlet-hub-"), "{reply}");
        seen.insert(hub);
    }
    // Plain HTTP on the TLS port is refused by the handshake, not answered.
    let refused = get(port).unwrap_or_default();
    assert!(!refused.contains("200 OK"), "{refused}");

    stop.shutdown();
    serving.join().unwrap().unwrap();
}

/// One request on a connection that stays open; gives the status line's
/// code and the body.
fn ask_and_keep(stream: &mut std::net::TcpStream) -> (u16, String) {
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reply = Vec::new();
    let mut buf = [0; 1024];
    loop {
        let n = stream.read(&mut buf).unwrap();
        reply.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&reply).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().unwrap())
                })
                .unwrap();
            if body.len() >= length || n == 0 {
                let code = head[9..12].parse().unwrap();
                return (code, body.to_owned());
            }
        }
        assert!(n > 0, "closed mid-answer: {text}");
    }
}

#[test]
fn the_connection_limit_holds_on_each_hub_and_sheds_with_503() {
    let server = Server::new(answer_with_hub_name).max_connections(1);
    let stop = server.shutdown_handle();
    let (port, _hubs, serving) = serve_on_two_hubs(server, None);
    // Wait until the probe connection of `serve_on_two_hubs` has been let go.
    std::thread::sleep(Duration::from_millis(100));

    // Fill each hub's one slot with a kept-alive connection.
    let mut held = std::collections::HashMap::new();
    let mut shed = 0;
    let mut opened = 0;
    while held.len() < 2 {
        assert!(opened < 400, "held {:?} after {opened}", held.keys());
        opened += 1;
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        match ask_and_keep(&mut stream) {
            (200, hub) => {
                assert!(!held.contains_key(&hub), "{hub} took a second connection");
                held.insert(hub, stream);
            }
            (503, _) => shed += 1,
            other => panic!("{other:?}"),
        }
    }
    // Both slots taken: every further connection, whichever hub gets it, is shed.
    for _ in 0..20 {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        assert_eq!(ask_and_keep(&mut stream).0, 503);
        shed += 1;
    }
    // The held connections are still served.
    for (hub, stream) in &mut held {
        assert_eq!(ask_and_keep(stream), (200, hub.clone()));
    }
    // Let hub 0's slot go: a new connection is served again (by hub 0, the
    // only one with room), once the server has seen the close.
    drop(held.remove("eventlet-hub-0").unwrap());
    let mut answered = None;
    for _ in 0..400 {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        if let (200, hub) = ask_and_keep(&mut stream) {
            answered = Some(hub);
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(
        answered.as_deref(),
        Some("eventlet-hub-0"),
        "after {shed} shed"
    );

    stop.shutdown();
    serving.join().unwrap().unwrap();
}
