//! A chat room in the browser (Eventlet's `websocket_chat` example): `GET /`
//! serves a page whose script joins `/chat` over WebSocket; every line one
//! visitor sends reaches everyone in the room. One hub, one green thread per
//! visitor, the room an `Rc<RefCell<..>>` with no lock: a visitor's green
//! thread sends to the others' sockets while they wait in `read`.
//!
//! ```text
//! cargo run --release -p eventlet-examples --bin chat_page                # port 7000
//! cargo run --release -p eventlet-examples --bin chat_page -- --port 0    # any free port
//! ```
//!
//! The first line printed is `listening on http://HOST:PORT/`; open it in
//! two browser windows. `/chat?name=NAME` chooses the name shown.

use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;

use clap::Parser;
use eventlet_rt::http::header::{CONTENT_TYPE, HeaderValue};
use eventlet_rt::http::websocket::{self, Message, WebSocket};
use eventlet_rt::http::{Body, Method, Request, Response, Server, StatusCode};

const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>eventlet-rs chat</title></head>
<body>
<h1>Chat (WebSocket on green threads)</h1>
<div id="log" style="height:20em;overflow:auto;border:1px solid #888"></div>
<form id="say"><input id="line" autocomplete="off" size="60"><button>Send</button></form>
<script>
const name = prompt("Your name?") || "anonymous";
const scheme = location.protocol === "https:" ? "wss://" : "ws://";
const ws = new WebSocket(scheme + location.host + "/chat?name=" + encodeURIComponent(name));
const log = document.getElementById("log");
ws.onmessage = (event) => {
  const line = document.createElement("div");
  line.textContent = event.data;
  log.appendChild(line);
  log.scrollTop = log.scrollHeight;
};
document.getElementById("say").onsubmit = (event) => {
  event.preventDefault();
  const input = document.getElementById("line");
  if (input.value) { ws.send(input.value); input.value = ""; }
};
</script>
</body></html>
"#;

/// Who is in the room: an id (to find one's own entry) and a socket to send to.
type Room = Rc<RefCell<Vec<(u64, WebSocket)>>>;

/// Sends `line` to everyone in the room; a visitor whose socket fails leaves.
fn broadcast(room: &Room, line: &str) {
    // Clone the handles first: a send may park this green thread, and
    // others join or leave meanwhile.
    let members = room.borrow().clone();
    for (id, mut socket) in members {
        if socket.send(Message::text(line.to_owned())).is_err() {
            room.borrow_mut().retain(|(other, _)| *other != id);
        }
    }
}

/// One visitor: joins, relays each line it sends, leaves.
fn visit(room: Room, id: u64, name: String, mut socket: WebSocket) {
    room.borrow_mut().push((id, socket.clone()));
    broadcast(&room, &format!("* {name} joined"));
    loop {
        match socket.read() {
            Ok(Message::Text(text)) => broadcast(&room, &format!("{name}: {}", text.as_str())),
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => {}
        }
    }
    room.borrow_mut().retain(|(other, _)| *other != id);
    broadcast(&room, &format!("* {name} left"));
}

fn app(room: Room, next_id: Rc<Cell<u64>>) -> impl Fn(Request) -> Response {
    move |request: Request| match (request.method(), request.uri().path()) {
        (&Method::GET | &Method::HEAD, "/") => {
            let mut response = Response::new(Body::from(PAGE));
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            response
        }
        (_, "/chat") => {
            let name = request
                .uri()
                .query()
                .and_then(|query| query.split('&').find_map(|pair| pair.strip_prefix("name=")))
                .filter(|name| !name.is_empty())
                .unwrap_or("anonymous")
                .to_owned();
            let id = next_id.get();
            next_id.set(id + 1);
            let room = room.clone();
            websocket::upgrade(&request, move |socket| visit(room, id, name, socket))
        }
        _ => {
            let mut response = Response::new(Body::from("not found\n"));
            *response.status_mut() = StatusCode::NOT_FOUND;
            response
        }
    }
}

/// A chat room in the browser, over WebSocket.
#[derive(Parser, Debug)]
struct Options {
    /// The address to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    host: String,
    /// The port to listen on (0: any free port).
    #[arg(long, default_value_t = 7000)]
    port: u16,
}

fn main() -> io::Result<()> {
    let Options { host, port } = Options::parse();
    let listener = eventlet_rt::listen((host.as_str(), port))?;
    println!("listening on http://{}/", listener.local_addr()?);
    let server = Server::new(app(Room::default(), Rc::default()));
    server.serve(listener)
}
