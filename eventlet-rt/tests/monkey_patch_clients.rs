//! Third-party blocking clients made green by `monkey_patch()`, against real
//! servers: `redis`, `mysql` (MariaDB), `tungstenite`, a plain `ureq` agent.

mod servers;

use std::cell::Cell;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::rc::Rc;
use std::time::{Duration, Instant};

use eventlet_rt::{TimedOut, monkey_patch, spawn, with_timeout};
use mysql::prelude::Queryable;

/// A green thread that ticks every 50 ms until `done`; returns its ticks and
/// the longest gap between two of them.
fn ticker(done: Rc<Cell<bool>>) -> eventlet_rt::GreenThread<(u32, Duration)> {
    spawn(move || {
        let (mut ticks, mut longest) = (0, Duration::ZERO);
        let mut last = Instant::now();
        while !done.get() {
            eventlet_rt::sleep(Duration::from_millis(50));
            ticks += 1;
            longest = longest.max(last.elapsed());
            last = Instant::now();
        }
        (ticks, longest)
    })
}

#[test]
fn fifty_redis_blpops_wait_together_while_a_ticker_keeps_its_beat() {
    monkey_patch();
    let Some(server) = servers::redis() else {
        return;
    };
    let client = redis::Client::open(format!("redis://127.0.0.1:{}/", server.port)).unwrap();
    let done = Rc::new(Cell::new(false));
    let beat = ticker(done.clone());
    let start = Instant::now();
    let waiters: Vec<_> = (0..50)
        .map(|i| {
            let client = client.clone();
            spawn(move || {
                let mut connection = client.get_connection().unwrap();
                let answer: Option<(String, String)> = redis::cmd("BLPOP")
                    .arg(format!("queue-{i}"))
                    .arg(5)
                    .query(&mut connection)
                    .unwrap();
                answer.map(|(_, value)| value)
            })
        })
        .collect();
    let pusher = spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        let mut connection = client.get_connection().unwrap();
        for i in 0..50 {
            let _: i64 = redis::cmd("LPUSH")
                .arg(format!("queue-{i}"))
                .arg(format!("job-{i}"))
                .query(&mut connection)
                .unwrap();
        }
    });
    for (i, waiter) in waiters.into_iter().enumerate() {
        assert_eq!(waiter.wait().unwrap(), Some(format!("job-{i}")));
    }
    let took = start.elapsed();
    pusher.wait().unwrap();
    done.set(true);
    let (ticks, longest) = beat.wait().unwrap();
    // Serially the 50 BLPOPs would take minutes (each waits for its push);
    // together they end about when the pushes come.
    assert!(took < Duration::from_secs(3), "all 50 answered in {took:?}");
    assert!(ticks >= 3, "the ticker ticked {ticks} times");
    assert!(
        longest < Duration::from_secs(1),
        "the longest gap between ticks: {longest:?}"
    );
}

#[test]
fn with_timeout_around_a_redis_blpop_times_out_and_the_connection_stays_usable() {
    monkey_patch();
    let Some(server) = servers::redis() else {
        return;
    };
    let client = redis::Client::open(format!("redis://127.0.0.1:{}/", server.port)).unwrap();
    let mut connection = client.get_connection().unwrap();
    let start = Instant::now();
    let outcome = with_timeout(Duration::from_millis(200), || {
        redis::cmd("BLPOP")
            .arg("never-pushed")
            .arg(1)
            .query::<Option<(String, String)>>(&mut connection)
    });
    match outcome {
        Err(TimedOut) => {}
        Ok(Err(error)) => assert!(error.is_timeout(), "{error}"),
        Ok(Ok(answer)) => panic!("BLPOP answered {answer:?} before its timeout"),
    }
    assert!(
        start.elapsed() < Duration::from_millis(900),
        "the timeout cut the wait short"
    );
    // The connection skips the late BLPOP reply and answers the next command.
    let pong: String = redis::cmd("PING").query(&mut connection).unwrap();
    assert_eq!(pong, "PONG");
}

