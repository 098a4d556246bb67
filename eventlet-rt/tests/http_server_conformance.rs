//! HTTP/1.1 conformance, case tables built from public sources: RFC 9112 and
//! 9110 (MUST and SHOULD rules, by section), the HTTP Garden's list of server
//! parsing bugs, Go's `net/http` `serve_test.go` (`TestServerValidatesHostHeader`,
//! `TestServerValidatesHeaders`), PortSwigger's Transfer-Encoding
//! obfuscations, gevent's `test__pywsgi.py` and Eventlet's `wsgi_test.py`.
//! Each row is a raw request and the statuses the server must answer with,
//! in order; every row of a table runs before the test fails, so a failure
//! lists every row that went wrong.

mod http_server_support;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use eventlet_rt::green::net::SocketAddr;
use eventlet_rt::http::{Body, Request, Response, Server, StatusCode, Version};
use http_server_support::{client, exchange, read_to_close, start, statuses};

/// The routes the tables need: `/echo` streams the request body back as the
/// response without reading it, `/read` reads it all first, `/status/N`
/// answers N, anything else answers its method, target and `Host` without
/// touching the body.
fn app(mut request: Request) -> Response {
    let path = request.uri().path().to_owned();
    if path == "/echo" {
        return Response::new(request.into_body());
    }
    if path == "/read" {
        let mut body = Vec::new();
        return match request.body_mut().read_to_end(&mut body) {
            Ok(n) => Response::new(Body::from(format!("read {n}"))),
            // The server answers the body's error itself, whatever this says.
            Err(e) => Response::new(Body::from(format!("read error {e}"))),
        };
    }
    if let Some(code) = path.strip_prefix("/status/") {
        let mut response = Response::new(Body::from("status"));
        *response.status_mut() = StatusCode::from_u16(code.parse().unwrap()).unwrap();
        return response;
    }
    let host = request
        .headers()
        .get("host")
        .map(|h| String::from_utf8_lossy(h.as_bytes()).into_owned());
    let version = if request.version() == Version::HTTP_10 {
        "1.0"
    } else {
        "1.1"
    };
    Response::new(Body::from(format!(
        "{} {} v{version} host={host:?}",
        request.method(),
        request.uri(),
    )))
}

fn server() -> SocketAddr {
    start(Server::new(app).max_body_bytes(100_000))
}

