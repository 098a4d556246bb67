//! A long-parked stack stowed on the heap: its used part copied out (zero
//! lines left out), every page given back and the range sealed; unsealed
//! and copied back at the same addresses before its coroutine runs again.
//!
//! Nothing else may see the stack's contents go: code of this or another OS
//! thread can hold pointers into a parked green thread's frames (a future
//! pinned there and linked into a timer wheel, data lent to a scoped thread).
//! So the range is sealed (`PROT_NONE`) while it is stowed, and any access
//! faults; the fault handler (`overflow.rs` calls [`handle_fault`]) copies the
//! stack back in place and the access goes on as if nothing had happened.
//! A process-wide registry, behind a spin lock that signal handlers may take,
//! maps addresses to stowed stacks. Stowing freezes the range first
//! (read-only) and holds the lock until the range is sealed and registered,
//! so a write that races with the copy faults and waits for the lock instead
//! of being lost.
//!
//! What faults cannot cover: the kernel reading or writing a sealed stack
//! for a system call made by *another* thread (a scoped thread reading a
//! file into a parked green thread's buffer) gets `EFAULT`. The hub's policy
//! (`hub/idle.rs`) can be switched to giving back only the pages below the
//! frames, which nothing can be using.

use std::cell::{Cell, UnsafeCell};
use std::collections::BTreeMap;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::pages::{self, Access};

/// Stacks are copied by lines; lines of zeros are left out of the copy (a
/// buffer on the stack is mostly zeros) and come back as the zeros of fresh
/// pages.
pub(super) const LINE: usize = 64;
const LINE_WORDS: usize = LINE / 8;

/// A stack's used part, on the heap while its pages are gone.
pub(super) struct Stowed {
    /// The stack's usable range, sealed while stowed.
    bottom: usize,
    top: usize,
    /// Where the saved part starts (line aligned, below the saved stack pointer).
    live_from: usize,
    /// One bit per line of `live_from..top` (set: the line holds a nonzero
    /// byte), then those lines, in order.
    image: Box<[u64]>,
    /// Set (under the registry's lock) when an access to the sealed range put
    /// the stack back before its coroutine ran.
    restored: AtomicBool,
}

impl Stowed {
    /// True when an access to the sealed range put the stack back already.
    pub(super) fn was_restored(&self) -> bool {
        self.restored.load(Ordering::Relaxed)
    }

    /// The bytes this stowed stack holds on the heap.
    #[cfg(test)]
    pub(super) fn heap_bytes(&self) -> usize {
        std::mem::size_of::<Stowed>() + self.image.len() * 8
    }
}

/// Why a stack was not stowed.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum NotStowed {
    /// The kernel refused to change the range's protection (out of memory
    /// maps or accounting): the stack is untouched.
    Refused,
}

/// Copies `live_from..top` out, seals `bottom..top` and gives its pages back.
///
/// # Safety
/// `bottom..top` is the page-aligned usable range of a live stack mapping
/// whose coroutine is suspended with its stack pointer above `live_from`
/// (line aligned), and stays suspended until [`unstow`] returns; the guard
/// page below `bottom` is a mapping of its own that never merges with it.
pub(super) unsafe fn stow(
    bottom: usize,
    top: usize,
    live_from: usize,
) -> Result<NonNull<Stowed>, NotStowed> {
    debug_assert!(live_from.is_multiple_of(LINE) && (bottom..top).contains(&live_from));
    let registry = REGISTRY.lock();
    // SAFETY: the range is the stack's, per the contract; from here on a
    // write from another thread faults and waits for the lock we hold.
    if !unsafe { pages::protect(bottom, top, Access::ReadOnly) } {
        return Err(NotStowed::Refused);
    }
    // SAFETY: `live_from..top` is mapped and readable (just made so), and
    // nobody writes it: its coroutine is suspended and other writers fault.
    let image = unsafe { encode(live_from, top) };
    // SAFETY: as above; every access from now on faults into `handle_fault`,
    // which finds the stack in the registry before it can take the lock.
    if !unsafe { pages::protect(bottom, top, Access::Sealed) } {
        // SAFETY: as above: undoing the freeze.
        unsafe { restore_access(bottom, top) };
        return Err(NotStowed::Refused);
    }
    // SAFETY: the range's contents are in `image`; nobody can read the
    // pages any more. A refusal only keeps them resident (and sealed).
    unsafe { pages::give_back(bottom, top) };
    let stowed = NonNull::from(Box::leak(Box::new(Stowed {
        bottom,
        top,
        live_from,
        image,
        restored: AtomicBool::new(false),
    })));
    registry.insert(stowed);
    Ok(stowed)
}

