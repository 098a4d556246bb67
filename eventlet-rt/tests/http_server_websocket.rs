//! WebSocket on the HTTP server against an independent client: Python's
//! `websockets` (PyPI; `.ci/run` installs it), run as a child process on
//! the thread pool while the server runs on this thread's hub. Outside CI a
//! missing `websockets` skips these tests with a message; in CI it fails.

mod http_server_support;

use std::cell::RefCell;
use std::io::{Read, Write};
use std::process::Command;
use std::rc::Rc;

use eventlet_rt::green::net::SocketAddr;
use eventlet_rt::green::tls::TlsAcceptor;
use eventlet_rt::http::websocket::{self, CloseCode, CloseFrame, Message, WebSocket};
use eventlet_rt::http::{Body, Request, Response, Server, StatusCode};
use http_server_support::{exchange, statuses};

/// What the server saw: close codes received, closures run.
#[derive(Default)]
struct Log {
    closes: Vec<u16>,
    sockets_opened: usize,
}

/// `/echo` (and `/small`, with messages up to 1 MiB) sends every text and
/// binary message back; `/close` closes at
/// once with 4001 "bye"; `/room` sends every message to every socket in the
/// room (from the green thread of the one that sent it, while the others
/// wait in `read`).
fn app(log: Rc<RefCell<Log>>) -> impl Fn(Request) -> Response {
    let room: Rc<RefCell<Vec<WebSocket>>> = Rc::default();
    move |request: Request| {
        let path = request.uri().path().to_owned();
        let (log, room) = (log.clone(), room.clone());
        let on_socket = move |mut ws: WebSocket| {
            log.borrow_mut().sockets_opened += 1;
            match path.as_str() {
                "/close" => {
                    let frame = CloseFrame {
                        code: CloseCode::Library(4001),
                        reason: "bye".into(),
                    };
                    ws.close(Some(frame)).unwrap();
                    while ws.read().is_ok() {}
                }
                "/room" => {
                    room.borrow_mut().push(ws.clone());
                    while let Ok(message) = ws.read() {
                        if message.is_text() {
                            let members = room.borrow().clone();
                            for mut member in members {
                                let _ = member.send(message.clone());
                            }
                        }
                    }
                }
                _ => loop {
                    match ws.read() {
                        Ok(message @ (Message::Text(_) | Message::Binary(_))) => {
                            if ws.send(message).is_err() {
                                break;
                            }
                        }
                        Ok(Message::Close(frame)) => {
                            let code = frame.map_or(1005, |frame| u16::from(frame.code));
                            log.borrow_mut().closes.push(code);
                        }
                        Ok(_) => {}
                        Err(_) => break,
                    }
                },
            }
        };
        match request.uri().path() {
            "/echo" | "/close" | "/room" => websocket::upgrade(&request, on_socket),
            "/small" => {
                let limits = websocket::default_config().max_message_size(Some(1 << 20));
                websocket::upgrade_with_config(&request, limits, on_socket)
            }
            _ => Response::new(Body::from("plain page")),
        }
    }
}

