//! Groups of duplicated descriptors: `O_NONBLOCK` belongs to the open file,
//! which `dup`, `dup2` and `F_DUPFD` (std's `try_clone`) share between
//! descriptors, so a flag set through one must show through all.
//!
//! Lock-free and allocation-free, so that the hooks of `dup`, `fcntl` and
//! `close` stay async-signal-safe and a forked child can never find the
//! table locked by a thread that no longer exists there. A group is one
//! word in a fixed array: its generation, how many descriptors share it,
//! and the file's bits. A descriptor holds a handle (the group's index and
//! generation); a handle whose generation is past is stale and reads as no
//! group. When every group is taken, a duplicate gets no group: a flag set
//! through it does not show through the other descriptors of its file.

use std::sync::atomic::{AtomicU64, Ordering};

/// How many groups can be live at once.
const GROUPS: usize = 4096;

/// The low 16 bits of a word: the file's bits.
const BITS_MASK: u64 = 0xffff;
/// The next 16 bits: how many descriptors share the group (0: free).
const MEMBER: u64 = 1 << 16;
const MEMBERS_MASK: u64 = 0xffff << 16;

static TABLE: [AtomicU64; GROUPS] = [const { AtomicU64::new(0) }; GROUPS];

/// Where a handle points: its slot and the generation it was made in.
fn parts(handle: u64) -> Option<(&'static AtomicU64, u64)> {
    let index = (handle & 0xffff_ffff).checked_sub(1)? as usize;
    Some((TABLE.get(index)?, handle >> 32))
}

fn members(word: u64) -> u64 {
    (word & MEMBERS_MASK) / MEMBER
}

/// The word of a live group, if `handle` still names it.
fn live(slot: &AtomicU64, generation: u64) -> Option<u64> {
    let word = slot.load(Ordering::Acquire);
    (word >> 32 == generation && members(word) > 0).then_some(word)
}

/// The file's bits of the group `handle` names; `None` for a stale handle.
pub(super) fn file_bits(handle: u64) -> Option<u32> {
    let (slot, generation) = parts(handle)?;
    live(slot, generation).map(|word| (word & BITS_MASK) as u32)
}

/// Makes a group for `members` descriptors sharing a file with `bits`;
/// `None` when every group is taken.
pub(super) fn create(bits: u32, members: u64) -> Option<u64> {
    for (index, slot) in TABLE.iter().enumerate() {
        let word = slot.load(Ordering::Relaxed);
        if self::members(word) != 0 {
            continue;
        }
        let generation = ((word >> 32) + 1) & 0xffff_ffff;
        let taken = (generation << 32) | (members * MEMBER) | (u64::from(bits) & BITS_MASK);
        if slot
            .compare_exchange(word, taken, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            return Some((generation << 32) | (index as u64 + 1));
        }
    }
    None
}

/// Adds a descriptor to the group `handle` names; false for a stale handle
/// or a full group.
pub(super) fn join(handle: u64) -> bool {
    let Some((slot, generation)) = parts(handle) else {
        return false;
    };
    update(slot, generation, |word| {
        (members(word) < MEMBERS_MASK / MEMBER).then_some(word + MEMBER)
    })
}

/// Takes a descriptor out of the group `handle` names; the last one out
/// frees it.
pub(super) fn leave(handle: u64) {
    if let Some((slot, generation)) = parts(handle) {
        update(slot, generation, |word| Some(word - MEMBER));
    }
}

/// Sets or clears file bits of the group `handle` names.
pub(super) fn set_bits(handle: u64, bits: u32, set: bool) {
    if let Some((slot, generation)) = parts(handle) {
        let bits = u64::from(bits) & BITS_MASK;
        update(slot, generation, |word| {
            Some(if set { word | bits } else { word & !bits })
        });
    }
}

/// Applies `change` to a live group's word; false when the group is gone
/// or `change` declines.
fn update(slot: &AtomicU64, generation: u64, change: impl Fn(u64) -> Option<u64>) -> bool {
    let mut word = slot.load(Ordering::Acquire);
    loop {
        if word >> 32 != generation || members(word) == 0 {
            return false;
        }
        let Some(next) = change(word) else {
            return false;
        };
        match slot.compare_exchange_weak(word, next, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return true,
            Err(seen) => word = seen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_lives_while_it_has_members_and_its_handle_goes_stale_after() {
        let handle = create(0b01, 2).unwrap();
        assert_eq!(file_bits(handle), Some(0b01));
        set_bits(handle, 0b10, true);
        set_bits(handle, 0b01, false);
        assert_eq!(file_bits(handle), Some(0b10));
        assert!(join(handle));
        leave(handle);
        leave(handle);
        assert_eq!(file_bits(handle), Some(0b10), "one member is left");
        leave(handle);
        assert_eq!(file_bits(handle), None, "freed");
        assert!(!join(handle), "a stale handle joins nothing");
        let reused = create(0, 1).unwrap();
        assert_ne!(reused, handle, "a reused slot has a new generation");
        set_bits(handle, 0b100, true);
        assert_eq!(file_bits(reused), Some(0), "a stale handle changes nothing");
        leave(reused);
    }
}
