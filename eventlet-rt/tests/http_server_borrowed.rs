//! The borrowed handler form (`Server::borrowed`) next to the
//! `http::Request` handler on one server and port: who answers what, in
//! order, and the same protocol rules for both.

mod http_server_support;

use std::io::Read;

use eventlet_rt::http::{
    Body, RawRequest, RawResponse, Request, Response, Server, StatusCode, Version,
};
use http_server_support::{exchange, start, statuses};

/// `/hot` and `/hot/*` are answered in place; `/declined` writes a header,
/// then declines; `/boom` panics; `/split` tries to split the response.
fn hot(request: &RawRequest<'_>, response: &mut RawResponse<'_>) -> bool {
    match request.path() {
        "/hot" => {
            let host = String::from_utf8_lossy(request.header("HOST").unwrap_or_default());
            let version = if request.version() == Version::HTTP_10 {
                "1.0"
            } else {
                "1.1"
            };
            let text = format!(
                "hot {} v{version} host={host} q={:?}",
                request.method(),
                request.query()
            );
            response
                .header("Content-Type", "text/plain")
                .body(text.as_bytes());
            true
        }
        "/hot/missing" => {
            response.status(StatusCode::NOT_FOUND).body(b"none here");
            true
        }
        "/hot/empty" => true,
        "/declined" => {
            response.header("X-Half", "written");
            false
        }
        "/boom" => panic!("a hot route bug"),
        "/split" => {
            response.header("X-Bad", "a\r\nSet-Cookie: stolen=1");
            true
        }
        _ => false,
    }
}

/// The `http::Request` handler: the path, and the body's length.
fn regular(mut request: Request) -> Response {
    let mut body = Vec::new();
    let _ = request.body_mut().read_to_end(&mut body);
    Response::new(Body::from(format!(
        "regular {} {}",
        request.uri().path(),
        body.len()
    )))
}

fn server() -> std::net::SocketAddr {
    start(Server::new(regular).borrowed(hot))
}

#[test]
fn both_forms_answer_pipelined_requests_in_order_on_one_connection() {
    let addr = server();
    let reply = exchange(
        addr,
        b"GET /hot?x=1 HTTP/1.1\r\nHost: h\r\n\r\n\
          GET /other HTTP/1.1\r\nHost: h\r\n\r\n\
          POST /hot HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc\
          GET /hot/missing HTTP/1.1\r\nHost: h\r\n\r\n\
          GET /declined HTTP/1.1\r\nHost: h\r\n\r\n\
          GET /hot/empty HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(statuses(&reply), [200, 200, 200, 404, 200, 200], "{reply}");
    let bodies: Vec<&str> = reply
        .split("\r\n\r\n")
        .skip(1)
        .map(|part| part.split("HTTP/1.1 ").next().unwrap())
        .collect();
    assert_eq!(
        bodies,
        [
            "hot GET v1.1 host=h q=Some(\"x=1\")",
            "regular /other 0",
            "regular /hot 3", // a request with a body goes to the regular handler
            "none here",
            "regular /declined 0",
            "",
        ],
        "{reply}"
    );
    assert!(
        !reply.contains("X-Half"),
        "a declined answer leaves nothing: {reply}"
    );
    assert!(reply.contains("Connection: close\r\n"), "{reply}");
}

#[test]
fn head_gets_the_length_and_no_body_and_http_1_0_keeps_alive_when_asked() {
    let addr = server();
    let reply = exchange(
        addr,
        b"HEAD /hot HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    );
    assert!(
        reply.contains("Content-Length: 27\r\n"),
        "the length GET would have: {reply}"
    );
    assert!(reply.ends_with("\r\n\r\n"), "no body: {reply}");
    let reply = exchange(
        addr,
        b"GET /hot HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /hot HTTP/1.0\r\n\r\n",
    );
    assert_eq!(statuses(&reply), [200, 200], "{reply}");
    assert!(reply.contains("Connection: keep-alive\r\n"), "{reply}");
    assert!(reply.contains("Connection: close\r\n"), "{reply}");
}

#[test]
fn a_panic_or_a_split_header_is_a_500_and_the_server_goes_on() {
    let addr = server();
    for path in ["/boom", "/split"] {
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: h\r\n\r\nGET /hot HTTP/1.1\r\nHost: h\r\n\r\n");
        let reply = exchange(addr, request.as_bytes());
        assert_eq!(statuses(&reply), [500], "{path}: {reply}");
        assert!(!reply.contains("stolen"), "{reply}");
    }
    let reply = exchange(
        addr,
        b"GET /hot HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(statuses(&reply), [200]);
}

#[test]
fn the_protocol_rules_hold_before_the_borrowed_handler() {
    let addr = server();
    for (request, want) in [
        (&b"GET /hot HTTP/1.1\r\n\r\n"[..], 400), // no Host
        (b"GET /hot HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        (b"GET /hot#f HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        (b"GET /hot HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    ] {
        assert_eq!(statuses(&exchange(addr, request)), [want], "{:?}", String::from_utf8_lossy(request));
    }
    // An absolute-form target goes to the regular handler, which sees its host.
    let reply = exchange(
        addr,
        b"GET http://x/hot HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    );
    assert!(reply.ends_with("regular /hot 0"), "{reply}");
}

/// A hot route that waits on the hub holds its parsed head meanwhile; other
/// connections' heads are parsed in the time (the hub lends its header slots
/// to one parse at a time): each answer names its own request's header.
#[test]
fn a_hot_route_that_waits_keeps_its_own_head_while_others_are_parsed() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;
    static WAITING: AtomicBool = AtomicBool::new(false);
    static RELEASED: AtomicBool = AtomicBool::new(false);
    let addr = start(Server::new(regular).borrowed(|request, response| {
        let id = request.header("X-Id").unwrap_or_default();
        let before = id.to_vec();
        if request.path() == "/wait" {
            WAITING.store(true, Ordering::SeqCst);
            while !RELEASED.load(Ordering::SeqCst) {
                eventlet_rt::sleep(Duration::from_millis(1));
            }
        }
        assert_eq!(request.header("X-Id").unwrap_or_default(), before);
        response.body(&before);
        true
    }));
    let waiter = eventlet_rt::spawn(move || {
        exchange(
            addr,
            b"GET /wait HTTP/1.1\r\nHost: h\r\nX-Id: the-waiter\r\nConnection: close\r\n\r\n",
        )
    });
    while !WAITING.load(Ordering::SeqCst) {
        eventlet_rt::sleep(Duration::from_millis(1));
    }
    for id in ["one", "two", "three"] {
        let request = format!(
            "GET /quick HTTP/1.1\r\nHost: h\r\nX-Pad: {}\r\nX-Id: {id}\r\nConnection: close\r\n\r\n",
            "p".repeat(40)
        );
        let reply = exchange(addr, request.as_bytes());
        assert!(reply.ends_with(&format!("\r\n\r\n{id}")), "{reply}");
    }
    RELEASED.store(true, Ordering::SeqCst);
    let reply = waiter.wait().unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.ends_with("\r\n\r\nthe-waiter"), "{reply}");
}