/// Whether Python's `websockets` can be imported; outside CI its absence
/// skips the test with a message, in CI it fails.
fn websockets_available() -> bool {
    let found = Command::new("python3")
        .args(["-c", "import websockets"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !found {
        if std::env::var("CI").is_ok_and(|ci| ci == "true") {
            panic!("Python's websockets is missing in CI: .ci/run must `pip install websockets`");
        }
        eprintln!(
            "\n*** SKIPPED: Python's websockets not found; `pip install websockets` to run this test ***\n"
        );
    }
    found
}

/// Runs `script` with `args` on the thread pool (this hub keeps serving
/// meanwhile); its standard output, or a panic with its standard error.
fn python(script: &'static str, args: Vec<String>) -> String {
    let output = eventlet_rt::tpool::execute(move || {
        Command::new("timeout")
            .arg("60")
            .arg("python3")
            .arg("-c")
            .arg(script)
            .args(args)
            .output()
    })
    .expect("run python3");
    assert!(
        output.status.success(),
        "python failed: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn start_plain(log: &Rc<RefCell<Log>>) -> SocketAddr {
    http_server_support::start(Server::new(app(log.clone())))
}

const CLIENT: &str = r#"
import asyncio, sys
from websockets import connect
from websockets.exceptions import ConnectionClosed

base = sys.argv[1]
ssl = None
if len(sys.argv) > 2:
    import ssl as ssl_module
    ssl = ssl_module.create_default_context(cafile=sys.argv[2])

def kw():
    return {"ssl": ssl} if ssl else {}

async def one_client(i):
    async with connect(base + "/echo", max_size=None, **kw()) as ws:
        await ws.send(f"text {i}")
        assert await ws.recv() == f"text {i}"
        data = bytes([i % 256]) * (1000 + i)
        await ws.send(data)
        assert await ws.recv() == data
    return i

async def main():
    # Many clients at once.
    done = await asyncio.gather(*(one_client(i) for i in range(50)))
    print("clients", len(done))

    async with connect(base + "/echo", max_size=None, **kw()) as ws:
        # A fragmented message comes back whole.
        await ws.send(["frag", "ment", "ed"])
        print("fragmented", await ws.recv())
        await ws.send([b"\x00\x01", b"\x02"])
        print("fragmented binary", list(await ws.recv()))
        # 1 MiB, binary and text.
        big = bytes(range(256)) * 4096
        await ws.send(big)
        print("1 MiB binary", await ws.recv() == big)
        text = "é" * (512 * 1024)
        await ws.send(text)
        print("1 MiB text", await ws.recv() == text)
        # Ping: the server's read answers it.
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 10)
        print("pong")
        # The client closes with 4000; the server logs it and answers.
        await ws.close(4000, "done here")
        print("client close", ws.close_code, ws.close_reason)

    # Over the server's limit: close code 1009.
    async with connect(base + "/small", max_size=None, **kw()) as ws:
        await ws.send(b"x" * (2 << 20))
        try:
            await ws.recv()
        except ConnectionClosed as closed:
            print("too big", closed.rcvd.code)

    async with connect(base + "/close", **kw()) as ws:
        try:
            await ws.recv()
        except ConnectionClosed as closed:
            print("server close", closed.rcvd.code, closed.rcvd.reason)

    # Three members of a room; one speaks, all three hear it.
    members = [await connect(base + "/room", **kw()) for _ in range(3)]
    await asyncio.sleep(0.2)
    await members[0].send("hello room")
    heard = await asyncio.gather(*(m.recv() for m in members))
    print("room", heard)
    for m in members:
        await m.close()

asyncio.run(main())
"#;

const EXPECTED: &str = "clients 50\n\
    fragmented fragmented\n\
    fragmented binary [0, 1, 2]\n\
    1 MiB binary True\n\
    1 MiB text True\n\
    pong\n\
    client close 4000 done here\n\
    too big 1009\n\
    server close 4001 bye\n\
    room ['hello room', 'hello room', 'hello room']\n";

#[test]
fn python_websockets_echoes_fragments_1_mib_pings_and_close_codes_with_many_clients() {
    if !websockets_available() {
        return;
    }
    let log = Rc::new(RefCell::new(Log::default()));
    let addr = start_plain(&log);
    let output = python(CLIENT, vec![format!("ws://{addr}")]);
    assert_eq!(output, EXPECTED);
    assert!(
        log.borrow().closes.contains(&4000),
        "{:?}",
        log.borrow().closes
    );
    assert_eq!(log.borrow().sockets_opened, 50 + 1 + 1 + 1 + 3);
}

#[test]
fn the_same_over_tls() {
    if !websockets_available() {
        return;
    }
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let key = cert.signing_key.serialize_der().try_into().unwrap();
    let acceptor = TlsAcceptor::with_single_cert(vec![cert.cert.der().clone()], key).unwrap();
    let pem = std::env::temp_dir().join(format!("eventlet-ws-{}.pem", std::process::id()));
    std::fs::write(&pem, cert.cert.pem()).unwrap();
    let log = Rc::new(RefCell::new(Log::default()));
    let listener = eventlet_rt::listen("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = Server::new(app(log.clone()));
    eventlet_rt::spawn_n(move || server.serve_tls(listener, acceptor).unwrap());
    let output = python(
        CLIENT,
        vec![format!("wss://localhost:{port}"), pem.display().to_string()],
    );
    let _ = std::fs::remove_file(&pem);
    assert_eq!(output, EXPECTED);
    assert!(log.borrow().closes.contains(&4000));
}

#[test]
fn bad_handshakes_are_refused_and_the_closure_never_runs() {
    let log = Rc::new(RefCell::new(Log::default()));
    let addr = start_plain(&log);
    let key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    let good = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n";
    let handshake =
        |request_line: &str, fields: &str| format!("{request_line}\r\nHost: h\r\n{fields}\r\n");
    // RFC 6455 4.2.1 and 4.4: each part of the handshake missing or wrong.
    let table = [
        (
            "POST",
            handshake("POST /echo HTTP/1.1", &format!("{good}{key}")),
            405,
        ),
        (
            "no Upgrade",
            handshake(
                "GET /echo HTTP/1.1",
                &format!("Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n{key}"),
            ),
            426,
        ),
        (
            "Upgrade: h2c",
            handshake(
                "GET /echo HTTP/1.1",
                &format!(
                    "Upgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n{key}"
                ),
            ),
            426,
        ),
        (
            "no Connection: upgrade",
            handshake(
                "GET /echo HTTP/1.1",
                &format!("Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n{key}"),
            ),
            400,
        ),
        (
            "version 8",
            handshake(
                "GET /echo HTTP/1.1",
                &format!(
                    "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 8\r\n{key}"
                ),
            ),
            426,
        ),
        (
            "no version",
            handshake(
                "GET /echo HTTP/1.1",
                &format!("Upgrade: websocket\r\nConnection: Upgrade\r\n{key}"),
            ),
            426,
        ),
        ("no key", handshake("GET /echo HTTP/1.1", good), 400),
        (
            "short key",
            handshake(
                "GET /echo HTTP/1.1",
                &format!("{good}Sec-WebSocket-Key: c2hvcnQ=\r\n"),
            ),
            400,
        ),
        (
            "two keys",
            handshake("GET /echo HTTP/1.1", &format!("{good}{key}{key}")),
            400,
        ),
        (
            "HTTP/1.0",
            handshake("GET /echo HTTP/1.0", &format!("{good}{key}")),
            400,
        ),
    ];
    let first_reply = |request: String| {
        let mut stream = http_server_support::client(addr);
        stream.write_all(request.as_bytes()).unwrap();
        let mut reply = vec![0; 4096];
        let n = stream.read(&mut reply).unwrap();
        String::from_utf8_lossy(&reply[..n]).into_owned()
    };
    for (name, request, want) in table {
        let reply = first_reply(request);
        assert_eq!(statuses(&reply), [want], "{name}: {reply}");
    }
    assert_eq!(log.borrow().sockets_opened, 0, "no closure ran");
    // A good handshake on the same server is answered with 101 and the accept key.
    let reply = first_reply(handshake("GET /close HTTP/1.1", &format!("{good}{key}")));
    assert!(
        reply.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{reply}"
    );
    assert!(
        reply.contains("sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
        "{reply}"
    );
    assert_eq!(log.borrow().sockets_opened, 1);
}

#[test]
fn a_handler_that_returns_101_without_an_upgrade_gets_a_500() {
    let addr = http_server_support::start(Server::new(|_| {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        response
    }));
    let reply = exchange(addr, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(statuses(&reply), [500], "{reply}");
}
