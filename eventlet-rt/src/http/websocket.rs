//! WebSocket (RFC 6455) on the HTTP server, Eventlet's
//! `websocket.WebSocketWSGI`: a handler answers a handshake with
//! [`upgrade`], and the closure it gives runs in the connection's green
//! thread with a [`WebSocket`], over plain TCP or TLS alike.
//!
//! The protocol is [`tungstenite`]'s (re-exported, with its [`Message`],
//! [`CloseFrame`], [`Error`] and [`WebSocketConfig`]) on the green
//! connection. Reads block only the green thread and answer pings by
//! themselves. A [`WebSocket`] is a cheap `Clone` handle: one green thread
//! may wait in [`read`](WebSocket::read) while others
//! [`send`](WebSocket::send) on the same connection (a chat room's
//! broadcast), since a read waits for bytes without holding the socket.
//!
//! # Limits
//! [`upgrade`] uses [`default_config`]: messages up to 64 MiB and frames up
//! to 16 MiB (a larger one gets close code 1009 and ends the connection; a
//! frame that breaks the protocol, such as an unmasked one, gets 1002), and
//! a read buffer of 16 KiB per connection. [`upgrade_with_config`] takes
//! others.
//!
//! ```
//! use eventlet_rt::http::websocket::{self, Message};
//! use eventlet_rt::http::{Body, Request, Response, Server};
//!
//! fn app(request: Request) -> Response {
//!     match request.uri().path() {
//!         // An echo: every message back to its sender.
//!         "/ws" => websocket::upgrade(&request, |mut ws| {
//!             while let Ok(message) = ws.read() {
//!                 if (message.is_text() || message.is_binary()) && ws.send(message).is_err() {
//!                     break;
//!                 }
//!             }
//!         }),
//!         _ => Response::new(Body::from("not a socket")),
//!     }
//! }
//!
//! let listener = eventlet_rt::listen("127.0.0.1:0")?;
//! let addr = listener.local_addr()?;
//! eventlet_rt::spawn_n(move || Server::new(app).serve(listener).unwrap());
//!
//! // A client, tungstenite's, on a green socket.
//! let tcp = eventlet_rt::connect(addr)?;
//! let (mut client, _) = websocket::tungstenite::client(format!("ws://{addr}/ws"), tcp).unwrap();
//! client.send(Message::text("hello")).unwrap();
//! assert_eq!(client.read().unwrap(), Message::text("hello"));
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fmt;
use std::io::{self, Read, Write};
use std::rc::Rc;

use ::http::header::{self, HeaderValue};
use ::http::{Method, StatusCode, Version};
pub use tungstenite;
use tungstenite::protocol::Role;
pub use tungstenite::protocol::frame::coding::CloseCode;
pub use tungstenite::protocol::{CloseFrame, WebSocketConfig};
pub use tungstenite::{Error, Message};

use super::server::{Request, Response, Upgraded, switch_protocols};
use crate::green::sync::Mutex;

/// A WebSocket connection, server side: the handle the closure given to
/// [`upgrade`] gets. Clones share the connection.
///
/// See the [module](self) for an example.
#[derive(Clone)]
pub struct WebSocket {
    shared: Rc<Shared>,
}

struct Shared {
    socket: Mutex<tungstenite::WebSocket<Feed>>,
    connection: Upgraded,
}

/// What tungstenite reads from and writes to: reads never wait (the
/// [`WebSocket`] waits, without holding the socket), writes do.
struct Feed(Upgraded);

impl Read for Feed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.try_read(buf)
    }
}

impl Write for Feed {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_shared(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush_shared()
    }
}

impl WebSocket {
    fn new(connection: Upgraded, config: WebSocketConfig) -> WebSocket {
        let feed = Feed(connection.share());
        let socket = tungstenite::WebSocket::from_raw_socket(feed, Role::Server, Some(config));
        WebSocket {
            shared: Rc::new(Shared {
                socket: Mutex::new(socket),
                connection,
            }),
        }
    }

