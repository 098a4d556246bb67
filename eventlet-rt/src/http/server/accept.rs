//! Serving on one hub: the accept loop, the table of open connections (for
//! the connection limit and the graceful shutdown), and the shutdown itself.

use std::cell::{Cell, RefCell};
use std::io::{self, Write};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use ::http::StatusCode;
use slab::Slab;

use super::conn::{self, ConnState};
use super::date;
use super::encode;
use super::limits::Settings;
use super::raw::RawHandler;
use super::shutdown::ShutdownHandle;
use super::spares::Spares;
use super::{Request, Response};
use crate::green::mpsc;
use crate::green::net::{SocketAddr, TcpListener, TcpStream};
use crate::green::tls::TlsAcceptor;
use crate::{Builder, Event, GreenThread};

/// A server's part on one hub.
pub(crate) struct HubServer<H> {
    pub(crate) settings: Rc<Settings>,
    /// Buffers of this hub's connections waiting for a request.
    spares: Rc<Spares>,
    /// Called in place on every connection of this hub (not through a
    /// `dyn` pointer, whose call would move each request once more).
    pub(crate) handler: H,
    pub(crate) raw: Option<Arc<RawHandler>>,
    pub(crate) tls: Option<TlsAcceptor>,
    conns: RefCell<Slab<Conn>>,
    closing: Rc<Cell<bool>>,
    drained: Event<()>,
}

struct Conn {
    thread: Option<GreenThread<()>>,
    state: Rc<ConnState>,
}

impl<H> HubServer<H> {
    pub(crate) fn new(
        settings: Settings,
        handler: H,
        raw: Option<Arc<RawHandler>>,
        tls: Option<TlsAcceptor>,
    ) -> HubServer<H> {
        HubServer {
            settings: Rc::new(settings),
            spares: Rc::default(),
            handler,
            raw,
            tls,
            conns: RefCell::new(Slab::new()),
            closing: Rc::new(Cell::new(false)),
            drained: Event::new(),
        }
    }
}

/// Serves `listener` on the calling thread's hub until `shutdown` (then
/// `Ok`, after the graceful close) or an accept error.
#[track_caller]
pub(crate) fn serve_hub<H: Fn(Request) -> Response + 'static>(
    listener: TcpListener,
    server: HubServer<H>,
    shutdown: &ShutdownHandle,
) -> io::Result<()> {
    let server = Rc::new(server);
    let (done, outcome) = mpsc::channel();
    let acceptor = {
        let (server, done) = (server.clone(), done.clone());
        Builder::new()
            .name("http accept")
            .spawn(move || drop(done.send(accept_loop(listener, &server))))
    };
    let watcher = {
        let shutdown = shutdown.clone();
        crate::spawn(move || {
            shutdown.wait();
            let _ = done.send(Ok(()));
        })
    };
    let outcome = outcome.recv().unwrap_or(Ok(()));
    acceptor.kill();
    watcher.kill();
    crate::yield_now(); // the listener closes as the accept loop unwinds
    if outcome.is_ok() {
        close_gracefully(&server);
    }
    outcome
}

fn accept_loop<H: Fn(Request) -> Response + 'static>(
    listener: TcpListener,
    server: &Rc<HubServer<H>>,
) -> io::Result<()> {
    // Out of descriptors: back off and keep the connections (see `AcceptBackoff`).
    let mut backoff = crate::AcceptBackoff::new();
    loop {
        let (stream, peer) = backoff.accept(&listener)?;
        if server.conns.borrow().len() >= server.settings.max_connections {
            shed(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        spawn_connection(server, stream, peer);
    }
}

/// Past the connection limit: `503` and close, without a green thread.
fn shed(stream: TcpStream) {
    let mut answer = Vec::with_capacity(160);
    encode::encode_error(&mut answer, StatusCode::SERVICE_UNAVAILABLE, &date::now());
    // A fresh socket's send buffer is empty: this write does not wait.
    let _ = stream.set_write_timeout(Some(Duration::from_millis(10)));
    let _ = (&stream).write(&answer);
}

fn spawn_connection<H: Fn(Request) -> Response + 'static>(
    server: &Rc<HubServer<H>>,
    stream: TcpStream,
    peer: SocketAddr,
) {
    let state = Rc::new(ConnState {
        closing: server.closing.clone(),
        idle: Cell::new(true),
    });
    let key = server.conns.borrow_mut().insert(Conn {
        thread: None,
        state: state.clone(),
    });
    let span = tracing::debug_span!(target: "eventlet_rt::http", "connection", peer = %peer);
    let thread = {
        let server = server.clone();
        Builder::new().span(span).spawn(move || {
            let _registered = Registered {
                server: &server,
                key,
            };
            // The frames above are not touched again until the connection
            // ends: the prefetch before each resume skips them.
            crate::hub::mark_stack_loop();
            match &server.tls {
                None => conn::run(
                    stream,
                    &server.settings,
                    &server.spares,
                    &server.handler,
                    server.raw.as_deref(),
                    &state,
                ),
                Some(acceptor) => serve_tls(acceptor, stream, &server, &state),
            }
        })
    };
    if let Some(conn) = server.conns.borrow_mut().get_mut(key) {
        conn.thread = Some(thread);
    }
}

/// Serves a TLS connection after its handshake. Not inlined into the
/// connection's green thread: the handshake's large frame would sit on every
/// plain connection's stack too, above the frames its requests run in.
#[inline(never)]
fn serve_tls<H: Fn(Request) -> Response + 'static>(
    acceptor: &TlsAcceptor,
    stream: TcpStream,
    server: &HubServer<H>,
    state: &ConnState,
) {
    let handshake = stream
        .set_read_timeout(Some(server.settings.header_read_timeout))
        .and_then(|()| acceptor.accept(stream));
    if let Ok(tls) = handshake {
        conn::run(
            tls,
            &server.settings,
            &server.spares,
            &server.handler,
            server.raw.as_deref(),
            state,
        );
    }
}

/// A connection's entry in the table, removed when its green thread ends.
struct Registered<'a, H> {
    server: &'a HubServer<H>,
    key: usize,
}

impl<H> Drop for Registered<'_, H> {
    fn drop(&mut self) {
        let mut conns = self.server.conns.borrow_mut();
        conns.try_remove(self.key);
        if conns.is_empty() && self.server.closing.get() && !self.server.drained.ready() {
            self.server.drained.send(());
        }
    }
}

/// Closes the idle connections, lets those in flight finish within the
/// grace period, then closes the rest.
fn close_gracefully<H>(server: &HubServer<H>) {
    server.closing.set(true);
    let kill = |only_idle: bool| {
        for (_, conn) in server.conns.borrow().iter() {
            if !only_idle || conn.state.idle.get() {
                conn.thread.as_ref().map(GreenThread::kill);
            }
        }
    };
    kill(true);
    if !server.conns.borrow().is_empty() {
        server.drained.wait_timeout(server.settings.shutdown_grace);
    }
    kill(false);
    // Killed green threads unwind the next time the hub runs them.
    while !server.conns.borrow().is_empty() {
        crate::yield_now();
    }
}
