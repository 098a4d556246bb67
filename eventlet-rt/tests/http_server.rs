//! The HTTP server's protocol: keep-alive, pipelining, streamed bodies both
//! ways, `Expect: 100-continue`, `HEAD`, HTTP/1.0, panics, shutdown.

mod http_server_support;

use std::cell::RefCell;
use std::io::{Read, Write};
use std::rc::Rc;
use std::time::{Duration, Instant};

use eventlet_rt::green::mpsc;
use eventlet_rt::http::{Body, Request, Response, Server, StatusCode};
use http_server_support::{client, exchange, read_to_close, start, statuses};

fn path_echo(request: Request) -> Response {
    Response::new(Body::from(request.uri().path().to_owned()))
}

/// Reads the whole request body and answers how many bytes it had.
fn count_body(mut request: Request) -> Response {
    let mut n = 0;
    let mut buf = [0; 1000];
    loop {
        match request.body_mut().read(&mut buf) {
            Ok(0) => return Response::new(Body::from(n.to_string())),
            Ok(read) => n += read,
            Err(_) => return Response::new(Body::from("error")),
        }
    }
}

#[test]
fn pipelined_requests_are_answered_in_order_on_one_connection() {
    let addr = start(Server::new(path_echo));
    let reply = exchange(
        addr,
        b"GET /first HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /second HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /third HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(statuses(&reply), [200, 200, 200]);
    let first = reply.find("/first").unwrap();
    let second = reply.find("/second").unwrap();
    let third = reply.find("/third").unwrap();
    assert!(first < second && second < third, "{reply}");
    assert_eq!(reply.matches("Content-Length: 6\r\n").count(), 2, "{reply}");
    assert_eq!(reply.matches("Date: ").count(), 3, "{reply}");
    assert!(reply.contains("Connection: close\r\n"), "{reply}");
}

#[test]
fn keep_alive_serves_requests_sent_one_after_another() {
    let addr = start(Server::new(path_echo));
    let mut stream = client(addr);
    for path in ["/one", "/two"] {
        write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut reply = vec![0; 512];
        let n = stream.read(&mut reply).unwrap();
        let reply = String::from_utf8_lossy(&reply[..n]);
        assert!(
            reply.starts_with("HTTP/1.1 200 OK\r\n") && reply.ends_with(path),
            "{reply}"
        );
    }
}

#[test]
fn http_1_0_closes_unless_asked_to_keep_alive() {
    let addr = start(Server::new(path_echo));
    let reply = exchange(addr, b"GET /old HTTP/1.0\r\n\r\n");
    assert!(
        reply.starts_with("HTTP/1.1 200 OK\r\n") && reply.ends_with("/old"),
        "{reply}"
    );
    let reply = exchange(
        addr,
        b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\n",
    );
    assert_eq!(statuses(&reply), [200, 200]);
    assert!(reply.contains("Connection: keep-alive\r\n"), "{reply}");
}

#[test]
fn head_gives_the_length_without_the_body() {
    let addr = start(Server::new(|_| Response::new(Body::from("twelve bytes"))));
    let reply = exchange(
        addr,
        b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(reply.contains("Content-Length: 12\r\n"), "{reply}");
    assert!(
        reply.ends_with("\r\n\r\n"),
        "no body after the head: {reply}"
    );
}

#[test]
fn chunked_upload_streams_to_the_handler_and_trailers_are_dropped() {
    let addr = start(Server::new(count_body));
    let reply = exchange(
        addr,
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
          5\r\nhello\r\n1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\nX-Checksum: 1\r\n\r\n\
          GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(statuses(&reply), [200, 200]);
    assert!(
        reply.contains("\r\n\r\n12HTTP/1.1"),
        "12 bytes, then the next answer: {reply}"
    );
}

#[test]
fn the_handler_reads_the_body_while_the_client_still_sends_it() {
    let (reached, reached_rx) = mpsc::channel();
    let addr = start(Server::new(move |mut request: Request| {
        let mut first = [0; 5];
        request.body_mut().read_exact(&mut first).unwrap();
        reached.send(()).unwrap();
        let mut rest = Vec::new();
        request.body_mut().read_to_end(&mut rest).unwrap();
        Response::new(Body::from(format!("{}+{}", first.len(), rest.len())))
    }));
    let mut stream = client(addr);
    stream
        .write_all(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\nhello",
        )
        .unwrap();
    reached_rx.recv().unwrap(); // the handler has half the body, the client the other half
    stream.write_all(b"world").unwrap();
    assert!(read_to_close(&mut stream).ends_with("\r\n\r\n5+5"));
}

#[test]
fn expect_continue_is_sent_on_the_first_body_read() {
    let addr = start(Server::new(count_body));
    let mut stream = client(addr);
    stream
        .write_all(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n",
        )
        .unwrap();
    let mut interim = [0; 25];
    stream.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    stream.write_all(b"data").unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let reply = read_to_close(&mut stream);
    assert_eq!(statuses(&reply), [200, 200]);
    assert!(reply.contains("\r\n\r\n4HTTP"), "{reply}");
}

#[test]
fn a_body_never_read_gets_no_continue_and_the_connection_closes() {
    let addr = start(Server::new(|_| {
        let mut response = Response::new(Body::from("no thanks"));
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        response
    }));
    let reply = exchange(
        addr,
        b"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n",
    );
    assert_eq!(statuses(&reply), [401], "{reply}");
    assert!(reply.contains("Connection: close\r\n"), "{reply}");
}

#[test]
fn a_reader_body_is_sent_chunked_and_a_request_body_can_be_echoed() {
    let addr = start(Server::new(|request: Request| match request.uri().path() {
        "/stream" => Response::new(Body::from_reader(std::io::repeat(b'z').take(40_000))),
        _ => Response::new(request.into_body()),
    }));
    let reply = exchange(
        addr,
        b"GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(reply.contains("Transfer-Encoding: chunked\r\n"), "{reply}");
    assert_eq!(reply.matches('z').count(), 40_000);
    assert!(reply.ends_with("\r\n0\r\n\r\n"), "ends with the last chunk");

    let reply = exchange(
        addr,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
          3\r\nabc\r\n0\r\n\r\n",
    );
    assert!(reply.ends_with("\r\n\r\n3\r\nabc\r\n0\r\n\r\n"), "{reply}");
    let reply = exchange(
        addr,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyzGET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(statuses(&reply), [200, 200]);
    assert!(
        reply.contains("Content-Length: 3\r\n") && reply.contains("\r\n\r\nxyzHTTP"),
        "{reply}"
    );
}

#[test]
fn a_handler_panic_is_a_500_and_the_server_goes_on() {
    let addr = start(Server::new(|request: Request| {
        if request.uri().path() == "/boom" {
            panic!("handler bug");
        }
        Response::new(Body::from("fine"))
    }));
    let reply = exchange(
        addr,
        b"GET /boom HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert_eq!(
        statuses(&reply),
        [500],
        "the connection closes after a panic: {reply}"
    );
    assert!(
        exchange(
            addr,
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .ends_with("fine")
    );
}

#[test]
fn a_header_that_would_split_the_response_is_never_sent() {
    let addr = start(Server::new(|_| {
        // `http` refuses the value, so the handler cannot build the response
        // and panics: the client gets a 500, never a second header line.
        eventlet_rt::http::response::Builder::new()
            .header("x-greeting", "hi\r\nSet-Cookie: stolen=1")
            .body(Body::empty())
            .unwrap()
    }));
    let reply = exchange(addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(statuses(&reply), [500]);
    assert!(!reply.contains("stolen"), "{reply}");
}

#[test]
fn shutdown_closes_idle_connections_and_finishes_requests_in_flight() {
    let (in_handler, in_handler_rx) = mpsc::channel();
    let server = Server::new(move |request: Request| {
        if request.uri().path() == "/slow" {
            in_handler.send(()).unwrap();
            eventlet_rt::sleep(Duration::from_millis(200));
        }
        Response::new(Body::from("done"))
    });
    let stop = server.shutdown_handle();
    let listener = eventlet_rt::listen("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = eventlet_rt::spawn(move || server.serve(listener));

    let mut idle = client(addr);
    idle.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut first = [0; 256];
    assert!(idle.read(&mut first).unwrap() > 0);
    let mut busy = client(addr);
    busy.write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    in_handler_rx.recv().unwrap();

    let started = Instant::now();
    stop.shutdown();
    let mut rest = Vec::new();
    assert_eq!(
        idle.read_to_end(&mut rest).unwrap(),
        0,
        "the idle connection is closed"
    );
    let reply = read_to_close(&mut busy);
    assert!(
        reply.contains("Connection: close\r\n") && reply.ends_with("done"),
        "{reply}"
    );
    assert!(serving.wait().unwrap().is_ok());
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(eventlet_rt::connect(addr).is_err(), "no longer accepting");
}

#[test]
fn requests_on_many_connections_overlap() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let handler_log = log.clone();
    let addr = start(Server::new(move |_| {
        handler_log.borrow_mut().push("start");
        eventlet_rt::sleep(Duration::from_millis(100));
        handler_log.borrow_mut().push("end");
        Response::new(Body::empty())
    }));
    let clients: Vec<_> = (0..20)
        .map(|_| {
            eventlet_rt::spawn(move || {
                exchange(
                    addr,
                    b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                )
            })
        })
        .collect();
    for reply in clients {
        assert_eq!(statuses(&reply.wait().unwrap()), [200]);
    }
    let log = log.borrow();
    assert_eq!(
        log[..20],
        ["start"; 20],
        "all twenty handlers sleep at once"
    );
}

/// Answers the request's `x-id` header, its path and its body, so that a
/// mix-up between pipelined requests shows.
fn id_path_and_body(mut request: Request) -> Response {
    let id = request.headers()["x-id"].to_str().unwrap().to_owned();
    let mut body = String::new();
    request.body_mut().read_to_string(&mut body).unwrap();
    Response::new(Body::from(format!("{id} {} {body};", request.uri().path())))
}

#[test]
fn pipelined_heads_and_bodies_cut_at_every_kind_of_boundary_stay_apart() {
    let addr = start(Server::new(id_path_and_body));
    // 300 requests of varied sizes (heads up to about 3 KB, some with bodies,
    // some chunked), sent in writes of sizes that cut heads, bodies and chunk
    // lines anywhere, so that the server's buffer fills, wraps and grows
    // with parts of requests in it.
    let mut wire = Vec::new();
    let mut expected = String::new();
    for i in 0..300usize {
        let padding = "p".repeat((i * 37) % 3000);
        let path = format!("/r{i}");
        let body = "b".repeat((i * 11) % 50);
        match i % 3 {
            0 => write!(wire, "GET {path} HTTP/1.1\r\nHost: x\r\nX-Id: {i}\r\nX-Pad: {padding}\r\n\r\n").unwrap(),
            1 => write!(
                wire,
                "POST {path} HTTP/1.1\r\nHost: x\r\nX-Pad: {padding}\r\nContent-Length: {}\r\nX-Id: {i}\r\n\r\n{body}",
                body.len()
            )
            .unwrap(),
            _ => {
                write!(wire, "POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nX-Id: {i}\r\n\r\n").unwrap();
                if !body.is_empty() {
                    write!(wire, "{:x}\r\n{body}\r\n", body.len()).unwrap();
                }
                write!(wire, "0\r\n\r\n").unwrap();
            }
        }
        let body = if i % 3 == 0 { "" } else { body.as_str() };
        expected.push_str(&format!("{i} {path} {body};"));
    }
    wire.extend_from_slice(
        b"GET /end HTTP/1.1\r\nHost: x\r\nX-Id: end\r\nConnection: close\r\n\r\n",
    );
    expected.push_str("end /end ;");

    let mut stream = client(addr);
    let mut reader = stream.try_clone().unwrap();
    let replies = eventlet_rt::spawn(move || read_to_close(&mut reader));
    let mut at = 0;
    let mut step = 1;
    while at < wire.len() {
        let end = (at + step).min(wire.len());
        stream.write_all(&wire[at..end]).unwrap();
        at = end;
        step = step * 7 % 1543 + 1; // 1 to 1543 bytes, in no pattern that matches the requests
    }
    let replies = replies.wait().unwrap();
    assert_eq!(statuses(&replies), vec![200; 301]);
    let bodies: String = replies
        .split("\r\n\r\n")
        .skip(1)
        .map(|part| part.split("HTTP/1.1 ").next().unwrap())
        .collect();
    assert_eq!(bodies, expected);
}