/// Sends every row, collects the ones whose statuses differ, and fails
/// listing them all.
fn check_table(addr: SocketAddr, table: &[(&str, Vec<u8>, &[u16])]) {
    let wrong: Vec<String> = table
        .iter()
        .filter_map(|(name, request, want)| {
            let reply = exchange(addr, request);
            let got = statuses(&reply);
            (got != *want).then(|| format!("{name}: want {want:?}, got {got:?}"))
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "{} rows wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// A request with `head` lines after the request line, and `body`.
fn raw(request_line: &str, head: &str, body: &[u8]) -> Vec<u8> {
    let mut bytes = format!("{request_line}\r\n{head}\r\n").into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

#[test]
fn host_rules_of_rfc_9112_section_3_2_and_gos_table() {
    let addr = server();
    let get = |version: &str, host: &[u8]| {
        let mut bytes = format!("GET / {version}\r\n").into_bytes();
        bytes.extend_from_slice(host);
        bytes.extend_from_slice(b"Connection: close\r\n\r\n");
        bytes
    };
    // Go's serve_test.go TestServerValidatesHostHeader, row by row where it applies.
    let table: Vec<(&str, Vec<u8>, &[u16])> = vec![
        ("1.1 no Host", get("HTTP/1.1", b""), &[400]),
        ("1.1 empty Host", get("HTTP/1.1", b"Host: \r\n"), &[200]),
        ("1.1 IPv4", get("HTTP/1.1", b"Host: 1.2.3.4\r\n"), &[200]),
        ("1.1 name", get("HTTP/1.1", b"Host: foo.com\r\n"), &[200]),
        (
            "1.1 - and _",
            get("HTTP/1.1", b"Host: foo-bar_baz.com\r\n"),
            &[200],
        ),
        ("1.1 port", get("HTTP/1.1", b"Host: foo.com:80\r\n"), &[200]),
        ("1.1 bare ::1", get("HTTP/1.1", b"Host: ::1\r\n"), &[200]),
        ("1.1 [::1]", get("HTTP/1.1", b"Host: [::1]\r\n"), &[200]),
        (
            "1.1 [::1]:80",
            get("HTTP/1.1", b"Host: [::1]:80\r\n"),
            &[200],
        ),
        (
            "1.1 zone",
            get("HTTP/1.1", b"Host: [::1%25en0]:80\r\n"),
            &[200],
        ),
        ("1.1 \\x06", get("HTTP/1.1", b"Host: \x06\r\n"), &[400]),
        ("1.1 \\xff", get("HTTP/1.1", b"Host: \xff\r\n"), &[400]),
        ("1.1 {", get("HTTP/1.1", b"Host: {\r\n"), &[400]),
        ("1.1 }", get("HTTP/1.1", b"Host: }\r\n"), &[400]),
        (
            "1.1 two",
            get("HTTP/1.1", b"Host: first\r\nHost: second\r\n"),
            &[400],
        ),
        ("1.0 none", get("HTTP/1.0", b""), &[200]),
        (
            "1.0 two",
            get("HTTP/1.0", b"Host: first\r\nHost: second\r\n"),
            &[400],
        ),
        ("1.0 \\xff", get("HTTP/1.0", b"Host: \xff\r\n"), &[400]),
        ("GET / HTTP/2.0", get("HTTP/2.0", b""), &[505]),
        ("GET / HTTP/3.0", get("HTTP/3.0", b""), &[505]),
        // The cases beyond Go's table.
        (
            "1.1 space inside",
            get("HTTP/1.1", b"Host: a b\r\n"),
            &[400],
        ),
        ("1.1 userinfo", get("HTTP/1.1", b"Host: u@h\r\n"), &[400]),
        ("1.1 path", get("HTTP/1.1", b"Host: h/p\r\n"), &[400]),
        (
            "1.1 Host and host",
            get("HTTP/1.1", b"Host: a\r\nhost: a\r\n"),
            &[400],
        ),
        // RFC 9112 3.2.2: absolute-form still needs a Host in 1.1.
        (
            "absolute-form, no Host",
            raw("GET http://h/ HTTP/1.1", "Connection: close\r\n", b""),
            &[400],
        ),
        (
            "absolute-form, other Host",
            raw(
                "GET http://h/ HTTP/1.1",
                "Host: x\r\nConnection: close\r\n",
                b"",
            ),
            &[200],
        ),
    ];
    check_table(addr, &table);
}

#[test]
fn an_absolute_form_target_names_the_host_the_handler_sees() {
    let addr = server();
    let reply = exchange(
        addr,
        b"GET http://real.example:8080/p?q HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n",
    );
    assert!(
        reply.ends_with("GET http://real.example:8080/p?q v1.1 host=Some(\"real.example:8080\")"),
        "{reply}"
    );
}

#[test]
fn header_fields_as_gos_table_validates_them() {
    let addr = server();
    let with = |field: &[u8]| {
        let mut bytes = b"GET / HTTP/1.1\r\nHost: foo\r\n".to_vec();
        bytes.extend_from_slice(field);
        bytes.extend_from_slice(b"Connection: close\r\n\r\n");
        bytes
    };
    let huge = [b"Foo: ".as_slice(), &vec![b'x'; 1 << 21], b"\r\n"].concat();
    // Go's serve_test.go TestServerValidatesHeaders, then RFC 9112 5 and
    // the HTTP Garden's header anomalies.
    let table: Vec<(&str, Vec<u8>, &[u16])> = vec![
        ("none", with(b""), &[200]),
        ("Foo: bar", with(b"Foo: bar\r\n"), &[200]),
        ("X-Foo: bar", with(b"X-Foo: bar\r\n"), &[200]),
        ("space in value", with(b"Foo: a space\r\n"), &[200]),
        ("space in name", with(b"A space: foo\r\n"), &[400]),
        ("\\xff in name", with(b"foo\xffbar: foo\r\n"), &[400]),
        ("NUL in name", with(b"foo\x00bar: foo\r\n"), &[400]),
        ("2 MB value", with(&huge), &[431]),
        ("space before colon", with(b"Foo : bar\r\n"), &[400]),
        ("tab before colon", with(b"Foo\t: bar\r\n"), &[400]),
        ("empty name", with(b": empty key\r\n"), &[400]),
        (
            "bad Content-Length",
            with(b"Content-Length: notdigits\r\n"),
            &[400],
        ),
        (
            "bad Content-Length with chunked",
            raw(
                "POST / HTTP/1.1",
                "Host: foo\r\nContent-Length: notdigits\r\nTransfer-Encoding: chunked\r\n",
                b"0\r\n\r\n",
            ),
            &[400],
        ),
        ("LWS space", with(b"foo: foo foo\r\n"), &[200]),
        ("LWS tab", with(b"foo: foo\tfoo\r\n"), &[200]),
        ("NUL in value", with(b"foo: foo\x00foo\r\n"), &[400]),
        ("DEL in value", with(b"foo: foo\x7ffoo\r\n"), &[400]),
        ("obs-text in value", with(b"foo: foo\xfffoo\r\n"), &[200]),
        ("obs-fold", with(b"Foo: a\r\n  folded\r\n"), &[400]),
        ("no colon", with(b"Bad-Header\r\n"), &[400]),
        ("CR in value", with(b"Foo: a\rb\r\n"), &[400]),
    ];
    check_table(addr, &table);
}

#[test]
fn request_lines_and_targets() {
    let addr = server();
    let close = "Host: h\r\nConnection: close\r\n";
    let long_method = "M".repeat(64 * 1024);
    // RFC 9112 3 (request line), 3.2 (target forms), RFC 9110 2.5 (minor
    // versions), 9.1 (methods), HTTP Garden anomalies, gevent's bad lines.
    let table: Vec<(&str, Vec<u8>, &[u16])> = vec![
        ("GET /x y", raw("GET /x y HTTP/1.1", close, b""), &[400]),
        ("double space", raw("GET  / HTTP/1.1", close, b""), &[400]),
        ("trailing space", raw("GET / HTTP/1.1 ", close, b""), &[400]),
        (
            "lower-case version",
            raw("GET / http/1.1", close, b""),
            &[400],
        ),
        ("HTTP/1.10", raw("GET / HTTP/1.10", close, b""), &[400]),
        ("HTTP/0.9 simple request", b"GET /\r\n\r\n".to_vec(), &[400]),
        ("target !", raw("GET ! HTTP/1.1", close, b""), &[400]),
        ("fragment", raw("GET /p#frag HTTP/1.1", close, b""), &[400]),
        (
            "query then fragment",
            raw("GET /p?q#f HTTP/1.1", close, b""),
            &[400],
        ),
        ("* for GET", raw("GET * HTTP/1.1", close, b""), &[400]),
        (
            "* for OPTIONS",
            raw("OPTIONS * HTTP/1.1", close, b""),
            &[200],
        ),
        (
            "authority for GET",
            raw("GET h:80 HTTP/1.1", close, b""),
            &[400],
        ),
        (
            "authority for CONNECT",
            raw("CONNECT h:443 HTTP/1.1", close, b""),
            &[200],
        ),
        (
            "origin for CONNECT",
            raw("CONNECT / HTTP/1.1", close, b""),
            &[400],
        ),
        (
            "absolute-form",
            raw("GET http://h/a HTTP/1.1", close, b""),
            &[200],
        ),
        ("HTTP/1.2 as 1.1", raw("GET / HTTP/1.2", close, b""), &[200]),
        ("HTTP/1.9 as 1.1", raw("GET / HTTP/1.9", close, b""), &[200]),
        ("HTTP/2.0", raw("GET / HTTP/2.0", close, b""), &[505]),
        ("HTTP/0.9", raw("GET / HTTP/0.9", close, b""), &[505]),
        (
            "64 KB method",
            raw(&format!("{long_method} / HTTP/1.1"), close, b""),
            &[501],
        ),
        ("bad method byte", raw("G(T / HTTP/1.1", close, b""), &[400]),
        ("custom method", raw("PURGE / HTTP/1.1", close, b""), &[200]),
        (
            "leading empty lines",
            raw("\r\n\r\nGET / HTTP/1.1", close, b""),
            &[200],
        ),
    ];
    check_table(addr, &table);
    // A later 1.x is answered as 1.1, and the handler sees 1.1.
    let reply = exchange(addr, &raw("GET /v HTTP/1.2", close, b""));
    assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
    assert!(reply.ends_with("GET /v v1.1 host=Some(\"h\")"), "{reply}");
}

/// The chunk-size lines the issue lists and the HTTP Garden's chunk
/// anomalies, each after one good chunk.
fn bad_chunk_sizes() -> Vec<(String, Vec<u8>)> {
    let mut sizes: Vec<(String, Vec<u8>)> = [
        ("0x5", &b"0x5\r\nhello\r\n"[..]),
        ("+5", b"+5\r\nhello\r\n"),
        ("-5", b"-5\r\nhello\r\n"),
        ("0_5", b"0_5\r\nhello\r\n"),
        ("empty", b"\r\nhello\r\n"),
        ("zz", b"zz\r\nhello\r\n"),
        ("2^64+5", b"10000000000000005\r\nhello\r\n"),
        ("bare CR", b"5\rhello\r\n"),
        ("bare LF", b"5\nhello\r\n"),
        ("CR inside", b"5\r\r\nhello\r\n"),
        ("trailing space", b"5 \r\nhello\r\n"),
        ("trailing tab", b"5\t\r\nhello\r\n"),
        ("leading space", b" 5\r\nhello\r\n"),
        ("empty extension", b"5;\r\nhello\r\n"),
        ("NUL in extension", b"5;a\x00\r\nhello\r\n"),
        ("open quote", b"5;a=\"x\r\nhello\r\n"),
        ("data without CRLF", b"5\r\nhelloXX"),
        ("data too long", b"3\r\nhello\r\n"),
    ]
    .into_iter()
    .map(|(name, bytes)| (name.to_owned(), bytes.to_vec()))
    .collect();
    for len in [8 * 1024, 24 * 1024] {
        let extension = [b"5;".as_slice(), &vec![b'e'; len], b"\r\nhello\r\n"].concat();
        sizes.push((format!("{} KB extension", len / 1024), extension));
    }
    sizes
}

#[test]
fn malformed_chunks_get_400_whoever_meets_them_first() {
    let addr = server();
    let mut wrong = Vec::new();
    for (name, chunk) in bad_chunk_sizes() {
        // The handler reads the body; the server streams it back unread;
        // nobody reads it. Each time the client gets 400 and nothing else.
        for route in ["/read", "/echo", "/ignore"] {
            let body = [b"3\r\nabc\r\n".as_slice(), &chunk, b"0\r\n\r\n"].concat();
            let request = raw(
                &format!("POST {route} HTTP/1.1"),
                "Host: h\r\nTransfer-Encoding: chunked\r\n",
                &body,
            );
            let got = statuses(&exchange(addr, &request));
            if got != [400] {
                wrong.push(format!("{name} to {route}: want [400], got {got:?}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn a_malformed_chunk_arriving_later_still_gets_400_from_a_streaming_echo() {
    let addr = server();
    for route in ["/read", "/echo"] {
        let mut stream = client(addr);
        write!(
            stream,
            "POST {route} HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        .unwrap();
        // The server now waits on the body, holding the echo's head back.
        eventlet_rt::sleep(Duration::from_millis(50));
        stream.write_all(b"0x5\r\nhello\r\n0\r\n\r\n").unwrap();
        let reply = read_to_close(&mut stream);
        assert_eq!(statuses(&reply), [400], "{route}: {reply}");
    }
}

/// A body or trailers over the limits, all in the first read of the
/// server: the echo has sent nothing yet, so it can still answer the status.
#[test]
fn chunked_bodies_over_the_limits_get_413_and_431_from_a_streaming_echo() {
    let addr = start(Server::new(app).max_body_bytes(5000).max_header_bytes(4096));
    let chunk = vec![b'c'; 3000];
    let over = [
        b"bb8\r\n".as_slice(),
        &chunk,
        b"\r\nbb8\r\n",
        &chunk,
        b"\r\n0\r\n\r\n",
    ]
    .concat();
    let trailers: Vec<u8> = (0..100)
        .flat_map(|i| format!("X-Trailer-{i:03}: {}\r\n", "t".repeat(40)).into_bytes())
        .collect();
    let long_trailers = [b"3\r\nabc\r\n0\r\n".as_slice(), &trailers, b"\r\n"].concat();
    for route in ["/read", "/echo"] {
        let request = raw(
            &format!("POST {route} HTTP/1.1"),
            "Host: h\r\nTransfer-Encoding: chunked\r\n",
            &over,
        );
        assert_eq!(statuses(&exchange(addr, &request)), [413], "{route}");
        let request = raw(
            &format!("POST {route} HTTP/1.1"),
            "Host: h\r\nTransfer-Encoding: chunked\r\n",
            &long_trailers,
        );
        assert_eq!(statuses(&exchange(addr, &request)), [431], "{route}");
    }
}

#[test]
fn transfer_encoding_obfuscations_never_frame_a_body() {
    let addr = server();
    let te = |fields: &str| {
        raw(
            "POST /read HTTP/1.1",
            &format!("Host: h\r\n{fields}"),
            b"5\r\nhello\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
        )
    };
    // PortSwigger's Transfer-Encoding obfuscations (HTTP request smuggling),
    // RFC 9112 6.1 and 6.3 (chunked not last: 400; a coding we lack: 501),
    // RFC 9110 5.6.1 (empty list elements are ignored), the HTTP Garden's
    // Transfer-Encoding anomalies.
    let table: Vec<(&str, Vec<u8>, &[u16])> = vec![
        (
            "plain chunked",
            te("Transfer-Encoding: chunked\r\n"),
            &[200, 200],
        ),
        ("CHUNKED", te("Transfer-Encoding: CHUNKED\r\n"), &[200, 200]),
        (
            "tab before value",
            te("Transfer-Encoding:\tchunked\r\n"),
            &[200, 200],
        ),
        ("xchunked", te("Transfer-Encoding: xchunked\r\n"), &[400]),
        (
            "space before colon",
            te("Transfer-Encoding : chunked\r\n"),
            &[400],
        ),
        ("obs-fold", te("Transfer-Encoding:\r\n chunked\r\n"), &[400]),
        (
            "leading space on first field",
            te(" Transfer-Encoding: chunked\r\n"),
            &[400],
        ),
        ("quoted", te("Transfer-Encoding: \"chunked\"\r\n"), &[400]),
        (
            "chunked then another field",
            te("Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n"),
            &[400],
        ),
        (
            "chunked, identity",
            te("Transfer-Encoding: chunked, identity\r\n"),
            &[400],
        ),
        (
            "identity, chunked",
            te("Transfer-Encoding: identity, chunked\r\n"),
            &[501],
        ),
        (
            "empty element",
            te("Transfer-Encoding: ,chunked\r\n"),
            &[200, 200],
        ),
        (
            "with Content-Length",
            te("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"),
            &[400],
        ),
        (
            "HTTP/1.0 chunked",
            raw(
                "POST /read HTTP/1.0",
                "Transfer-Encoding: chunked\r\n",
                b"5\r\nhello\r\n0\r\n\r\n",
            ),
            &[400],
        ),
        ("Content-Length +5", te("Content-Length: +5\r\n"), &[400]),
        ("Content-Length 0x5", te("Content-Length: 0x5\r\n"), &[400]),
        (
            "Content-Length 5, 6",
            te("Content-Length: 5, 6\r\n"),
            &[400],
        ),
        ("Content-Length 1_0", te("Content-Length: 1_0\r\n"), &[400]),
    ];
    check_table(addr, &table);
}

#[test]
fn head_gets_the_get_head_without_a_body() {
    let addr = server();
    let get = exchange(
        addr,
        b"GET /status/200 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    );
    let head = exchange(
        addr,
        b"HEAD /status/200 HTTP/1.1\r\nHost: h\r\n\r\n\
          HEAD /status/200 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(statuses(&head), [200, 200], "{head}");
    let length = |reply: &str| {
        reply
            .lines()
            .find_map(|line| line.strip_prefix("Content-Length: "))
            .map(str::to_owned)
    };
    assert_eq!(length(&get), length(&head), "{get}\n{head}");
    assert!(head.ends_with("\r\n\r\n"), "no body: {head}");
}

#[test]
fn expect_continue_is_answered_before_a_streaming_echo_waits_on_the_body() {
    let addr = server();
    for framing in ["Content-Length: 5", "Transfer-Encoding: chunked"] {
        let mut stream = client(addr);
        write!(
            stream,
            "POST /echo HTTP/1.1\r\nHost: h\r\n{framing}\r\nExpect: 100-continue\r\n\r\n"
        )
        .unwrap();
        let mut interim = [0; 25];
        stream.read_exact(&mut interim).unwrap();
        assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n", "{framing}");
        let body: &[u8] = if framing.starts_with("Content") {
            b"hello"
        } else {
            b"5\r\nhello\r\n0\r\n\r\n"
        };
        stream.write_all(body).unwrap();
        stream
            .write_all(b"GET /next HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
            .unwrap();
        let reply = read_to_close(&mut stream);
        assert_eq!(statuses(&reply), [200, 200], "{reply}");
        assert!(reply.contains("hello"), "{reply}");
    }
}

#[test]
fn earlier_pipelined_answers_go_out_before_the_server_waits_on_a_body() {
    let addr = server();
    let mut stream = client(addr);
    stream
        .write_all(
            b"GET /first HTTP/1.1\r\nHost: h\r\n\r\n\
              POST /read HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n",
        )
        .unwrap();
    // The first answer arrives while the body of the second is still missing.
    let mut first = vec![0; 4096];
    let n = stream.read(&mut first).unwrap();
    let first = String::from_utf8_lossy(&first[..n]);
    assert!(
        first.starts_with("HTTP/1.1 200 OK\r\n") && first.contains("/first"),
        "{first}"
    );
    stream.write_all(b"hello").unwrap();
    let mut second = vec![0; 4096];
    let n = stream.read(&mut second).unwrap();
    assert!(String::from_utf8_lossy(&second[..n]).ends_with("read 5"));
}

#[test]
fn a_1xx_status_from_a_handler_is_a_500_and_the_connection_closes() {
    let addr = server();
    for code in [100, 101, 102, 103] {
        let request = format!(
            "GET /status/{code} HTTP/1.1\r\nHost: h\r\n\r\nGET /after HTTP/1.1\r\nHost: h\r\n\r\n"
        );
        let reply = exchange(addr, request.as_bytes());
        assert_eq!(statuses(&reply), [500], "{code}: {reply}");
        assert!(reply.contains("Connection: close\r\n"), "{reply}");
    }
}

#[test]
fn trailers_arriving_in_pieces_are_read_and_the_connection_goes_on() {
    let addr = server();
    let mut stream = client(addr);
    stream
        .write_all(b"POST /read HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n")
        .unwrap();
    let trailer = format!("X-Long: {}\r\nX-Two: 2\r\n\r\n", "v".repeat(3000));
    for piece in trailer.as_bytes().chunks(97) {
        stream.write_all(piece).unwrap();
        eventlet_rt::sleep(Duration::from_millis(1));
    }
    stream
        .write_all(b"GET /next HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        .unwrap();
    let reply = read_to_close(&mut stream);
    assert_eq!(statuses(&reply), [200, 200], "{reply}");
    assert!(reply.contains("read 3"), "{reply}");
}

#[test]
fn a_body_trickled_below_the_minimum_rate_gets_408_long_before_it_ends() {
    let addr = start(
        Server::new(app)
            .body_read_timeout(Duration::from_millis(400))
            .min_data_rate(1000),
    );
    let mut stream = client(addr);
    stream
        .write_all(b"POST /read HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n")
        .unwrap();
    let mut reader = stream.try_clone().unwrap();
    let reply = eventlet_rt::spawn(move || read_to_close(&mut reader));
    // One byte every 100 ms: each read waits less than the 400 ms timeout,
    // but the body as a whole is far below 1000 bytes a second.
    let started = Instant::now();
    let mut sent = 0;
    while !reply.is_finished() && sent < 100 {
        if stream.write_all(b"x").is_err() {
            break;
        }
        sent += 1;
        eventlet_rt::sleep(Duration::from_millis(100));
    }
    let reply = reply.wait().unwrap();
    assert_eq!(statuses(&reply), [408], "{reply}");
    assert!(sent < 30, "cut off after {sent} bytes");
    assert!(started.elapsed() < Duration::from_secs(5));
}
