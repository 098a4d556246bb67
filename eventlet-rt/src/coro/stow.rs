//! A long-parked stack stowed on the heap: its used part compressed (LZ4:
//! frames are full of zeros and of pointers that share their high bytes,
//! and shrink to a third or less), every page given back and the range
//! sealed; put back at the same addresses before its coroutine runs again.
//!
//! Nothing else may see the stack's contents go: code of this or another OS
//! thread can hold pointers into a parked green thread's frames (a future
//! pinned there and linked into a timer wheel, data lent to a scoped thread).
//! So the range is sealed (`PROT_NONE`) while it is stowed, and any access
//! faults; the fault handler (`overflow.rs` calls [`handle_fault`]) puts the
//! stack back in place and the access goes on as if nothing had happened.
//! Putting back never exposes a half-written stack: the saved bytes go into
//! fresh pages elsewhere, which then replace the sealed range in one
//! `mremap`.
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

use std::cell::{Cell, RefCell, UnsafeCell};
use std::collections::BTreeMap;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::pages::{self, Access};

/// A stack's used part, on the heap while its pages are gone.
pub(super) struct Stowed {
    /// The stack's usable range, sealed while stowed.
    bottom: usize,
    top: usize,
    /// Where the saved part starts: the saved stack pointer.
    live_from: usize,
    /// `live_from..top`, LZ4-compressed (a block, no frame) against
    /// `dictionary` when there is one.
    image: Box<[u8]>,
    dictionary: Option<Arc<[u8]>>,
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
        std::mem::size_of::<Stowed>() + self.image.len()
    }
}

/// What a hub keeps to stow its stacks: the first stack it stowed of each
/// size, which it compresses later stacks of that size against (green
/// threads parked at the same place hold nearly the same bytes, so a
/// server's idle connections keep only the few hundred bytes that differ),
/// and a buffer to compress into.
pub(crate) struct Stower {
    dictionaries: RefCell<Vec<Arc<[u8]>>>,
    scratch: RefCell<Vec<u8>>,
}

/// At most this many dictionaries per hub, each of at most this many bytes.
const DICTIONARIES: usize = 16;
const DICTIONARY_BYTES: usize = 32 * 1024;

impl Stower {
    pub(crate) fn new() -> Stower {
        Stower {
            dictionaries: RefCell::new(Vec::new()),
            scratch: RefCell::new(Vec::new()),
        }
    }

    /// The dictionary for a stack of `bytes`: the first of its size, which
    /// `bytes` becomes when there is none yet and room for it.
    fn dictionary_for(&self, bytes: &[u8]) -> Option<Arc<[u8]>> {
        let mut dictionaries = self.dictionaries.borrow_mut();
        if let Some(same_size) = dictionaries.iter().find(|d| d.len() == bytes.len()) {
            return Some(same_size.clone());
        }
        if dictionaries.len() >= DICTIONARIES || bytes.len() > DICTIONARY_BYTES {
            return None;
        }
        let dictionary: Arc<[u8]> = Arc::from(bytes);
        dictionaries.push(dictionary.clone());
        Some(dictionary)
    }

