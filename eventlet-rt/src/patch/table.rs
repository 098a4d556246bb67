//! The storage of what the hooks know per descriptor: descriptors are
//! small numbers, so the table is an array of chunks of atomics, each
//! mapped (`mmap`) the first time a descriptor in its range is seen, and
//! read without a lock on every call.

use std::ffi::c_int;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};

const CHUNK: usize = 1024;
const CHUNKS: usize = 1024;

/// Descriptors at or past this number are not tracked: their calls go to
/// libc unchanged.
const TRACKED_FDS: usize = CHUNK * CHUNKS;

/// One descriptor's facts; all zeros is a valid, unknown entry.
pub(super) struct Entry {
    pub(super) bits: AtomicU32,
    pub(super) generation: AtomicU32,
    /// Microseconds; 0 means none, as for the socket option.
    pub(super) read_timeout: AtomicU64,
    pub(super) write_timeout: AtomicU64,
    /// The group of duplicates it belongs to (see `groups`); 0 for none.
    pub(super) group: AtomicU64,
    /// How many forks had begun when it was made (see [`forking`]).
    pub(super) born: AtomicU32,
}

type Chunk = [Entry; CHUNK];

static TABLE: [AtomicPtr<Chunk>; CHUNKS] = [const { AtomicPtr::new(std::ptr::null_mut()) }; CHUNKS];

/// Forks begun in this process, counted before and after each (see
/// `fds::PRIVATE`).
pub(super) static FORKS: AtomicU32 = AtomicU32::new(0);

/// A fork begins or has ended in the parent: every open file may be shared
/// with the child now.
pub(super) fn forking() {
    FORKS.fetch_add(1, Ordering::AcqRel);
}

pub(super) fn entry(fd: c_int) -> Option<&'static Entry> {
    let fd = usize::try_from(fd).ok().filter(|&fd| fd < TRACKED_FDS)?;
    let slot = &TABLE[fd / CHUNK];
    let mut chunk = slot.load(Ordering::Acquire);
    if chunk.is_null() {
        chunk = map_chunk(slot)?;
    }
    // SAFETY: a chunk, once installed, is never unmapped.
    Some(unsafe { &(*chunk)[fd % CHUNK] })
}

/// Maps a zeroed chunk and installs it, or takes the one another thread
/// installed first.
#[cold]
fn map_chunk(slot: &AtomicPtr<Chunk>) -> Option<*mut Chunk> {
    // SAFETY: a fresh private anonymous mapping, zeroed by the kernel; all
    // zeros is a valid `Entry` (atomics of 0).
    let mapped = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            size_of::<Chunk>(),
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if mapped == libc::MAP_FAILED {
        return None;
    }
    let mapped = mapped.cast::<Chunk>();
    match slot.compare_exchange(
        std::ptr::null_mut(),
        mapped,
        Ordering::AcqRel,
        Ordering::Acquire,
    ) {
        Ok(_) => Some(mapped),
        Err(installed) => {
            // SAFETY: our own mapping, never handed out.
            unsafe { libc::munmap(mapped.cast(), size_of::<Chunk>()) };
            Some(installed)
        }
    }
}
