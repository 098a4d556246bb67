//! The one wrapper around the `generator` crate: create, re-arm, resume and yield.
//!
//! Every context switch of the runtime goes through this file, and so does every
//! `unsafe` that the switching needs. The rest of the crate sees a [`Coroutine`]:
//! a stack with a body installed, resumed by the hub and suspended by
//! [`suspend`].

mod overflow;

use std::any::Any;
use std::marker::PhantomData;

use generator::Generator;

use crate::tuning::{MAX_PREFETCH_DEPTH, START_FRAMES_DEPTH, SUSPEND_FRAMES_BELOW};

/// A green thread's stack with a body installed on it.
///
/// The hub resumes it; the body calls [`suspend`] to give control back. When
/// the body returns the coroutine is done and its stack can be re-armed with
/// [`Coroutine::rearm`] for the next green thread.
pub(crate) struct Coroutine {
    generator: Generator<'static, (), ()>,
    stack_bytes: usize,
    /// The address of the stack's lowest page when [`release_stack_bottom`]
    /// gave it back to the kernel; 0 otherwise.
    released_bottom: usize,
    /// The generator's control block, just below the top of the stack: what
    /// a resume touches first.
    control_block: usize,
    /// The heap allocation where `generator` keeps the stack's bookkeeping
    /// (its bounds and allocation offset), which every start and finish of
    /// a body reads and writes; 0 where its place is not known.
    bookkeeping: usize,
    /// `!Send` and `!Sync`: a suspended stack may hold this OS thread's
    /// thread-local addresses and `Rc`s, so it must never be resumed, nor
    /// dropped, on another thread. The compiler now enforces what made the
    /// `unsafe impl Send` of the body wrapper below sound.
    _stays_on_its_thread: PhantomData<*const ()>,
}

/// Wraps a non-`Send` body so that it can be installed on a `Generator`.
///
/// `Generator` asks for `Send` bodies only because a `Generator` may be moved
/// to another OS thread. A `Coroutine` never leaves the thread-local hub that
/// created it (the hub and everything it owns is `!Send`), so the body always
/// runs on the thread that created it.
struct StaysOnThisThread<F>(F);

// SAFETY: see the type's docs: the coroutine holding the body is `!Send`
// (its `PhantomData<*const ()>`), so the compiler keeps it, and the body in
// it, on the thread that created it.
unsafe impl<F> Send for StaysOnThisThread<F> {}

impl<F: FnOnce()> StaysOnThisThread<F> {
    // A method (not a field access) so that closures capture the whole wrapper,
    // not its non-`Send` field.
    fn call(self) {
        (self.0)()
    }
}

impl Coroutine {
    /// Maps a new stack of `stack_bytes` (plus a guard page) and installs `body`.
    ///
    /// Panics when the kernel refuses the mapping; the stack pool turns that
    /// panic into a message that explains the limit.
    pub(crate) fn new(stack_bytes: usize, body: impl FnOnce() + 'static) -> Coroutine {
        let words = stack_bytes / std::mem::size_of::<usize>();
        // An even size: an odd one turns on stack-usage tracking, which touches every page.
        let words = words & !1;
        let body = StaysOnThisThread(body);
        let generator = generator::Gn::<()>::new_opt(words, move || body.call());
        overflow::install_once();
        let (generator, control_block, released_bottom) = release_stack_bottom(generator);
        Coroutine {
            generator,
            stack_bytes,
            released_bottom,
            control_block,
            bookkeeping: stack_bookkeeping(control_block),
            _stays_on_its_thread: PhantomData,
        }
    }

    /// Installs a new body on a finished coroutine, reusing its stack.
    pub(crate) fn rearm(&mut self, body: impl FnOnce() + 'static) {
        debug_assert!(self.is_done(), "re-armed a coroutine that is still running");
        let body = StaysOnThisThread(body);
        self.generator.init_code(move || body.call());
    }

    /// Runs the body until it suspends or returns.
    ///
    /// The body catches every unwind of user code, so what can leave the
    /// generator here is its report of a stack overflow, or a bug of the
    /// runtime: either ends the process, each with a message naming its cause.
    #[inline]
    pub(crate) fn resume(&mut self) {
        // A guard instead of `catch_unwind`, which would keep this call out
        // of line on every switch.
        let guard = AbortOnEscapedUnwind {
            stack_bytes: self.stack_bytes,
        };
        self.generator.resume();
        std::mem::forget(guard);
    }