    /// The next message from the client: text, binary, ping, pong, or its
    /// close frame. Blocks only this green thread; a ping is answered with
    /// its pong by the read itself. After the close handshake (or when the
    /// client is gone) it gives `Err(Error::ConnectionClosed)` or
    /// `Err(Error::AlreadyClosed)`; a frame or message over the limits,
    /// `Err(Error::Capacity(..))`.
    ///
    /// See the [module](self) for an example.
    pub fn read(&mut self) -> Result<Message, Error> {
        loop {
            let mut socket = self.socket();
            match socket.read() {
                Err(Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(error @ (Error::Capacity(_) | Error::Protocol(_))) => {
                    // RFC 6455 7.4.1: say why before the connection ends.
                    let code = match error {
                        Error::Capacity(_) => CloseCode::Size,
                        _ => CloseCode::Protocol,
                    };
                    let frame = CloseFrame {
                        code,
                        reason: "".into(),
                    };
                    if socket.close(Some(frame)).is_ok() {
                        let _ = socket.flush();
                    }
                    return Err(error);
                }
                outcome => return outcome,
            }
            drop(socket);
            // Wait for bytes holding nothing, so that others can send.
            self.shared.connection.wait_readable()?;
        }
    }

    /// Sends `message` (and flushes it). Blocks only this green thread,
    /// until the client has taken the bytes into its socket buffer.
    ///
    /// See the [module](self) for an example.
    pub fn send(&mut self, message: Message) -> Result<(), Error> {
        self.socket().send(message)
    }

    /// Starts the close handshake with `frame` (a code and a reason; `None`:
    /// no code). Keep reading until `read` gives an error to see the
    /// client's answer; the server closes the connection when the closure
    /// given to [`upgrade`] returns.
    ///
    /// ```
    /// use eventlet_rt::http::websocket::{self, CloseCode, CloseFrame, Message};
    /// use eventlet_rt::http::Server;
    ///
    /// let listener = eventlet_rt::listen("127.0.0.1:0")?;
    /// let addr = listener.local_addr()?;
    /// let server = Server::new(|request| {
    ///     websocket::upgrade(&request, |mut ws| {
    ///         let frame = CloseFrame { code: CloseCode::Policy, reason: "go away".into() };
    ///         ws.close(Some(frame)).unwrap();
    ///         while ws.read().is_ok() {}
    ///     })
    /// });
    /// eventlet_rt::spawn_n(move || server.serve(listener).unwrap());
    ///
    /// let tcp = eventlet_rt::connect(addr)?;
    /// let (mut client, _) = websocket::tungstenite::client(format!("ws://{addr}/"), tcp).unwrap();
    /// match client.read().unwrap() {
    ///     Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Policy),
    ///     other => panic!("{other:?}"),
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn close(&mut self, frame: Option<CloseFrame>) -> Result<(), Error> {
        self.socket().close(frame)
    }

    fn socket(&self) -> crate::green::sync::MutexGuard<'_, tungstenite::WebSocket<Feed>> {
        // A panic elsewhere while sending leaves the socket as usable as an
        // I/O error would.
        self.shared
            .socket
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl fmt::Debug for WebSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocket").finish_non_exhaustive()
    }
}

/// Answers a WebSocket handshake: `101 Switching Protocols`, then `f` runs
/// with the [`WebSocket`] in the connection's green thread, and the
/// connection closes when `f` returns. A request that is not a valid
/// handshake (RFC 6455 4.2.1) gets its 4xx and `f` never runs:
///
/// - not `GET`: `405` (with `Allow: GET`);
/// - no `Upgrade: websocket`: `426 Upgrade Required` (with `Upgrade: websocket`);
/// - `Sec-WebSocket-Version` other than 13: `426` (with `Sec-WebSocket-Version: 13`);
/// - HTTP/1.0, no `Connection: upgrade`, or a missing, repeated or
///   malformed `Sec-WebSocket-Key`: `400`.
///
/// Limits: [`default_config`] (see the [module](self)). `f` needs
/// no `Send`, even when the server runs on many hubs: it runs on the hub of
/// its connection.
///
/// See the [module](self) for an example.
pub fn upgrade(request: &Request, f: impl FnOnce(WebSocket) + 'static) -> Response {
    upgrade_with_config(request, default_config(), f)
}

/// The limits [`upgrade`] uses: tungstenite's defaults (messages up to
/// 64 MiB, frames up to 16 MiB, unmasked client frames refused), with a
/// read buffer of 16 KiB instead of 128 KiB, since every open connection
/// holds one.
///
/// ```
/// let config = eventlet_rt::http::websocket::default_config();
/// assert_eq!(config.max_message_size, Some(64 << 20));
/// assert_eq!(config.read_buffer_size, 16 << 10);
/// ```
pub fn default_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(16 << 10)
}

