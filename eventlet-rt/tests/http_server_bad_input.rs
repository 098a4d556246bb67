//! A hostile or broken client gets a clear status and a closed connection,
//! and disturbs nobody else (the cases of Eventlet's `tests/wsgi_test.py`
//! and gevent's `test__pywsgi.py`).

mod http_server_support;

use std::cell::RefCell;
use std::io::{Read, Write};
use std::rc::Rc;
use std::time::{Duration, Instant};

use eventlet_rt::green::mpsc;
use eventlet_rt::http::{Body, Request, Response, Server};
use http_server_support::{client, exchange, read_to_close, start, statuses};

/// A server that reads every body and logs the paths it was asked for.
fn logging_server() -> (std::net::SocketAddr, Rc<RefCell<Vec<String>>>) {
    let log = Rc::new(RefCell::new(Vec::new()));
    let seen = log.clone();
    let addr = start(
        Server::new(move |mut request: Request| {
            seen.borrow_mut().push(request.uri().path().to_owned());
            let mut body = Vec::new();
            let _ = request.body_mut().read_to_end(&mut body);
            Response::new(Body::from(body))
        })
        .max_body_bytes(1000),
    );
    (addr, log)
}

fn status_of(addr: std::net::SocketAddr, request: &[u8]) -> Vec<u16> {
    let reply = exchange(addr, request);
    assert!(
        reply.contains("Connection: close\r\n") || reply.is_empty(),
        "{reply}"
    );
    statuses(&reply)
}

#[test]
fn bad_content_lengths_are_400() {
    let (addr, log) = logging_server();
    for length in [
        "Content-Length: argh",
        "Content-Length: ",
        "Content-Length: -10",
        "Content-Length: 3\r\nContent-Length: 4",
    ] {
        let request = format!("POST / HTTP/1.1\r\nHost: x\r\n{length}\r\n\r\nabcd");
        assert_eq!(status_of(addr, request.as_bytes()), [400], "{length}");
    }
    assert!(log.borrow().is_empty(), "no handler ran");
}

#[test]
fn content_length_with_transfer_encoding_is_400_and_closes() {
    let (addr, log) = logging_server();
    let reply = exchange(
        addr,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n\
          0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert_eq!(statuses(&reply), [400]);
    assert!(log.borrow().is_empty());
}

#[test]
fn malformed_chunks_are_400_never_a_hang() {
    let (addr, log) = logging_server();
    let extension = format!("5;{}\r\nhello\r\n0\r\n\r\n", "e".repeat(24_000));
    for body in [
        "zz\r\nhello\r\n0\r\n\r\n", // size not hex
        "5\r\nhelloXX0\r\n\r\n",    // data without its CRLF
        extension.as_str(),         // a 24,000-character extension
    ] {
        let request =
            format!("POST /chunks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{body}");
        assert_eq!(status_of(addr, request.as_bytes()), [400]);
    }
    assert_eq!(
        log.borrow().len(),
        3,
        "each reached its handler, which saw the error"
    );
}

#[test]
fn trailers_never_smuggle_a_request() {
    let (addr, log) = logging_server();
    let reply = exchange(
        addr,
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
          3\r\nabc\r\n0\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert_eq!(statuses(&reply), [400]);
    assert_eq!(*log.borrow(), ["/"], "the hidden request never ran");
}

#[test]
fn bad_request_lines_and_header_names_are_400() {
    let (addr, log) = logging_server();
    assert_eq!(status_of(addr, b"GET / HTTP %\r\n\r\n"), [400]);
    assert_eq!(
        status_of(
            addr,
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"
        ),
        [400]
    );
    assert_eq!(
        status_of(addr, b"GET / HTTP/1.1\r\nHost: x\r\nBad Name: x\r\n\r\n"),
        [400]
    );
    assert_eq!(status_of(addr, b"GET / HTTP/2.0\r\n\r\n"), [505]);
    assert!(log.borrow().is_empty());
}

#[test]
fn oversized_heads_are_414_and_431() {
    let (addr, _) = logging_server();
    let long_url = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "u".repeat(20_000));
    assert_eq!(status_of(addr, long_url.as_bytes()), [414]);
    let long_line = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Long: {}\r\n\r\n",
        "h".repeat(10_000)
    );
    assert_eq!(status_of(addr, long_line.as_bytes()), [431]);
    let many: String = (0..20)
        .map(|i| format!("X-{i}: {}\r\n", "m".repeat(7000)))
        .collect();
    let many = format!("GET / HTTP/1.1\r\nHost: x\r\n{many}\r\n");
    assert_eq!(status_of(addr, many.as_bytes()), [431]);
}

/// A head with `count` fields (`Host` one of them), closing the connection.
fn head_with_fields(count: usize) -> String {
    let fields: String = (1..count).map(|i| format!("X-{i}: {i}\r\n")).collect();
    format!("GET / HTTP/1.1\r\nHost: x\r\n{fields}Connection: close\r\n\r\n")
}