    /// `from..to`, compressed, and the dictionary it was compressed against.
    ///
    /// # Safety
    /// `from..to` is readable and nobody writes it meanwhile.
    unsafe fn encode(&self, from: usize, to: usize) -> (Box<[u8]>, Option<Arc<[u8]>>) {
        // SAFETY: per the contract.
        let bytes = unsafe { std::slice::from_raw_parts(from as *const u8, to - from) };
        let dictionary = self.dictionary_for(bytes);
        let mut scratch = self.scratch.borrow_mut();
        scratch.resize(lz4_flex::block::get_maximum_output_size(bytes.len()), 0);
        let len = lz4_flex::block::compress_into_with_dict(
            bytes,
            &mut scratch,
            dictionary.as_deref().unwrap_or_default(),
        )
        .expect("the output holds the largest compressed size");
        (Box::from(&scratch[..len]), dictionary)
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
/// whose coroutine is suspended with its stack pointer at or above
/// `live_from`, and stays suspended until [`unstow`] returns; the guard
/// page below `bottom` is a mapping of its own that never merges with it.
pub(super) unsafe fn stow(
    bottom: usize,
    top: usize,
    live_from: usize,
    stower: &Stower,
) -> Result<NonNull<Stowed>, NotStowed> {
    debug_assert!((bottom..top).contains(&live_from));
    let mut registry = REGISTRY.lock();
    // Before the freeze: a write that races with it must find its way here.
    EVER_STOWED.store(true, Ordering::Release);
    // SAFETY: the range is the stack's, per the contract; from here on a
    // write from another thread faults and waits for the lock we hold.
    if !unsafe { pages::protect(bottom, top, Access::ReadOnly) } {
        return Err(NotStowed::Refused);
    }
    // SAFETY: `live_from..top` is mapped and readable (just made so), and
    // nobody writes it: its coroutine is suspended and other writers fault.
    let (image, dictionary) = unsafe { stower.encode(live_from, top) };
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
        dictionary,
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
    let mut registry = REGISTRY.lock();
    // SAFETY: `stowed` is alive until freed below, after it has left the
    // registry; its fields change only under the lock we hold.
    let record = unsafe { stowed.as_ref() };
    let touched = record.restored.load(Ordering::Relaxed);
    if !touched {
        // SAFETY: the record describes a sealed stack, per the contract.
        unsafe { restore(record) };
    }
    registry.remove(record.top);
    UNSTOWED.store(UNSTOWED.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    drop(registry);
    // SAFETY: it came from `Box::leak` in `stow` and nobody can reach it now.
    drop(unsafe { Box::from_raw(stowed.as_ptr()) });
    touched
}

/// Called by the SIGSEGV handler on whichever thread faulted: true when the
/// fault was (or may have been) an access to a stowed stack, which is now
/// back in place, so the access must be retried.
///
/// Async-signal-safe: a spin lock, a tree lookup, LZ4 decompression into a
/// fresh mapping (`mmap`, `mremap`); nothing allocates or takes a lock of
/// libc's.
pub(super) fn handle_fault(address: usize) -> bool {
    if !EVER_STOWED.load(Ordering::Acquire) || HOLDING.with(Cell::get) {
        return false;
    }
    let mut registry = REGISTRY.lock();
    if let Some(record) = registry.find(address) {
        if !record.restored.load(Ordering::Relaxed) {
            // SAFETY: a registered, unrestored record is a sealed stack.
            unsafe { restore(record) };
            record.restored.store(true, Ordering::Relaxed);
        }
        RETRIED_AT.with(|at| at.set((0, 0)));
        return true;
    }
    let unstowed = UNSTOWED.load(Ordering::Relaxed);
    drop(registry);
    // Not stowed now, but it may have been when the access faulted (its hub
    // put it back meanwhile): retry, unless this same access already found
    // nothing with no stack put back since.
    RETRIED_AT.with(|at| {
        if at.get() == (address, unstowed) {
            at.set((0, 0));
            false
        } else {
            at.set((address, unstowed));
            true
        }
    })
}

/// Puts a stowed stack back: its saved part decompressed into fresh pages,
/// which then replace the sealed range in one `mremap`. Unsealing first and
/// copying after would let another thread write between the two, into bytes
/// the copy then overwrites.
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
    let saved = record.top - record.live_from;
    // SAFETY: the fresh mapping is `len` bytes long and nothing else knows
    // of it; the saved part's place in it lies inside.
    let to = unsafe {
        std::slice::from_raw_parts_mut(
            (fresh + (record.live_from - record.bottom)) as *mut u8,
            saved,
        )
    };
    // The image is ours, made by `encode` from exactly `saved` bytes.
    let dictionary = record.dictionary.as_deref().unwrap_or_default();
    let decompressed = lz4_flex::block::decompress_into_with_dict(&record.image, to, dictionary);
    if !matches!(decompressed, Ok(n) if n == saved) {
        fail(
            b"eventlet-rt: a stowed green thread stack did not decompress; the process \
            must end\n",
        );
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

/// How many stowed stacks were unstowed so far; written under the lock.
static UNSTOWED: AtomicU64 = AtomicU64::new(0);

/// Set for good by the first stow: until then no fault can be ours.
static EVER_STOWED: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Set while this thread holds the registry's lock.
    static HOLDING: Cell<bool> = const { Cell::new(false) };
    /// This thread's last fault that found no stowed stack: its address, and
    /// how many stacks had been unstowed then.
    static RETRIED_AT: Cell<(usize, u64)> = const { Cell::new((0, 0)) };
}

impl Registry {
    fn lock(&'static self) -> RegistryGuard {
        let mut spins = 0u32;
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            crate::sync::spin_backoff(&mut spins);
        }
        HOLDING.with(|holding| holding.set(true));
        RegistryGuard { registry: self }
    }
}

struct RegistryGuard {
    registry: &'static Registry,
}

impl RegistryGuard {
    fn stacks(&mut self) -> &mut BTreeMap<usize, NonNull<Stowed>> {
        // SAFETY: the guard holds the lock, and there is one guard at a time;
        // the borrow lasts as long as the guard's.
        unsafe { &mut *self.registry.stacks.get() }
    }

    fn insert(&mut self, stowed: NonNull<Stowed>) {
        // SAFETY: a live record (just made by `stow`).
        let top = unsafe { stowed.as_ref() }.top;
        self.stacks().insert(top, stowed);
        EVER_STOWED.store(true, Ordering::Release);
    }

    fn remove(&mut self, top: usize) {
        self.stacks().remove(&top);
    }

    /// The stowed stack whose range holds `address`.
    fn find(&mut self, address: usize) -> Option<&Stowed> {
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
