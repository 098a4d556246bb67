//! `Body`: the bytes of a request or a response, read as a stream.

use std::fmt;
use std::io::{self, Read};
use std::rc::Rc;

use bytes::{Buf, Bytes};

use super::upgrade::Upgraded;

/// The body of a request or of a response: a [`Read`] of its bytes.
///
/// - A request's body streams from the connection as the handler reads it
///   (`Content-Length` or chunked framing undone), so a 2 GB upload is never
///   held in memory. When the client sent `Expect: 100-continue`, the first
///   read sends `100 Continue`. A malformed or oversized body makes the read
///   fail (`InvalidData`), and the server then answers `400` or `413` itself
///   and closes the connection, whatever the handler returned.
/// - A response's body comes from bytes (`&'static str`, `String`,
///   `Vec<u8>`, [`Bytes`]: sent with `Content-Length`) or from any
///   `Read + 'static` ([`Body::from_reader`]: streamed chunked, or with the
///   `Content-Length` the handler set). A request's body can be a response's
///   body too: that is a streaming echo.
///
/// ```
/// use std::io::Read;
/// use eventlet_rt::http::Body;
///
/// let mut body = Body::from("hello");
/// assert_eq!(body.exact_len(), Some(5));
/// let mut text = String::new();
/// body.read_to_string(&mut text)?;
/// assert_eq!(text, "hello");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Body {
    kind: Kind,
}

pub(crate) enum Kind {
    Full(Bytes),
    Reader(Box<dyn Read>),
    Incoming(Incoming),
    /// No bytes: the connection goes to this closure after a `101`.
    Upgrade(Box<dyn FnOnce(Upgraded)>),
}

/// A request body still on its connection.
pub(crate) struct Incoming {
    pub(crate) source: Rc<dyn BodySource>,
    pub(crate) request: u64,
}

/// The connection side of a request body; `request` tells which request of
/// the connection the reader belongs to, so a body kept past its response
/// cannot read the next request's bytes.
pub(crate) trait BodySource {
    fn read_body(&self, request: u64, buf: &mut [u8]) -> io::Result<usize>;
    /// The bytes left when the framing says so (`Content-Length`).
    fn remaining(&self, request: u64) -> Option<u64>;
}

impl Body {
    /// A body of no bytes.
    ///
    /// ```
    /// assert_eq!(eventlet_rt::http::Body::empty().exact_len(), Some(0));
    /// ```
    pub fn empty() -> Body {
        Body::from(Bytes::new())
    }

    /// A body streamed from `reader` until it ends: sent chunked, or with
    /// the `Content-Length` the handler set on the response (the server then
    /// sends exactly that many bytes, and closes the connection if the reader
    /// ends early). To an HTTP/1.0 client, which cannot read chunks, the body
    /// ends with the connection.
    ///
    /// ```
    /// use std::io::Read;
    /// let mut body = eventlet_rt::http::Body::from_reader(std::io::repeat(b'x').take(3));
    /// assert_eq!(body.exact_len(), None);
    /// let mut bytes = Vec::new();
    /// body.read_to_end(&mut bytes)?;
    /// assert_eq!(bytes, b"xxx");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_reader(reader: impl Read + 'static) -> Body {
        Body {
            kind: Kind::Reader(Box::new(reader)),
        }
    }

    /// The number of bytes left when it is known without reading: bytes
    /// bodies, and request bodies framed by `Content-Length`.
    ///
    /// ```
    /// use eventlet_rt::http::Body;
    /// assert_eq!(Body::from(vec![1, 2, 3]).exact_len(), Some(3));
    /// assert_eq!(Body::from_reader(std::io::empty()).exact_len(), None);
    /// ```
    pub fn exact_len(&self) -> Option<u64> {
        match &self.kind {
            Kind::Full(bytes) => Some(bytes.len() as u64),
            Kind::Reader(_) => None,
            Kind::Upgrade(_) => Some(0),
            Kind::Incoming(incoming) => incoming.source.remaining(incoming.request),
        }
    }

    pub(crate) fn incoming(source: Rc<dyn BodySource>, request: u64) -> Body {
        Body {
            kind: Kind::Incoming(Incoming { source, request }),
        }
    }

    pub(crate) fn from_kind(kind: Kind) -> Body {
        Body { kind }
    }

    pub(crate) fn into_kind(self) -> Kind {
        self.kind
    }

    /// The protocol switch this body carries ([`switch_protocols`](super::switch_protocols)).
    pub(crate) fn take_upgrade(&mut self) -> Option<Box<dyn FnOnce(Upgraded)>> {
        match std::mem::replace(&mut self.kind, Kind::Full(Bytes::new())) {
            Kind::Upgrade(f) => Some(f),
            kind => {
                self.kind = kind;
                None
            }
        }
    }

    /// Whether this is the body of request `request` of the connection `source`.
    pub(crate) fn is_incoming_of(&self, source: &Rc<dyn BodySource>, request: u64) -> bool {
        matches!(&self.kind, Kind::Incoming(incoming)
            if incoming.request == request && Rc::ptr_eq(&incoming.source, source))
    }
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.kind {
            Kind::Full(bytes) => {
                let n = bytes.len().min(buf.len());
                buf[..n].copy_from_slice(&bytes[..n]);
                bytes.advance(n);
                Ok(n)
            }
            Kind::Reader(reader) => reader.read(buf),
            Kind::Incoming(incoming) => incoming.source.read_body(incoming.request, buf),
            Kind::Upgrade(_) => Ok(0),
        }
    }
}

impl Default for Body {
    fn default() -> Body {
        Body::empty()
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Body {
        Body {
            kind: Kind::Full(bytes),
        }
    }
}

impl From<&'static str> for Body {
    fn from(text: &'static str) -> Body {
        Body::from(Bytes::from_static(text.as_bytes()))
    }
}

impl From<&'static [u8]> for Body {
    fn from(bytes: &'static [u8]) -> Body {
        Body::from(Bytes::from_static(bytes))
    }
}

impl From<String> for Body {
    fn from(text: String) -> Body {
        Body::from(Bytes::from(text))
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Body {
        Body::from(Bytes::from(bytes))
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Full(bytes) => f.debug_tuple("Body::Bytes").field(&bytes.len()).finish(),
            Kind::Reader(_) => f.write_str("Body::Reader"),
            Kind::Incoming(_) => f.write_str("Body::Incoming"),
            Kind::Upgrade(_) => f.write_str("Body::Upgrade"),
        }
    }
}