    /// True once the body has returned.
    #[inline]
    pub(crate) fn is_done(&self) -> bool {
        self.generator.is_done()
    }

    /// Starts loading the top of this coroutine's stack into the cache (and
    /// its page into the TLB), for a resume or re-arm that comes soon.
    ///
    /// With many green threads runnable, each resume touches a stack that has
    /// gone cold since its last run; the hub calls this one task ahead so that
    /// the load overlaps the run of the task before.
    #[inline]
    ///
    /// `suspended_at` is about where the stack pointer was when the body last
    /// suspended ([`stack_position`] there), or 0: the frames from there up
    /// are loaded too, as far as [`MAX_PREFETCH_DEPTH`] below the top. So is
    /// the generator's bookkeeping of the stack, on the heap (see
    /// [`stack_bookkeeping`]).
    pub(crate) fn prefetch(&self, suspended_at: usize, cache: Cache) {
        // The control block (registers, state, the body's slot) up to the
        // top of the stack, and the frames below it.
        let top = stack_top(self.control_block);
        let below_control_block = self.control_block - 2 * 64;
        let lowest = if suspended_at == 0 {
            below_control_block
        } else {
            below_control_block.min(
                suspended_at
                    .saturating_sub(SUSPEND_FRAMES_BELOW)
                    .max(top - MAX_PREFETCH_DEPTH),
            )
        };
        let mut line = lowest & !63;
        while line < top {
            cache.prefetch(line);
            line += 64;
        }
        if self.bookkeeping != 0 {
            // Its two words of counts and four of fields may straddle two lines.
            cache.prefetch(self.bookkeeping);
            cache.prefetch(self.bookkeeping + BOOKKEEPING_BYTES - 1);
        }
    }

    /// Starts loading what re-arming this finished coroutine and starting
    /// its next body will write: the control block and the first frames.
    #[inline]
    pub(crate) fn prefetch_for_start(&self) {
        self.prefetch(
            self.control_block - START_FRAMES_DEPTH + SUSPEND_FRAMES_BELOW,
            Cache::Nearest,
        );
    }

    /// The usable size of this coroutine's stack, in bytes.
    pub(crate) fn stack_bytes(&self) -> usize {
        self.stack_bytes
    }
}

/// The generator's control block sits just below the top of its stack,
/// which is aligned to at least this much (a page).
const CONTROL_BLOCK_ALIGN: usize = 4096;

/// The top of the stack whose control block is at `control_block`.
#[inline(always)]
fn stack_top(control_block: usize) -> usize {
    (control_block | (CONTROL_BLOCK_ALIGN - 1)) + 1
}

/// Where, in `generator` 0.8.12's control block (its `GeneratorImpl`,
/// `#[repr(C)]`), the stack's `Rc<StackMem>` sits: right after the
/// register context, a `#[repr(C, align(128))]` struct of 256 bytes on
/// x86_64 Unix (eight saved registers and nine words of state).
#[cfg(all(target_arch = "x86_64", unix))]
const BOOKKEEPING_POINTER_OFFSET: Option<usize> = Some(256);
#[cfg(not(all(target_arch = "x86_64", unix)))]
const BOOKKEEPING_POINTER_OFFSET: Option<usize> = None;

/// The size of that `Rc<StackMem>` allocation: two reference counts, the
/// stack's two bounds, its allocation offset and a flag.
const BOOKKEEPING_BYTES: usize = 48;

/// The address of the heap allocation that holds a new generator's stack
/// bookkeeping, read once from its control block; 0 where unknown.
///
/// `generator` touches it whenever a body starts or finishes, and it lies
/// wherever the allocator put it when the stack was mapped, so with many
/// green threads it is as cold as the stack itself: the prefetches that
/// warm a stack warm it too. Only prefetched, never dereferenced, so a wrong
/// address would cost a wasted hint, not a fault.
fn stack_bookkeeping(control_block: usize) -> usize {
    let Some(offset) = BOOKKEEPING_POINTER_OFFSET else {
        return 0;
    };
    // SAFETY: `control_block` is the address of the generator's control
    // block, a live `GeneratorImpl` of `generator` 0.8.12 (pinned exactly in
    // Cargo.toml) on this stack's mapped, readable top page; on x86_64 Unix
    // its `stack` field, an initialized `Rc` (one aligned word), sits at
    // `offset`. Nothing holds a mutable borrow of the generator here (it was
    // created a moment ago and has not run), and the word is only read.
    unsafe { ((control_block + offset) as *const usize).read() }
}

