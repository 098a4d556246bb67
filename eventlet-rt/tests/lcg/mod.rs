//! A tiny deterministic random generator for the stress tests: the same
//! seed gives the same run.

use std::cell::Cell;

/// A linear congruential generator (Knuth's MMIX constants) that can be
/// shared through an `Rc` by green threads.
pub struct Lcg(pub Cell<u64>);

impl Lcg {
    /// A number in `0..n`.
    pub fn below(&self, n: u64) -> u64 {
        let next = self
            .0
            .get()
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0.set(next);
        (next >> 33) % n
    }
}
