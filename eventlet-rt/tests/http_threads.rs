//! One green ureq agent shared by OS threads: each thread reuses only the
//! connections it opened, and a connection dropped on another thread is
//! closed by its own hub.

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use eventlet_rt::green::net::{SocketAddr, TcpStream};
use eventlet_rt::hub;

/// Answers every request of a kept-alive connection with "hello".
fn keep_alive(mut conn: TcpStream) {
    let mut request = Vec::new();
    let mut buf = [0; 1024];
    loop {
        while let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            request.drain(..end + 4);
            let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
            if conn.write_all(reply).is_err() {
                return;
            }
        }
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
}

/// A keep-alive server on its own OS thread (and hub); counts connections.
fn server() -> (SocketAddr, Arc<AtomicUsize>) {
    let (sender, receiver) = std::sync::mpsc::channel();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    std::thread::spawn(move || {
        let listener = eventlet_rt::listen("127.0.0.1:0").unwrap();
        sender.send(listener.local_addr().unwrap()).unwrap();
        let _ = eventlet_rt::serve(listener, move |conn, _| {
            counter.fetch_add(1, Ordering::SeqCst);
            keep_alive(conn);
        });
    });
    (receiver.recv().unwrap(), connections)
}

fn get(agent: &eventlet_rt::http::ureq::Agent, url: &str) -> String {
    agent
        .get(url)
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap()
}

#[test]
fn each_thread_reuses_only_its_own_connections() {
    let (addr, connections) = server();
    let url = format!("http://{addr}/");
    let agent = eventlet_rt::http::agent();
    let sources = hub::stats().io_sources;

    assert_eq!(get(&agent, &url), "hello");
    assert_eq!(get(&agent, &url), "hello");
    assert_eq!(connections.load(Ordering::SeqCst), 1, "kept alive, reused");
    assert_eq!(hub::stats().io_sources, sources + 1, "pooled here");

    // Another OS thread with the same agent: the pooled connection is not
    // open there, so it is dropped (handed back to this hub) and a new one made.
    let (other, other_url) = (agent.clone(), url.clone());
    let body = std::thread::spawn(move || {
        let body = get(&other, &other_url);
        assert_eq!(
            hub::stats().io_sources,
            1,
            "the other thread's own connection"
        );
        body
    })
    .join()
    .unwrap();
    assert_eq!(body, "hello");
    assert_eq!(connections.load(Ordering::SeqCst), 2);

    // This hub closes the connection the other thread dropped when it next polls.
    eventlet_rt::sleep(Duration::from_millis(1));
    assert_eq!(hub::stats().io_sources, sources);
    assert_eq!(get(&agent, &url), "hello");
    assert_eq!(connections.load(Ordering::SeqCst), 3);
}

#[test]
fn agent_shutdown_from_another_thread_ends_a_green_request() {
    // A server that accepts and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let agent = eventlet_rt::http::agent();
    let stopper = agent.clone();
    let ticker = eventlet_rt::spawn(|| {
        let mut ticks = 0;
        for _ in 0..5 {
            eventlet_rt::sleep(Duration::from_millis(10));
            ticks += 1;
        }
        ticks
    });
    let stop = std::thread::spawn(move || {
        let _accepted = listener.accept().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        stopper.shutdown();
        std::thread::sleep(Duration::from_millis(100));
    });
    let error = agent.get(&url).call().unwrap_err();
    assert!(
        matches!(error, eventlet_rt::http::ureq::Error::Io(_)),
        "{error}"
    );
    assert_eq!(
        ticker.wait().unwrap(),
        5,
        "only the requesting green thread waited"
    );
    stop.join().unwrap();
}