#[test]
fn as_many_header_fields_as_the_limit_are_served_and_one_more_is_431() {
    // The default limit (100), one below the 32 slots the parser once kept
    // on its stack, and one far above them; `Connection: close` is one
    // field more.
    let ok = |_: Request| Response::new(Body::from("ok"));
    for (limit, server) in [
        (100, Server::new(ok)),
        (5, Server::new(ok).max_headers(5)),
        (300, Server::new(ok).max_headers(300)),
    ] {
        let addr = start(server);
        let reply = exchange(addr, head_with_fields(limit - 1).as_bytes());
        assert_eq!(statuses(&reply), [200], "{limit}: {reply}");
        assert!(reply.ends_with("\r\n\r\nok"), "{limit}: {reply}");
        assert_eq!(
            status_of(addr, head_with_fields(limit).as_bytes()),
            [431],
            "{limit}"
        );
    }
    // No limit on the count: the head's size limits the fields instead.
    let addr = start(Server::new(ok).max_headers(usize::MAX));
    let reply = exchange(addr, head_with_fields(2000).as_bytes());
    assert_eq!(statuses(&reply), [200], "{reply}");
    let too_long = head_with_fields(8000);
    assert!(too_long.len() > 72 * 1024, "{}", too_long.len());
    assert_eq!(status_of(addr, too_long.as_bytes()), [431]);
}

#[test]
fn bodies_over_the_limit_are_413() {
    let (addr, log) = logging_server();
    let declared = format!(
        "POST /cl HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n{}",
        "b".repeat(5000)
    );
    assert_eq!(status_of(addr, declared.as_bytes()), [413]);
    assert!(log.borrow().is_empty(), "refused before the handler");
    let chunk = "c".repeat(600);
    let chunked = format!(
        "POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n{chunk}\r\n258\r\n{chunk}\r\n0\r\n\r\n"
    );
    assert_eq!(status_of(addr, chunked.as_bytes()), [413]);
    assert_eq!(*log.borrow(), ["/chunked"]);
}

#[test]
fn stalled_clients_do_not_delay_others_and_are_closed_at_the_header_timeout() {
    let addr = start(
        Server::new(|_| Response::new(Body::from("ok")))
            .header_read_timeout(Duration::from_millis(500)),
    );
    let started = Instant::now();
    let (sent, sent_rx) = mpsc::channel();
    let stalled: Vec<_> = (0..200)
        .map(|_| {
            let sent = sent.clone();
            eventlet_rt::spawn(move || {
                let mut stream = client(addr);
                stream.write_all(b"GET /slo").unwrap();
                sent.send(()).unwrap();
                let mut rest = Vec::new();
                stream.read_to_end(&mut rest).map(|_| rest.len())
            })
        })
        .collect();
    sent_rx.iter().take(200).for_each(drop); // all 200 are connected and stalled
    let normal = Instant::now();
    let reply = exchange(
        addr,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(reply.ends_with("ok"), "{reply}");
    let normal = normal.elapsed();
    for stalled in stalled {
        assert_eq!(
            stalled.wait().unwrap().unwrap(),
            0,
            "closed without an answer"
        );
    }
    let all_closed = started.elapsed();
    assert!(
        normal < Duration::from_millis(400),
        "normal request took {normal:?}"
    );
    assert!(
        all_closed >= Duration::from_millis(500),
        "not before the timeout"
    );
    assert!(
        all_closed < Duration::from_secs(5),
        "closed at the timeout: {all_closed:?}"
    );
}

#[test]
fn an_idle_keep_alive_connection_is_closed_at_its_timeout() {
    let addr = start(
        Server::new(|_| Response::new(Body::from("ok")))
            .keep_alive_timeout(Duration::from_millis(300)),
    );
    let mut stream = client(addr);
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut reply = [0; 512];
    assert!(stream.read(&mut reply).unwrap() > 0);
    let idle = Instant::now();
    assert_eq!(read_to_close(&mut stream), "");
    assert!(idle.elapsed() >= Duration::from_millis(300));
    assert!(idle.elapsed() < Duration::from_secs(5));
}

#[test]
fn connections_past_the_limit_get_503_and_the_others_go_on() {
    let addr = start(Server::new(|_| Response::new(Body::from("ok"))).max_connections(2));
    let mut held: Vec<_> = (0..2).map(|_| client(addr)).collect();
    for stream in &mut held {
        // Answered, so accepted; then idle on keep-alive.
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        assert!(stream.read(&mut [0; 512]).unwrap() > 0);
    }
    assert_eq!(
        statuses(&exchange(addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")),
        [503]
    );
    held[0]
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    assert!(read_to_close(&mut held[0]).ends_with("ok"));
    drop(held);
    // The server notices the two closes on its own time: ask until it has.
    let deadline = Instant::now() + Duration::from_secs(5);
    let request = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    while statuses(&exchange(addr, request)) != [200] {
        assert!(Instant::now() < deadline, "a slot never came free");
        eventlet_rt::yield_now();
    }
}
