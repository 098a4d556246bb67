//! The slots `httparse` fills with a head's header fields, one set per hub
//! ([`Spares::lend_header_slots`](super::spares::Spares::lend_header_slots)),
//! lent to each parse in turn: on a connection's stack they were a kilobyte
//! of every parse's frame, a kilobyte each resume had to bring into the cache
//! for every connection, where one set serves them all and stays there.

use std::mem::MaybeUninit;
use std::ops::{Deref, DerefMut};

use httparse::Header;

use super::spares::Spares;

/// Uninitialised header slots, as many as the longest parse asked for.
#[derive(Default)]
pub(crate) struct HeaderSlots(Vec<MaybeUninit<Header<'static>>>);

impl HeaderSlots {
    /// `count` uninitialised slots for headers borrowed from a buffer that
    /// lives for `'b`.
    pub(crate) fn for_head<'b>(&mut self, count: usize) -> &mut [MaybeUninit<Header<'b>>] {
        if self.0.len() < count {
            self.0.resize_with(count, MaybeUninit::uninit);
        }
        let slots = self.0.as_mut_ptr().cast::<MaybeUninit<Header<'b>>>();
        // SAFETY: the first `count` slots are the vector's own (it has at
        // least that many), borrowed mutably for as long as `self` is.
        // `Header<'static>` and `Header<'b>` differ in a lifetime alone, so
        // they have one layout. The slots are `MaybeUninit`, which asks
        // nothing of its bytes, and nothing reads them as initialised except
        // through the slice handed out here: a later borrow sees them as
        // uninitialised again, so no `Header<'b>` is read after `'b` ends.
        unsafe { std::slice::from_raw_parts_mut(slots, count) }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

/// Header slots lent out of a hub's [`Spares`]; they go back when this drops.
pub(crate) struct LentHeaderSlots<'s> {
    pub(super) spares: &'s Spares,
    pub(super) slots: HeaderSlots,
}

impl Deref for LentHeaderSlots<'_> {
    type Target = HeaderSlots;

    fn deref(&self) -> &HeaderSlots {
        &self.slots
    }
}

impl DerefMut for LentHeaderSlots<'_> {
    fn deref_mut(&mut self) -> &mut HeaderSlots {
        &mut self.slots
    }
}

impl Drop for LentHeaderSlots<'_> {
    fn drop(&mut self) {
        self.spares
            .give_header_slots(std::mem::take(&mut self.slots));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_set_is_lent_at_a_time_and_the_last_given_back_is_kept() {
        let spares = Spares::default();
        let mut first = spares.lend_header_slots();
        let fields = {
            let head = b"GET / HTTP/1.1\r\nHost: a\r\nX-Long: b\r\n\r\n".to_vec();
            let mut parsed = httparse::Request::new(&mut []);
            let status = parsed
                .parse_with_uninit_headers(&head, first.for_head(4))
                .unwrap();
            assert!(status.is_complete());
            parsed
                .headers
                .iter()
                .map(|h| h.name.to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(fields, ["Host", "X-Long"]);
        assert_eq!(first.len(), 4);
        let at = first.slots.0.as_ptr();

        // Lent already: a second parse meanwhile gets slots of its own.
        let mut second = spares.lend_header_slots();
        assert_eq!(second.len(), 0);
        assert_eq!(second.for_head(2).len(), 2);
        drop(second);
        drop(first);

        let mut again = spares.lend_header_slots();
        assert_eq!(again.slots.0.as_ptr(), at, "the set given back last");
        assert_eq!(again.for_head(100).len(), 100, "grown to the limit asked");
    }
}