/// Puts a stowed stack back where it was and frees the copy; true when an
/// access to the sealed range had already put it back.
///
/// # Safety
/// `stowed` came from [`stow`] and was not unstowed yet.
pub(super) unsafe fn unstow(stowed: NonNull<Stowed>) -> bool {
    let registry = REGISTRY.lock();
    // SAFETY: `stowed` is alive until freed below, after it has left the
    // registry; its fields change only under the lock we hold.
    let record = unsafe { stowed.as_ref() };
    let touched = record.restored.load(Ordering::Relaxed);
    if !touched {
        // SAFETY: the record describes a sealed stack, per the contract.
        unsafe { restore(record) };
    }
    registry.remove(record);
    drop(registry);
    // SAFETY: it came from `Box::leak` in `stow` and nobody can reach it now.
    drop(unsafe { Box::from_raw(stowed.as_ptr()) });
    touched
}

/// Called by the SIGSEGV handler on whichever thread faulted: true when the
/// fault was (or may have been) an access to a stowed stack, which is now
/// back in place, so the access must be retried.
///
/// Async-signal-safe: a spin lock, tree lookups, `mprotect`, copies.
pub(super) fn handle_fault(address: usize) -> bool {
    if !EVER_STOWED.load(Ordering::Acquire) || HOLDING.with(Cell::get) {
        return false;
    }
    let registry = REGISTRY.lock();
    if let Some(record) = registry.find(address) {
        if !record.restored.load(Ordering::Relaxed) {
            // SAFETY: a registered, unrestored record is a sealed stack.
            unsafe { restore(record) };
            record.restored.store(true, Ordering::Relaxed);
        }
        RETRIED_AT.with(|at| at.set(0));
        return true;
    }
    drop(registry);
    // Not stowed now, but it may have been when the access faulted (its hub
    // put it back meanwhile): retry once before calling it a real fault.
    RETRIED_AT.with(|at| {
        if at.get() == address {
            at.set(0);
            false
        } else {
            at.set(address);
            true
        }
    })
}

/// Puts a stowed stack back: its saved lines written into fresh pages (the
/// other lines are their zeros), which then replace the sealed range in one
/// `mremap`. Unsealing first and copying after would let another thread
/// write between the two, into a line the copy then overwrites.
///
/// # Safety
/// `record` describes a sealed stack, under the registry's lock.
unsafe fn restore(record: &Stowed) {
    let len = record.top - record.bottom;
    let Some(fresh) = pages::map_fresh(len) else {
        fail(
            b"eventlet-rt: no memory to put a stowed green thread stack back (mmap failed); \
            the process must end\n",
        );
    };
    let lines = (record.top - record.live_from) / LINE;
    let (bitmap, data) = record.image.split_at(lines.div_ceil(64));
    let mut saved = data.chunks_exact(LINE_WORDS);
    let live_from = fresh + (record.live_from - record.bottom);
    for line in 0..lines {
        if bitmap[line / 64] & (1 << (line % 64)) != 0 {
            let words = saved.next().expect("the image holds every marked line");
            let to = (live_from + line * LINE) as *mut u64;
            // SAFETY: the line lies in the fresh mapping, which nothing else
            // knows of, and the image's words do not overlap it.
            unsafe { std::ptr::copy_nonoverlapping(words.as_ptr(), to, LINE_WORDS) };
        }
    }
    // SAFETY: the record's range is a sealed stack of this process, whose
    // contents are all in the fresh mapping now.
    if !unsafe { pages::move_over(fresh, len, record.bottom) } {
        fail(
            b"eventlet-rt: the kernel refused to put a stowed green thread stack back \
            (mremap failed); the process must end\n",
        );
    }
}

/// Writes `message` to stderr and ends the process: a stowed stack that
/// cannot come back leaves its green thread nothing to run on.
fn fail(message: &[u8]) -> ! {
    // SAFETY: writing a static buffer to stderr; async-signal-safe.
    unsafe { libc::write(libc::STDERR_FILENO, message.as_ptr().cast(), message.len()) };
    std::process::abort();
}

