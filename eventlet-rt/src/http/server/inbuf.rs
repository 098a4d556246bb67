//! A connection's read buffer: bytes received and not yet used, from which
//! each request head is split off without a copy. An idle connection holds
//! none: [`InBuf::release`] lets it go, and the next bytes are read into a
//! small array on the stack (zeros while it waits, which a stowed stack leaves
//! out) and given a buffer of their size.

use std::io::{self, Read};

use bytes::{Buf, Bytes, BytesMut};

use super::limits::READ_CHUNK;

/// The received bytes not yet used. A request head leaves as a [`Bytes`]
/// that shares the buffer's memory ([`InBuf::take_head`]); once the requests
/// made from it are dropped, the buffer takes its memory back.
///
/// `buf` is initialised all through (reads go into `buf[end..]`) and is
/// zeroed only when it takes memory back or grows, not before every read.
pub(crate) struct InBuf {
    buf: BytesMut,
    /// `buf[..end]` is data; the rest is room for the next read.
    end: usize,
    /// The buffer was let go: the next read goes through the stack.
    released: bool,
}

/// The most one read takes after [`InBuf::release`]: a batch of pipelined
/// requests fits; more arrives with the next read, into a full buffer.
const FIRST_READ: usize = READ_CHUNK / 4;

impl InBuf {
    pub(crate) fn new() -> InBuf {
        InBuf {
            buf: BytesMut::new(),
            end: 0,
            released: false,
        }
    }

    /// Lets the buffer's memory go while nothing is buffered: a connection
    /// waiting for its next request holds no buffer. The memory goes back
    /// once the requests whose heads share it are dropped.
    pub(crate) fn release(&mut self) {
        assert!(self.is_empty(), "released a buffer holding data");
        self.buf = BytesMut::new();
        self.released = true;
    }

    pub(crate) fn data(&self) -> &[u8] {
        &self.buf[..self.end]
    }

    /// The data, to mend in place (a request line's version digit).
    pub(crate) fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf[..self.end]
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.end == 0
    }

    /// Drops the first `n` bytes (body data or framing already used).
    pub(crate) fn consume(&mut self, n: usize) {
        assert!(n <= self.end, "consumed past the data");
        self.buf.advance(n);
        self.end -= n;
    }

    /// The first `n` bytes, as shared bytes the request's URI and header
    /// values point into.
    pub(crate) fn take_head(&mut self, n: usize) -> Bytes {
        assert!(n <= self.end, "a head past the data");
        self.end -= n;
        self.buf.split_to(n).freeze()
    }

    /// Appends one read of `source`, letting the buffer hold at most `limit`
    /// bytes; `Ok(0)` at the source's end.
    pub(crate) fn read_from(&mut self, source: &mut impl Read, limit: usize) -> io::Result<usize> {
        if self.end >= limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the request does not fit the read buffer",
            ));
        }
        if self.released {
            return self.read_first(source, limit);
        }
        if self.buf.len() - self.end < READ_CHUNK / 4 {
            self.make_room();
        }
        let room = (self.buf.len() - self.end).min(limit - self.end);
        let n = source.read(&mut self.buf[self.end..self.end + room])?;
        self.end += n;
        Ok(n)
    }

    /// The first read after [`InBuf::release`]: into a zeroed array on the
    /// stack, then into a buffer of just the bytes that came (a small
    /// allocation, where a full buffer would be zeroed for them).
    fn read_first(&mut self, source: &mut impl Read, limit: usize) -> io::Result<usize> {
        let mut first = [0; FIRST_READ];
        let n = source.read(&mut first[..FIRST_READ.min(limit)])?;
        self.buf = BytesMut::from(&first[..n]);
        self.end = n;
        self.released = false;
        Ok(n)
    }

    /// At least a read's worth of room after the data: the memory of heads
    /// already dropped taken back (the data moved to its start), or more.
    fn make_room(&mut self) {
        self.buf.truncate(self.end);
        // Asking for no more than the allocation holds besides the data lets
        // `reserve` take the memory back instead of allocating anew.
        self.buf
            .reserve(READ_CHUNK.saturating_sub(self.end).max(READ_CHUNK / 2));
        let room = self.buf.capacity();
        self.buf.resize(room, 0);
    }
}

#[cfg(test)]
impl From<&[u8]> for InBuf {
    fn from(bytes: &[u8]) -> InBuf {
        InBuf {
            buf: BytesMut::from(bytes),
            end: bytes.len(),
            released: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_leave_without_a_copy_and_the_memory_is_reused() {
        let mut input = InBuf::new();
        let mut source: &[u8] = b"GET / HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
        assert_eq!(input.read_from(&mut source, 1 << 16).unwrap(), 37);
        let first_byte = input.data().as_ptr();
        let head = input.take_head(18);
        assert_eq!(&head[..], b"GET / HTTP/1.1\r\n\r\n");
        assert_eq!(head.as_ptr(), first_byte);
        assert_eq!(input.data(), b"GET /b HTTP/1.1\r\n\r\n");
        input.consume(19);
        assert!(input.is_empty());
        drop(head);
        // Fill the room left, then one more read takes the memory back.
        let mut filler: &[u8] = &[b'x'; 1 << 16];
        for _ in 0..4 {
            assert!(input.read_from(&mut filler, 1 << 16).unwrap() > 0);
            if input.data().as_ptr() == first_byte {
                break;
            }
            let len = input.data().len();
            input.consume(len);
        }
        assert_eq!(input.data().as_ptr(), first_byte, "the buffer was reused");
    }

    #[test]
    fn a_released_buffer_holds_no_memory_and_the_next_bytes_get_one() {
        let mut input = InBuf::new();
        let mut source: &[u8] = b"GET / HTTP/1.1\r\n\r\n";
        input.read_from(&mut source, 1 << 16).unwrap();
        input.consume(input.data().len());
        input.release();
        assert_eq!(input.buf.capacity(), 0, "the memory was kept");
        // Re-acquired to fit what came, then grown for the rest of a head.
        let mut source: &[u8] = &[b'h'; FIRST_READ + 100];
        assert_eq!(input.read_from(&mut source, 1 << 16).unwrap(), FIRST_READ);
        assert_eq!(input.data(), &[b'h'; FIRST_READ][..]);
        assert_eq!(input.read_from(&mut source, 1 << 16).unwrap(), 100);
        assert_eq!(input.data(), &[b'h'; FIRST_READ + 100][..]);
        // The limit holds for the first read too.
        input.consume(input.data().len());
        input.release();
        let mut source: &[u8] = &[b'x'; 100];
        assert_eq!(input.read_from(&mut source, 10).unwrap(), 10);
    }

    #[test]
    fn the_limit_holds() {
        let mut input = InBuf::new();
        let mut source: &[u8] = &[b'a'; 100];
        assert_eq!(input.read_from(&mut source, 60).unwrap(), 60);
        let error = input.read_from(&mut source, 60).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert_eq!(input.data().len(), 60);
    }
}
