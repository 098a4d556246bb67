//! Green versions of std modules (Eventlet's `eventlet.green`): the same
//! items with the same signatures, whose blocking calls park only the calling
//! green thread while the hub runs the others.
//!
//! - [`net`] mirrors `std::net`: TCP and UDP sockets, green name resolution.
//! - [`thread`] mirrors `std::thread`: `spawn`, `sleep`, `yield_now`, `JoinHandle::join`.
//! - [`mpsc`] mirrors `std::sync::mpsc`: channels over green queues.
//! - [`sync`] mirrors `std::sync`: `Mutex`, `RwLock`, `Condvar`, `Barrier` for green threads.
//! - [`tls`] (feature `tls`, on by default) is Eventlet's `green.ssl`: TLS
//!   client and server streams on rustls.
//!
//! `#[green]` rewrites paths into `std::net`, `std::thread` and `std::sync` to these
//! modules, so blocking-style std code turns green at compile time; they can
//! also be used directly.
//!
//! ```
//! use eventlet_rt::green::{net::TcpListener, thread};
//!
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let port = listener.local_addr()?.port();
//! let server = thread::spawn(move || listener.accept().map(|(_, addr)| addr));
//! let client = eventlet_rt::green::net::TcpStream::connect(("127.0.0.1", port))?;
//! assert_eq!(server.join().unwrap()?, client.local_addr()?);
//! # Ok::<(), std::io::Error>(())
//! ```

pub mod mpsc;
pub mod net;
pub mod sync;
pub mod thread;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub mod tls;
