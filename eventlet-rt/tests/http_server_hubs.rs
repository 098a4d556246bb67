//! `Server::serve_on`: one HTTP server over every hub of a `Hubs`.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    let hubs = Arc::new(Hubs::new(2).unwrap());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let seen = Arc::new(Mutex::new(HashSet::new()));
    let recorder = seen.clone();
    let server = Server::new(move |_| {
        let hub = std::thread::current().name().unwrap_or("?").to_owned();
        recorder.lock().unwrap().insert(hub.clone());
        Response::new(Body::from(hub))
    });
    let stop = server.shutdown_handle();
    let serving_hubs = hubs.clone();
    let serving = std::thread::spawn(move || server.serve_on(&serving_hubs, ("127.0.0.1", port)));
    let first = loop {
        match get(port) {
            Ok(reply) => break reply,
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    };
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
