//! `serve`: one green thread per connection from a pool; panicking handlers
//! close their connection and the server goes on.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::time::Duration;

use eventlet_rt::green::net::{SocketAddr, TcpStream};
use eventlet_rt::{Event, GreenPool, hub, spawn};

mod child;
use child::{CHILD_DONE, is_child, stderr_of_finished_child};

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

/// The lowest descriptor number not in use: the next one a new socket gets.
fn lowest_free_descriptor() -> libc::rlim_t {
    // SAFETY: dup of stdin gives the lowest free number; it is closed at once.
    unsafe {
        let fd = libc::dup(0);
        assert!(fd >= 0, "{}", io::Error::last_os_error());
        libc::close(fd);
        fd as libc::rlim_t
    }
}

/// Sets the soft limit on descriptors (new ones must be numbered below it).
fn set_descriptor_limit(soft: libc::rlim_t) -> libc::rlim_t {
    // SAFETY: plain system calls on a valid `rlimit`.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        let before = limit.rlim_cur;
        limit.rlim_cur = soft;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
        before
    }
}

/// Connects `sockets` (made while descriptors were free) to `addr`, lets the
/// server meet the shortage while `steady` keeps being served, then frees
/// descriptors and checks each newcomer is served.
fn shortage_then_recovery(
    addr: SocketAddr,
    steady: &TcpStream,
    sockets: Vec<socket2::Socket>,
    server: &eventlet_rt::GreenThread<io::Result<()>>,
) {
    let normal = set_descriptor_limit(lowest_free_descriptor());
    for socket in &sockets {
        socket.connect(&addr.into()).unwrap(); // completed by the kernel, not accepted
    }
    for round in 0..20 {
        let line = format!("during {round}");
        assert_eq!(ask(steady, &line).unwrap(), format!("{line}\n"));
        eventlet_rt::sleep(Duration::from_millis(10)); // the server retries meanwhile
    }
    assert!(!server.is_finished(), "the server gave up: {server:?}");
    set_descriptor_limit(normal);
    for (i, socket) in sockets.into_iter().enumerate() {
        let newcomer = TcpStream::from_std(socket.into()).unwrap();
        newcomer
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let line = format!("newcomer {i}");
        assert_eq!(ask(&newcomer, &line).unwrap(), format!("{line}\n"));
    }
}

#[test]
#[ignore = "run in a child process by serve_rides_out_running_out_of_descriptors"]
fn child_serving_while_descriptors_run_out() {
    if !is_child() {
        return;
    }
    let listener = eventlet_rt::listen("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = spawn(move || eventlet_rt::serve(listener, handle));
    // The clients' own sockets, made while there are descriptors to spare.
    let mut sockets: Vec<socket2::Socket> = (0..5)
        .map(|_| socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap())
        .collect();
    let steady = eventlet_rt::connect(addr).unwrap();
    assert_eq!(ask(&steady, "before").unwrap(), "before\n");
    let later = sockets.split_off(3);
    shortage_then_recovery(addr, &steady, sockets, &server);
    // The server caught up; a second shortage is a second report.
    shortage_then_recovery(addr, &steady, later, &server);
    assert_eq!(ask(&steady, "after").unwrap(), "after\n");
    server.kill();
    println!("{CHILD_DONE}");
}

#[test]
fn serve_rides_out_running_out_of_descriptors() {
    let stderr = stderr_of_finished_child("child_serving_while_descriptors_run_out");
    let reports: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("eventlet-rt: accept on"))
        .collect();
    assert_eq!(reports.len(), 2, "one report per shortage:\n{stderr}");
    assert!(
        reports.iter().all(|r| r.contains("Too many open files")),
        "{stderr}"
    );
}