#[test]
fn twenty_mysql_sleeps_overlap() {
    monkey_patch();
    let Some(server) = servers::mariadb() else {
        return;
    };
    let options = mysql::OptsBuilder::new()
        .ip_or_hostname(Some("127.0.0.1"))
        .tcp_port(server.port)
        .user(Some("root"))
        .prefer_socket(false);
    let connectors: Vec<_> = (0..20)
        .map(|_| {
            let options = options.clone();
            spawn(move || mysql::Conn::new(options).unwrap())
        })
        .collect();
    let connections: Vec<_> = connectors.into_iter().map(|c| c.wait().unwrap()).collect();
    let start = Instant::now();
    let sleepers: Vec<_> = connections
        .into_iter()
        .map(|mut connection| {
            spawn(move || {
                let slept: Option<i64> = connection.query_first("SELECT SLEEP(0.2)").unwrap();
                slept
            })
        })
        .collect();
    for sleeper in sleepers {
        assert_eq!(sleeper.wait().unwrap(), Some(0));
    }
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "20 x 200 ms serial is 4 s; together: {took:?}"
    );
}

#[test]
fn tungstenite_connects_to_a_green_websocket_server_on_the_same_hub() {
    monkey_patch();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = spawn(move || {
        let handlers: Vec<_> = (0..10)
            .map(|_| {
                let (stream, _) = listener.accept().unwrap();
                spawn(move || {
                    let mut socket = tungstenite::accept(stream).unwrap();
                    loop {
                        match socket.read() {
                            Ok(message) if message.is_text() => socket.send(message).unwrap(),
                            Ok(_) => {}
                            Err(_) => return,
                        }
                    }
                })
            })
            .collect();
        for handler in handlers {
            handler.wait().unwrap();
        }
    });
    let clients: Vec<_> = (0..10)
        .map(|i| {
            spawn(move || {
                let url = format!("ws://127.0.0.1:{port}/");
                let (mut socket, _) = tungstenite::connect(url).unwrap();
                for round in 0..5 {
                    let text = format!("client {i} round {round}");
                    socket
                        .send(tungstenite::Message::text(text.clone()))
                        .unwrap();
                    let echoed = socket.read().unwrap().into_text().unwrap();
                    assert_eq!(echoed.as_str(), text);
                }
                socket.close(None).unwrap();
                while socket.read().is_ok() {}
            })
        })
        .collect();
    for client in clients {
        client.wait().unwrap();
    }
    server.wait().unwrap();
}

#[test]
fn a_plain_ureq_agent_fetches_fifty_urls_concurrently() {
    monkey_patch();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // A slow green HTTP server on std sockets: each answer takes 100 ms.
    let server = spawn(move || {
        for _ in 0..50 {
            let (mut stream, _) = listener.accept().unwrap();
            spawn(move || {
                let mut request = Vec::new();
                let mut buf = [0; 1024];
                while !request.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut buf).unwrap() {
                        0 => return,
                        n => request.extend_from_slice(&buf[..n]),
                    }
                }
                std::thread::sleep(Duration::from_millis(100));
                let path = String::from_utf8_lossy(&request)
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("/")
                    .to_owned();
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{path}",
                    path.len()
                );
                stream.write_all(response.as_bytes()).unwrap();
            });
        }
    });
    let agent = ureq::Agent::new_with_defaults();
    let start = Instant::now();
    let fetchers: Vec<_> = (0..50)
        .map(|i| {
            let agent = agent.clone();
            spawn(move || {
                let url = format!("http://127.0.0.1:{port}/page/{i}");
                agent
                    .get(&url)
                    .call()
                    .unwrap()
                    .body_mut()
                    .read_to_string()
                    .unwrap()
            })
        })
        .collect();
    for (i, fetcher) in fetchers.into_iter().enumerate() {
        assert_eq!(fetcher.wait().unwrap(), format!("/page/{i}"));
    }
    let took = start.elapsed();
    server.wait().unwrap();
    assert!(
        took < Duration::from_secs(3),
        "50 x 100 ms serial is 5 s; together: {took:?}"
    );
}
