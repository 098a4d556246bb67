//! `GreenConnector`: opens ureq's connections with green connects.

use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use ureq::Error;
use ureq::unversioned::transport::{ConnectionDetails, Connector, Either, LazyBuffers, Transport};

use super::homed::HomedSource;
use super::transport::{GreenTransport, Socket, deadline, ureq_error};
use crate::green::net::connect_outcome;
use crate::hub::Direction;

/// The link of a ureq connector chain that opens TCP connections green: the
/// connect parks only the calling green thread, and the resulting
/// [`GreenTransport`] does the same for every read and write. ureq's own
/// `RustlsConnector` goes after it for `https://`.
///
/// [`agent`](super::agent) builds the whole chain; build your own to add
/// links:
///
/// ```
/// use eventlet_rt::http::{GreenConnector, GreenResolver, ureq};
/// use ureq::unversioned::transport::{Connector, RustlsConnector};
///
/// let connector = ().chain(GreenConnector::default()).chain(RustlsConnector::default());
/// let agent = ureq::Agent::with_parts(ureq::Agent::config_builder().build(), connector, GreenResolver::default());
/// # drop(agent);
/// ```
#[derive(Debug, Default)]
pub struct GreenConnector(());

impl<In: Transport> Connector<In> for GreenConnector {
    type Out = Either<In, GreenTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, Error> {
        if let Some(transport) = chained {
            // An earlier link (a proxy) already connected.
            return Ok(Some(Either::A(transport)));
        }
        let deadline = deadline(details.timeout)?;
        let mut last_error = None;
        for &addr in &details.addrs {
            match connect(addr, deadline) {
                Ok(socket) => {
                    let config = details.config;
                    if config.no_delay() {
                        socket.source().0.set_nodelay(true)?;
                    }
                    let buffers =
                        LazyBuffers::new(config.input_buffer_size(), config.output_buffer_size());
                    let transport = GreenTransport::new(socket, buffers);
                    (details.register_shutdown)(transport.shutdown_handle())?;
                    return Ok(Some(Either::B(transport)));
                }
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                    return Err(ureq_error(e, details.timeout));
                }
                // Refused, unreachable...: the next address may still answer.
                Err(e) => last_error = Some(e),
            }
        }
        Err(Error::Io(last_error.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::ConnectionRefused, "no address to connect to")
        })))
    }
}

/// A green connect to `addr`, registered with this thread's hub.
fn connect(addr: SocketAddr, deadline: Option<Instant>) -> io::Result<HomedSource<Socket>> {
    let socket = HomedSource::new(Socket(mio::net::TcpStream::connect(addr)?))?;
    socket.run(Direction::Write, deadline, |socket| {
        connect_outcome(&socket.0)
    })?;
    Ok(socket)
}
