//! A connection's read buffer: bytes received and not yet used, from which
//! each request head is split off without a copy. An idle connection holds
//! none: [`InBuf::release`] gives it to the hub's [`Spares`], and
//! [`InBuf::reacquire`] takes one back once the next bytes are there.

use std::io::{self, Read};

use bytes::{Buf, Bytes, BytesMut};

use super::limits::READ_CHUNK;
use super::spares::Spares;

/// The received bytes not yet used. A request head leaves as a [`Bytes`]
/// that shares the buffer's memory ([`InBuf::take_head`]); once the requests
/// made from it are dropped, the buffer takes its memory back.
///
/// `buf` is initialised all through (reads go into `buf[end..]`) and is
/// zeroed only when it takes memory back or grows, not before every read.
pub(crate) struct InBuf {
    buf: BytesMut,
    /// `buf[start..end]` is data; what is before it is used, what is after
    /// it is room for the next read. Using bytes moves `start` alone.
    start: usize,
    end: usize,
    /// The buffer was let go: [`InBuf::reacquire`] before the next read.
    released: bool,
}

impl InBuf {
    pub(crate) fn new() -> InBuf {
        InBuf {
            buf: BytesMut::new(),
            start: 0,
            end: 0,
            released: false,
        }
    }

    /// Gives the buffer's memory to `spares` while nothing is buffered: a
    /// connection waiting for its next request holds no buffer.
    pub(crate) fn release(&mut self, spares: &Spares) {
        assert!(self.is_empty(), "released a buffer holding data");
        spares.give_input(std::mem::take(&mut self.buf));
        self.released = true;
    }

    /// Whether the buffer was let go, to be taken back before a read.
    pub(crate) fn is_released(&self) -> bool {
        self.released
    }

    /// Takes a buffer from `spares` after [`InBuf::release`].
    pub(crate) fn reacquire(&mut self, spares: &Spares) {
        self.buf = spares.input();
        self.released = false;
    }

    #[inline]
    pub(crate) fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// The data, to mend in place (a request line's version digit).
    pub(crate) fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..self.end]
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Drops the first `n` bytes (body data or framing already used).
    #[inline]
    pub(crate) fn consume(&mut self, n: usize) {
        assert!(n <= self.end - self.start, "consumed past the data");
        self.start += n;
        if self.start == self.end {
            // All used: the next read starts at the front again.
            self.start = 0;
            self.end = 0;
        }
    }

    /// The first `n` bytes, as shared bytes the request's URI and header
    /// values point into.
    pub(crate) fn take_head(&mut self, n: usize) -> Bytes {
        assert!(n <= self.end - self.start, "a head past the data");
        let used = self.start + n;
        let mut head = self.buf.split_to(used);
        head.advance(self.start);
        self.end -= used;
        self.start = 0;
        head.freeze()
    }

    /// Appends one read of `source`, letting the buffer hold at most `limit`
    /// bytes of data; `Ok(0)` at the source's end.
    pub(crate) fn read_from(&mut self, source: &mut impl Read, limit: usize) -> io::Result<usize> {
        let held = self.end - self.start;
        if held >= limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the request does not fit the read buffer",
            ));
        }
        if self.buf.len() - self.end < READ_CHUNK / 4 {
            self.make_room();
        }
        let room = (self.buf.len() - self.end).min(limit - held);
        let n = source.read(&mut self.buf[self.end..self.end + room])?;
        self.end += n;
        Ok(n)
    }

    /// At least a read's worth of room after the data: the memory of bytes
    /// used and heads already dropped taken back (the data moved to its
    /// start), or more.
    fn make_room(&mut self) {
        let held = self.end - self.start;
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.start = 0;
            self.end = held;
            if self.buf.len() - held >= READ_CHUNK / 4 {
                return;
            }
        }
        self.buf.truncate(held);
        // Asking for no more than the allocation holds besides the data lets
        // `reserve` take the memory back instead of allocating anew.
        self.buf
            .reserve(READ_CHUNK.saturating_sub(held).max(READ_CHUNK / 2));
        let room = self.buf.capacity();
        self.buf.resize(room, 0);
    }
}

#[cfg(test)]
impl From<&[u8]> for InBuf {
    fn from(bytes: &[u8]) -> InBuf {
        InBuf {
            buf: BytesMut::from(bytes),
            start: 0,
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
        // Heads keep leaving; once the room runs low, a read takes back the
        // memory of those dropped instead of allocating.
        let mut reused = false;
        for _ in 0..1000 {
            let mut source: &[u8] = b"GET /c HTTP/1.1\r\n\r\n";
            assert_eq!(input.read_from(&mut source, 1 << 16).unwrap(), 19);
            if input.data().as_ptr() == first_byte {
                reused = true;
                break;
            }
            drop(input.take_head(19));
        }
        assert!(reused, "the buffer was not reused");
    }

    #[test]
    fn used_bytes_make_room_without_a_copy_until_the_room_runs_low() {
        let mut input = InBuf::new();
        let mut source: &[u8] = b"abcdef";
        input.read_from(&mut source, 1 << 16).unwrap();
        let front = input.data().as_ptr();
        input.consume(2);
        assert_eq!(input.data(), b"cdef");
        input.consume(4);
        assert!(input.is_empty());
        let mut source: &[u8] = &[b'x'; READ_CHUNK];
        input.read_from(&mut source, 1 << 16).unwrap();
        assert_eq!(
            input.data().as_ptr(),
            front,
            "all used: reads start at the front"
        );
        let len = input.data().len();
        input.consume(len - 3);
        let mut source: &[u8] = b"yz";
        input.read_from(&mut source, 1 << 16).unwrap();
        assert_eq!(input.data(), b"xxxyz", "the data moved to the front");
        assert_eq!(input.data().as_ptr(), front);
    }

    #[test]
    fn a_released_buffer_goes_to_the_spares_and_comes_back() {
        let spares = Spares::default();
        let mut input = InBuf::new();
        let mut source: &[u8] = b"GET / HTTP/1.1\r\n\r\n";
        input.read_from(&mut source, 1 << 16).unwrap();
        let memory = input.data().as_ptr();
        input.consume(input.data().len());
        input.release(&spares);
        assert!(input.is_released());
        assert_eq!(input.buf.capacity(), 0, "the memory was kept");
        input.reacquire(&spares);
        let mut source: &[u8] = b"next";
        assert_eq!(input.read_from(&mut source, 1 << 16).unwrap(), 4);
        assert_eq!(input.data(), b"next");
        assert_eq!(input.data().as_ptr(), memory, "the same memory");
        // With no spare, a buffer of its own.
        input.consume(4);
        input.release(&spares);
        let _taken = spares.input();
        input.reacquire(&spares);
        let mut source: &[u8] = &[b'x'; 100];
        assert_eq!(
            input.read_from(&mut source, 10).unwrap(),
            10,
            "the limit holds"
        );
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