/// About where the stack pointer is: the address of a local of the caller's
/// frame (callers record it before they suspend).
#[inline(always)]
pub(crate) fn stack_position() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

/// The word `generator` writes over the bottom of every new stack (its
/// `STACK_SENTINEL`), read back only by its `stack_usage` diagnostics.
const GENERATOR_STACK_SENTINEL: usize = 0xDEAD_BEEF;

/// Gives the lowest page of a new, never resumed stack back to the kernel.
///
/// `generator` 0.8.12 writes eight sentinel words at the bottom of each new
/// stack so that `stack_usage` can tell whether the stack ever grew that far.
/// That makes the page resident for the whole life of the stack, although a
/// green thread almost never reaches it: one page of the two a sleeping green
/// thread holds. This crate never asks for `stack_usage`, and nothing else
/// reads the page, so after `MADV_DONTNEED` it reads as zeros and costs no
/// memory until a green thread really grows that deep. Pooled stacks keep the
/// page released, as nothing writes it again. The generator checks the
/// sentinel once more when it is dropped, so [`Coroutine`]'s `Drop` writes it
/// back then. Returns the generator, the address of its control block and
/// the released page's address (0 when it released nothing).
fn release_stack_bottom(
    generator: Generator<'static, (), ()>,
) -> (Generator<'static, (), ()>, usize, usize) {
    let (stack_words, _) = generator.stack_usage();
    let stack_bytes = stack_words * std::mem::size_of::<usize>();
    let control_block = generator.into_raw() as usize;
    // SAFETY: `sysconf` only reads a constant of the system.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
    // The generator's control block is the first thing allocated on its stack,
    // right below the page-aligned top, and is much smaller than a page.
    let top = (control_block & !(page - 1)) + page;
    let bottom = top.wrapping_sub(stack_bytes);
    // Only release a page that provably is the stack's bottom: page aligned,
    // well below the top, holding the sentinel the generator just wrote.
    // SAFETY: when the first two checks pass, `bottom` lies in the stack
    // mapping (`stack_bytes` below its top, which is above the control block),
    // so it is mapped, readable and aligned for a `usize`.
    let is_bottom = bottom.is_multiple_of(page)
        && stack_bytes >= 4 * page
        && unsafe { (bottom as *const usize).read() } == GENERATOR_STACK_SENTINEL;
    // SAFETY: the page is part of a private anonymous mapping that no code
    // has run on yet; its only contents are the diagnostic sentinels, and
    // zeros are a valid value for every later reader (the one that checks the
    // sentinel gets it back from `Coroutine::drop`).
    let released = is_bottom
        && unsafe { libc::madvise(bottom as *mut libc::c_void, page, libc::MADV_DONTNEED) } == 0;
    // SAFETY: `control_block` came from `into_raw` on a generator of this very
    // type just above, and is reclaimed exactly once.
    let generator = unsafe { Generator::from_raw(control_block as *mut usize) };
    (generator, control_block, if released { bottom } else { 0 })
}

impl Drop for Coroutine {
    fn drop(&mut self) {
        if self.released_bottom == 0 || std::thread::panicking() {
            // A panicking thread's generator drop skips its checks.
            return;
        }
        // The generator's drop checks the sentinel at the bottom of a finished
        // stack and reports an overflow when it is gone. Finish the body first
        // (a suspended one unwinds, as the generator's drop would do), so that
        // no frame lives on the stack, then put the sentinel back.
        self.generator.cancel();
        if self.generator.is_done() {
            // SAFETY: `released_bottom` is the first word of this stack's
            // lowest page, still mapped (the generator is alive), and the body
            // has finished, so no frame uses that word.
            unsafe { (self.released_bottom as *mut usize).write(GENERATOR_STACK_SENTINEL) };
        }
    }
}

/// Which cache a prefetch fills.
#[derive(Clone, Copy)]
pub(crate) enum Cache {
    /// The first level: for what runs next.
    Nearest,
    /// The second level and beyond (and the TLB): for what runs a few
    /// dozen switches later, so that it does not push out of the first
    /// level what runs before it.
    Outer,
}

impl Cache {
    /// Starts loading the cache line holding `address` into this cache.
    #[inline(always)]
    fn prefetch(self, address: usize) {
        match self {
            Cache::Nearest => prefetch_line(address),
            Cache::Outer => prefetch_line_outer(address),
        }
    }
}

