//! Buffers that connections let go while they wait for their next request,
//! kept for the next connection that needs one: a waiting connection holds
//! no buffer, and a busy hub, whose connections wait and wake one after
//! another, allocates none per request.

use std::cell::{Cell, RefCell};

use ::http::HeaderMap;
use bytes::BytesMut;

use super::header_slots::{HeaderSlots, LentHeaderSlots};

use super::limits::{BATCH_START, MAX_SPARE_HEADERS, READ_CHUNK, SPARE_BUFFERS};

/// One hub's spare read buffers, output batches and header maps, a few of
/// each ([`SPARE_BUFFERS`]); past that, or too large to keep, they are freed.
/// And the hub's header slots for `httparse`.
#[derive(Default)]
pub(crate) struct Spares {
    inputs: RefCell<Vec<BytesMut>>,
    outputs: RefCell<Vec<Vec<u8>>>,
    headers: RefCell<Vec<HeaderMap>>,
    /// Empty while lent to a parse.
    header_slots: Cell<HeaderSlots>,
}

/// A read buffer larger than this (grown for a long head) is not kept.
const MAX_SPARE_INPUT: usize = 2 * READ_CHUNK;

/// An output batch larger than this (a large pipelined batch) is not kept.
const MAX_SPARE_OUTPUT: usize = 4 * READ_CHUNK;

impl Spares {
    /// A read buffer, perhaps empty (the reader sizes it).
    pub(crate) fn input(&self) -> BytesMut {
        self.inputs.borrow_mut().pop().unwrap_or_default()
    }

    pub(crate) fn give_input(&self, buf: BytesMut) {
        keep(&self.inputs, buf, |buf| buf.capacity() <= MAX_SPARE_INPUT);
    }

    /// An empty output batch with room for a few responses.
    pub(crate) fn output(&self) -> Vec<u8> {
        self.outputs
            .borrow_mut()
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(BATCH_START))
    }

    pub(crate) fn give_output(&self, mut batch: Vec<u8>) {
        batch.clear();
        keep(&self.outputs, batch, |batch| {
            batch.capacity() <= MAX_SPARE_OUTPUT && batch.capacity() > 0
        });
    }

    /// An empty header map.
    pub(crate) fn headers(&self) -> HeaderMap {
        self.headers.borrow_mut().pop().unwrap_or_default()
    }

    /// The hub's header slots, until the guard drops. A parse that finds
    /// them lent (a borrowed handler waiting on I/O holds them) gets new ones;
    /// the set given back last is kept.
    pub(crate) fn lend_header_slots(&self) -> LentHeaderSlots<'_> {
        LentHeaderSlots {
            spares: self,
            slots: self.header_slots.take(),
        }
    }

    pub(super) fn give_header_slots(&self, slots: HeaderSlots) {
        self.header_slots.set(slots);
    }

    pub(crate) fn give_headers(&self, mut headers: HeaderMap) {
        headers.clear();
        keep(&self.headers, headers, |headers| {
            headers.capacity() <= MAX_SPARE_HEADERS
        });
    }
}

fn keep<T>(spares: &RefCell<Vec<T>>, spare: T, worth_keeping: impl FnOnce(&T) -> bool) {
    let mut spares = spares.borrow_mut();
    if spares.len() < SPARE_BUFFERS && worth_keeping(&spare) {
        spares.push(spare);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_empty_and_only_a_few_stay() {
        let spares = Spares::default();
        let mut batch = spares.output();
        assert!(batch.capacity() >= BATCH_START);
        batch.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
        let at = batch.as_ptr();
        spares.give_output(batch);
        let batch = spares.output();
        assert!(batch.is_empty());
        assert_eq!(batch.as_ptr(), at, "the same batch, reused");

        let mut headers = HeaderMap::new();
        headers.insert("x", "y".parse().unwrap());
        spares.give_headers(headers);
        assert!(spares.headers().is_empty());

        for _ in 0..SPARE_BUFFERS + 3 {
            spares.give_input(BytesMut::zeroed(READ_CHUNK));
        }
        spares.give_input(BytesMut::zeroed(4 * READ_CHUNK));
        assert_eq!(spares.inputs.borrow().len(), SPARE_BUFFERS);
        for _ in 0..SPARE_BUFFERS {
            assert_eq!(spares.input().len(), READ_CHUNK);
        }
        assert_eq!(spares.input().capacity(), 0, "none left: an empty one");
    }
}
