//! `serve`: one green thread per connection from a pool; panicking handlers
//! close their connection and the server goes on.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::time::Duration;

use eventlet_rt::green::net::{SocketAddr, TcpStream};
use eventlet_rt::{Event, GreenPool, hub, spawn};

/// Echoes lines back; a line "panic" makes the handler panic.
fn handle(stream: TcpStream, _client: SocketAddr) {
    let mut writer = stream.try_clone().unwrap();
    for line in BufReader::new(stream).lines() {
        let line = line.unwrap();
        if line == "panic" {
            panic!("the handler was asked to panic");
        }
        writeln!(writer, "{line}").unwrap();
    }
}

fn ask(client: &TcpStream, line: &str) -> io::Result<String> {
    writeln!(&*client, "{line}")?;
    let mut reply = String::new();
    BufReader::new(client).read_line(&mut reply)?;
    Ok(reply)
}

#[test]
fn serve_survives_a_panicking_handler() {
    let listener = eventlet_rt::listen("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let pool = GreenPool::new(10);
    let handlers = pool.clone();
    let server = spawn(move || eventlet_rt::serve_with_pool(listener, &handlers, handle));

    let steady = eventlet_rt::connect(addr).unwrap();
    assert_eq!(ask(&steady, "before").unwrap(), "before\n");

    let doomed = eventlet_rt::connect(addr).unwrap();
    assert_eq!(
        ask(&doomed, "panic").unwrap(),
        "",
        "its connection was closed"
    );

    assert_eq!(ask(&steady, "after").unwrap(), "after\n");
    let newcomer = eventlet_rt::connect(addr).unwrap();
    assert_eq!(ask(&newcomer, "hello").unwrap(), "hello\n");
    assert!(!server.is_finished());

    drop((steady, doomed, newcomer));
    pool.waitall();
    assert_eq!(pool.running(), 0);
    server.kill();
    assert!(server.wait().unwrap_err().is_killed());
    assert_eq!(
        hub::stats().io_sources,
        0,
        "listener and connections closed"
    );
}

#[test]
fn serve_handles_many_connections_at_once_within_its_pool() {
    let listener = eventlet_rt::listen("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let pool = GreenPool::new(50);
    let handlers = pool.clone();
    let server = spawn(move || eventlet_rt::serve_with_pool(listener, &handlers, handle));
    let clients: Vec<_> = (0..200)
        .map(|i| {
            spawn(move || {
                let client = eventlet_rt::connect(addr).unwrap();
                let reply = ask(&client, &format!("client {i}")).unwrap();
                eventlet_rt::sleep(Duration::from_millis(10));
                reply
            })
        })
        .collect();
    let mut most_running = 0;
    for (i, client) in clients.into_iter().enumerate() {
        most_running = most_running.max(pool.running());
        assert_eq!(client.wait().unwrap(), format!("client {i}\n"));
    }
    assert!(most_running <= 50);
    server.kill();
}

#[test]
fn killing_the_server_stops_accepting_but_lets_handlers_finish() {
    let listener = eventlet_rt::listen("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handling = Event::new();
    let started = handling.clone();
    let server = spawn(move || {
        eventlet_rt::serve(listener, move |mut stream, _| {
            started.send(());
            eventlet_rt::sleep(Duration::from_millis(30));
            stream.write_all(b"finished").unwrap();
        })
    });
    let mut client = eventlet_rt::connect(addr).unwrap();
    handling.wait(); // accepted: killing the server now cannot drop it
    server.kill();
    assert!(server.wait().unwrap_err().is_killed());
    let mut reply = String::new();
    client.read_to_string(&mut reply).unwrap();
    assert_eq!(reply, "finished");
    let refused = eventlet_rt::connect(addr).unwrap_err();
    assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
}