/// Makes a frozen stack's range writable again (its pages were not given
/// back), or ends the process: its coroutine cannot run without it.
///
/// # Safety
/// `bottom..top` is a stack mapping of this process.
unsafe fn restore_access(bottom: usize, top: usize) {
    // SAFETY: per the contract.
    if !unsafe { pages::protect(bottom, top, Access::ReadWrite) } {
        fail(
            b"eventlet-rt: the kernel refused to unfreeze a green thread stack \
            (mprotect failed); the process must end\n",
        );
    }
}

/// The lines of `from..to` that hold a nonzero byte, after a bitmap of them.
///
/// # Safety
/// `from..to` is readable, line aligned, and nobody writes it meanwhile.
unsafe fn encode(from: usize, to: usize) -> Box<[u64]> {
    let lines = (to - from) / LINE;
    let bitmap_words = lines.div_ceil(64);
    // SAFETY: per the contract; `u64` reads of line-aligned memory.
    let line_at = |line: usize| unsafe {
        std::slice::from_raw_parts((from + line * LINE) as *const u64, LINE_WORDS)
    };
    let kept = (0..lines)
        .filter(|&line| line_at(line).iter().any(|&w| w != 0))
        .count();
    let mut image = Vec::with_capacity(bitmap_words + kept * LINE_WORDS);
    image.resize(bitmap_words, 0u64);
    for line in 0..lines {
        let words = line_at(line);
        if words.iter().any(|&w| w != 0) {
            image[line / 64] |= 1 << (line % 64);
            image.extend_from_slice(words);
        }
    }
    image.into_boxed_slice()
}

/// Every stowed stack of the process by its top address, behind a spin
/// lock: signal handlers read it, so no thread may block or allocate while
/// a handler could wait for it (hubs allocate under it, but handlers never
/// run on a thread that holds it: see [`handle_fault`]'s `HOLDING` check).
struct Registry {
    locked: AtomicBool,
    stacks: UnsafeCell<BTreeMap<usize, NonNull<Stowed>>>,
}

// SAFETY: `stacks` is only reached through `RegistryGuard`, which holds the
// spin lock; the records it points to are read (and their `restored` flag
// written) only under that lock, from whichever thread holds it.
unsafe impl Sync for Registry {}

static REGISTRY: Registry = Registry {
    locked: AtomicBool::new(false),
    stacks: UnsafeCell::new(BTreeMap::new()),
};

/// Stacks in the registry right now.
static STOWED: AtomicUsize = AtomicUsize::new(0);

/// Set for good by the first stow: until then no fault can be ours.
static EVER_STOWED: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Set while this thread holds the registry's lock.
    static HOLDING: Cell<bool> = const { Cell::new(false) };
    /// The address of this thread's last fault that found no stowed stack.
    static RETRIED_AT: Cell<usize> = const { Cell::new(0) };
}

impl Registry {
    fn lock(&'static self) -> RegistryGuard {
        let mut spins = 0u32;
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                // SAFETY: no arguments; async-signal-safe.
                unsafe { libc::sched_yield() };
            }
        }
        HOLDING.with(|holding| holding.set(true));
        RegistryGuard { registry: self }
    }
}

struct RegistryGuard {
    registry: &'static Registry,
}

impl RegistryGuard {
    fn stacks(&self) -> &mut BTreeMap<usize, NonNull<Stowed>> {
        // SAFETY: the guard holds the lock, and hands out one borrow at a
        // time (each caller below uses it and lets it go).
        unsafe { &mut *self.registry.stacks.get() }
    }

    fn insert(&self, stowed: NonNull<Stowed>) {
        // SAFETY: a live record (just made by `stow`).
        let top = unsafe { stowed.as_ref() }.top;
        self.stacks().insert(top, stowed);
        STOWED.fetch_add(1, Ordering::Relaxed);
        EVER_STOWED.store(true, Ordering::Release);
    }

    fn remove(&self, record: &Stowed) {
        if self.stacks().remove(&record.top).is_some() {
            STOWED.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// The stowed stack whose range holds `address`.
    fn find(&self, address: usize) -> Option<&Stowed> {
        let (_, stowed) = self.stacks().range(address + 1..).next()?;
        // SAFETY: registered records stay alive until removed under the lock.
        let record = unsafe { stowed.as_ref() };
        (record.bottom..record.top)
            .contains(&address)
            .then_some(record)
    }
}

impl Drop for RegistryGuard {
    fn drop(&mut self) {
        HOLDING.with(|holding| holding.set(false));
        self.registry.locked.store(false, Ordering::Release);
    }
}