/// Asks the CPU to load the cache line holding `address` into the second
/// level cache (and its page's translation into the TLB).
#[inline(always)]
pub(crate) fn prefetch_line_outer(address: usize) {
    #[cfg(target_arch = "x86_64")]
    prefetch_with_hint::<{ std::arch::x86_64::_MM_HINT_T1 }>(address);
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

/// Asks the CPU to load the cache line holding `address`.
#[inline(always)]
pub(crate) fn prefetch_line(address: usize) {
    #[cfg(target_arch = "x86_64")]
    prefetch_with_hint::<{ std::arch::x86_64::_MM_HINT_T0 }>(address);
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

/// Issues a prefetch of `address` with one of the `_MM_HINT_*` levels.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn prefetch_with_hint<const HINT: i32>(address: usize) {
    // SAFETY: a prefetch is only a hint: it never faults, whatever the
    // address, and changes nothing the program can observe.
    unsafe { std::arch::x86_64::_mm_prefetch::<HINT>(address as *const i8) };
}

/// Gives control from the running coroutine back to the hub that resumed it.
///
/// Must only be called from inside a coroutine body.
#[inline]
pub(crate) fn suspend() {
    #[allow(deprecated)] // the scope-free yield is the one `init_code` bodies can use
    generator::yield_with(());
}

/// True for the unwind with which `generator` cancels a suspended coroutine
/// that is dropped (and its other control-flow unwinds): a catch site must
/// raise it again so that it reaches the bottom of the coroutine's stack.
pub(crate) fn is_cancellation(payload: &(dyn Any + Send)) -> bool {
    payload.is::<generator::Error>()
}

/// Ends the process when an unwind leaves [`Coroutine::resume`]: with the
/// overflow message only after a real overflow.
struct AbortOnEscapedUnwind {
    stack_bytes: usize,
}

impl Drop for AbortOnEscapedUnwind {
    #[cold]
    fn drop(&mut self) {
        if overflow::faulted() {
            eprintln!(
                "eventlet-rt: a green thread overflowed its stack of {} KiB and the process must \
                 end (its guard page was hit; no memory was corrupted). Give deep or large-frame \
                 code more stack: `eventlet_rt::Builder::new().stack_size(bytes).spawn(..)` for \
                 one green thread, or `eventlet_rt::hub::set_default_stack_size(bytes)` for every \
                 green thread of this OS thread.",
                self.stack_bytes / 1024
            );
        } else {
            eprintln!(
                "eventlet-rt: a panic escaped a green thread's boundary. The runtime catches \
                 every panic of user code there, so this is a bug in eventlet-rt (the panic \
                 message is above); the process must end."
            );
        }
        std::process::abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(all(target_arch = "x86_64", unix))]
    fn the_stack_bookkeeping_address_is_generators_rc_of_this_stack() {
        let coroutine = Coroutine::new(64 * 1024, || ());
        let top = stack_top(coroutine.control_block);
        assert_ne!(coroutine.bookkeeping, 0);
        assert_eq!(coroutine.bookkeeping % 8, 0);
        // SAFETY: only a test, run against the pinned generator version:
        // the address is its `Rc<StackMem>` allocation, alive as long as the
        // generator, of `BOOKKEEPING_BYTES`: two counts, then the fields.
        let words = unsafe {
            std::slice::from_raw_parts(coroutine.bookkeeping as *const usize, BOOKKEEPING_BYTES / 8)
        };
        let strong = words[0];
        assert!(
            (1..=4).contains(&strong),
            "not a reference count: {strong:#x} (generator's layout changed?)"
        );
        assert!(
            words[2..].contains(&top),
            "the stack's top {top:#x} is not among the fields {:x?} (generator's layout changed?)",
            &words[2..]
        );
    }

    #[test]
    fn a_new_stack_gives_its_bottom_page_back_and_drops_cleanly() {
        let mut finished = Coroutine::new(64 * 1024, || ());
        assert_ne!(finished.released_bottom, 0, "the bottom page was kept");
        finished.resume();
        assert!(finished.is_done());
        drop(finished); // the generator's sentinel check must pass

        let mut suspended = Coroutine::new(64 * 1024, suspend);
        suspended.resume();
        assert!(!suspended.is_done());
        drop(suspended); // unwinds the body first, then the check passes
    }
}