/// [`upgrade`] with other limits than the default ones.
///
/// ```
/// use eventlet_rt::http::websocket;
///
/// let small = websocket::default_config().max_message_size(Some(64 << 10)).max_frame_size(Some(16 << 10));
/// let server = eventlet_rt::http::Server::new(move |request| {
///     websocket::upgrade_with_config(&request, small, |mut ws| while ws.read().is_ok() {})
/// });
/// # drop(server);
/// ```
pub fn upgrade_with_config(
    request: &Request,
    config: WebSocketConfig,
    f: impl FnOnce(WebSocket) + 'static,
) -> Response {
    let accept = match accept_key(request) {
        Ok(accept) => accept,
        Err(refusal) => return refusal.response(),
    };
    let mut response = Response::default();
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    switch_protocols(response, move |connection| {
        f(WebSocket::new(connection, config))
    })
}

/// Why a request is not a WebSocket handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    NotGet,
    NoUpgrade,
    OtherVersion,
    Malformed,
}

impl Refusal {
    /// The answer: its status and the headers RFC 6455 and 9110 ask for.
    fn response(self) -> Response {
        let (status, text) = match self {
            Refusal::NotGet => (
                StatusCode::METHOD_NOT_ALLOWED,
                "a WebSocket handshake is a GET\n",
            ),
            Refusal::NoUpgrade => (
                StatusCode::UPGRADE_REQUIRED,
                "this is a WebSocket endpoint\n",
            ),
            Refusal::OtherVersion => (StatusCode::UPGRADE_REQUIRED, "WebSocket version 13 only\n"),
            Refusal::Malformed => (StatusCode::BAD_REQUEST, "not a valid WebSocket handshake\n"),
        };
        let mut response = Response::new(text.into());
        *response.status_mut() = status;
        let headers = response.headers_mut();
        match self {
            Refusal::NotGet => {
                headers.insert(header::ALLOW, HeaderValue::from_static("GET"));
            }
            Refusal::NoUpgrade => {
                headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
                headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
            }
            Refusal::OtherVersion => {
                headers.insert(
                    header::SEC_WEBSOCKET_VERSION,
                    HeaderValue::from_static("13"),
                );
            }
            Refusal::Malformed => {}
        }
        response
    }
}

/// The `Sec-WebSocket-Accept` for a valid handshake, or why it is refused.
fn accept_key(request: &Request) -> Result<HeaderValue, Refusal> {
    let headers = request.headers();
    let has_token = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|value| {
            value
                .as_bytes()
                .split(|&b| b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
        })
    };
    if request.method() != Method::GET {
        return Err(Refusal::NotGet);
    }
    if !has_token(header::UPGRADE, "websocket") {
        return Err(Refusal::NoUpgrade);
    }
    if request.version() != Version::HTTP_11 || !has_token(header::CONNECTION, "upgrade") {
        return Err(Refusal::Malformed);
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        return Err(Refusal::OtherVersion);
    }
    let mut keys = headers.get_all(header::SEC_WEBSOCKET_KEY).iter();
    let (Some(key), None) = (keys.next(), keys.next()) else {
        return Err(Refusal::Malformed);
    };
    if !is_nonce(key.as_bytes()) {
        return Err(Refusal::Malformed);
    }
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    HeaderValue::from_str(&accept).map_err(|_| Refusal::Malformed)
}

/// Whether `key` is base64 of 16 bytes (RFC 6455 4.1): 22 characters of
/// the alphabet, the last one with its low four bits zero, then `==`.
fn is_nonce(key: &[u8]) -> bool {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    match key {
        [digits @ .., last, b'=', b'='] if digits.len() == 21 => {
            digits.iter().all(|b| ALPHABET.contains(b)) && b"AQgw".contains(last)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces() {
        assert!(is_nonce(b"dGhlIHNhbXBsZSBub25jZQ=="), "RFC 6455's example");
        for bad in [
            &b""[..],
            b"dGhlIHNhbXBsZSBub25jZQ=",
            b"dGhlIHNhbXBsZSBub25jZR==",
            b"dGhlIHNhbXBsZSBub25j*Q==",
            b"dGhlIHNhbXBsZSBub25jZQ==A",
        ] {
            assert!(!is_nonce(bad), "{bad:?}");
        }
    }

    #[test]
    fn the_accept_key_of_rfc_6455s_example() {
        let request = ::http::Request::builder()
            .header("upgrade", "websocket")
            .header("connection", "keep-alive, Upgrade")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .body(crate::http::Body::empty())
            .unwrap();
        assert_eq!(
            accept_key(&request).unwrap(),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}
