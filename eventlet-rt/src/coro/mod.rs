//! The one wrapper around the `generator` crate: create, re-arm, resume and yield.
//!
//! Every context switch of the runtime goes through this file, and so does every
//! `unsafe` that the switching needs. The rest of the crate sees a [`Coroutine`]:
//! a stack with a body installed, resumed by the hub and suspended by
//! [`suspend`].

mod layout;
mod overflow;
mod pages;
mod prefetch;
mod stow;
#[cfg(test)]
mod tests_idle;

use std::any::Any;
use std::marker::PhantomData;
use std::ptr::NonNull;

use generator::Generator;

use layout::{
    GENERATOR_STACK_SENTINEL, NewStack, release_stack_bottom, saved_stack_pointer,
    stack_bookkeeping, stack_top,
};
pub(crate) use pages::page_size;
#[cfg(test)]
pub(crate) use pages::resident_pages;
#[cfg(test)]
pub(crate) use prefetch::for_each_line;
pub(crate) use prefetch::{Cache, StackReach};
use stow::Stowed;
pub(crate) use stow::Stower;

/// A green thread's stack with a body installed on it.
///
/// The hub resumes it; the body calls [`suspend`] to give control back. When
/// the body returns the coroutine is done and its stack can be re-armed with
/// [`Coroutine::rearm`] for the next green thread.
pub(crate) struct Coroutine {
    generator: Generator<'static, (), ()>,
    stack_bytes: usize,
    /// The stack's lowest address (its guard page is right below), or 0 when
    /// it is not known for sure: then no page of it is given back while its
    /// body runs.
    bottom: usize,
    /// The generator's control block, just below the top of the stack: what
    /// a resume touches first.
    control_block: usize,
    /// The heap allocation where `generator` keeps the stack's bookkeeping
    /// (its bounds and allocation offset), which every start and finish of
    /// a body reads and writes; 0 where its place is not known.
    bookkeeping: usize,
    /// The heap copy of the stack's used part while the stack is stowed
    /// ([`Coroutine::stow`]): its pages are gone and its range sealed.
    stowed: Option<NonNull<Stowed>>,
    /// True once the bottom page went back to the kernel with the
    /// generator's sentinel on it, which `Drop` then writes back.
    sentinel_gone: bool,
    /// True once the guard page was set apart from the stack's mapping (see
    /// [`pages::keep_out_of_core_dumps`]), which sealing the stack needs.
    guard_apart: bool,
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
        let NewStack {
            generator,
            control_block,
            bottom,
            bottom_released,
        } = release_stack_bottom(generator);
        Coroutine {
            generator,
            stack_bytes,
            bottom,
            control_block,
            bookkeeping: stack_bookkeeping(control_block),
            stowed: None,
            sentinel_gone: bottom_released,
            guard_apart: false,
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
        if self.stowed.is_some() {
            self.unstow();
        }
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

    /// The usable size of this coroutine's stack, in bytes.
    pub(crate) fn stack_bytes(&self) -> usize {
        self.stack_bytes
    }

    /// Gives back the pages of a suspended coroutine's stack that lie wholly
    /// below its frames: whatever its body touched at its deepest, it then
    /// holds only the pages from its stack pointer up. One `madvise`; the
    /// pages come back, zeroed, when the body grows that deep again. True
    /// when pages (resident or not) were given back.
    ///
    /// Nothing lives below a suspended coroutine's stack pointer: its frames
    /// are above it, and the switch out of it left nothing in the 128-byte
    /// red zone below (the switch is a call, which writes there itself).
    pub(crate) fn release_unused_pages(&mut self) -> bool {
        let Some(stack_pointer) = self.suspended_stack_pointer() else {
            return false;
        };
        let below_frames = (stack_pointer - RED_ZONE) & !(page_size() - 1);
        if below_frames <= self.bottom {
            return false;
        }
        // SAFETY: `bottom..below_frames` is page aligned, inside this
        // stack's private anonymous mapping, and below every frame of its
        // suspended body: nothing there is read again before it is written.
        let released = unsafe { pages::give_back(self.bottom, below_frames) };
        self.sentinel_gone |= released;
        released
    }

    /// Stows a suspended coroutine's stack: copies its used part (from the
    /// stack pointer up, lines of zeros left out) to the heap, gives every
    /// page of the stack back and seals the range, which stays reserved. The
    /// next [`resume`](Coroutine::resume) puts the stack back at the same
    /// addresses first, so its frames and every pointer into them hold; so
    /// does any access to the sealed range meanwhile, from any thread (see
    /// `stow.rs`). False when nothing was stowed: not supported here, already
    /// stowed, or refused by the kernel (the stack is then as it was).
    ///
    /// An idle green thread then costs the bytes its frames hold, not whole
    /// pages: about 1-2 KiB for a socket read in a handler.
    pub(crate) fn stow(&mut self, stower: &Stower) -> bool {
        if self.is_stowed() {
            return false;
        }
        // Put back by an access meanwhile: let the old copy go.
        self.unstow();
        let Some(stack_pointer) = self.suspended_stack_pointer() else {
            return false;
        };
        if !self.guard_apart {
            // SAFETY: the guard page lies right below `bottom`, in the mapping
            // `generator` made for this stack.
            self.guard_apart = unsafe { pages::keep_out_of_core_dumps(self.bottom - page_size()) };
            if !self.guard_apart {
                return false;
            }
        }
        // Exactly the frames: the switch out stored the stack pointer right
        // after its call pushed the return address, and keeps nothing below.
        let live_from = stack_pointer;
        // SAFETY: `bottom..top` is this stack's usable range, page aligned,
        // with a guard page apart below it; the body is suspended with its
        // stack pointer above `live_from` and stays so until `unstow`, which
        // every resume and the drop call first.
        match unsafe {
            stow::stow(
                self.bottom,
                stack_top(self.control_block),
                live_from,
                stower,
            )
        } {
            Ok(stowed) => {
                self.stowed = Some(stowed);
                self.sentinel_gone = true;
                true
            }
            Err(stow::NotStowed::Refused) => false,
        }
    }

    /// True while the stack is stowed (and not put back by an access to it).
    pub(crate) fn is_stowed(&self) -> bool {
        self.stowed.is_some_and(|stowed| {
            // SAFETY: a stowed record lives until `unstow` frees it.
            !unsafe { stowed.as_ref() }.was_restored()
        })
    }

    /// The heap bytes of the stowed copy, 0 when not stowed.
    #[cfg(test)]
    pub(crate) fn stowed_bytes(&self) -> usize {
        // SAFETY: a stowed record lives until `unstow` frees it.
        self.stowed
            .map_or(0, |stowed| unsafe { stowed.as_ref() }.heap_bytes())
    }

    /// Puts a stowed stack back before its body runs or is dropped.
    #[cold]
    #[inline(never)]
    fn unstow(&mut self) {
        if let Some(stowed) = self.stowed.take() {
            // SAFETY: it came from `stow::stow` for this stack and is
            // unstowed once (taken out of `self.stowed`).
            unsafe { stow::unstow(stowed) };
        }
    }

    /// The saved stack pointer of a suspended, unstowed body whose stack
    /// bounds are known, when it lies inside the stack.
    fn suspended_stack_pointer(&self) -> Option<usize> {
        if self.bottom == 0 || self.stowed.is_some() || self.is_done() {
            return None;
        }
        // SAFETY: the control block belongs to this live coroutine, which is
        // suspended (the hub holds it, so it is not running, and it is not
        // done) and not stowed.
        let stack_pointer = unsafe { saved_stack_pointer(self.control_block) }?;
        (self.bottom + RED_ZONE < stack_pointer && stack_pointer < self.control_block)
            .then_some(stack_pointer)
    }
}

/// The bytes below a stack pointer that code may use without moving it
/// (x86_64 System V); their page is kept when the pages below the frames
/// go, to be safe.
const RED_ZONE: usize = 128;

/// About where the stack pointer is: the address of a local of the caller's
/// frame (callers record it before they suspend).
#[inline(always)]
pub(crate) fn stack_position() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

impl Drop for Coroutine {
    fn drop(&mut self) {
        // Before anything can unmap the stack: the registry of stowed stacks
        // must never name a range that is not this stack's any more.
        self.unstow();
        if !self.sentinel_gone || std::thread::panicking() {
            // A panicking thread's generator drop skips its checks.
            return;
        }
        // The generator's drop checks the sentinel at the bottom of a finished
        // stack and reports an overflow when it is gone. Finish the body first
        // (a suspended one unwinds, as the generator's drop would do), so that
        // no frame lives on the stack, then put the sentinel back.
        self.generator.cancel();
        if self.generator.is_done() {
            // SAFETY: `bottom` is the first word of this stack's lowest page
            // (`sentinel_gone` is only set where `bottom` is known), mapped
            // and writable (the generator is alive, the stack not stowed),
            // and the body has finished, so no frame uses that word.
            unsafe { (self.bottom as *mut usize).write(GENERATOR_STACK_SENTINEL) };
        }
    }
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

    use layout::BOOKKEEPING_BYTES;

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
        assert!(finished.sentinel_gone, "the bottom page was kept");
        assert_ne!(finished.bottom, 0);
        finished.resume();
        assert!(finished.is_done());
        drop(finished); // the generator's sentinel check must pass

        let mut suspended = Coroutine::new(64 * 1024, suspend);
        suspended.resume();
        assert!(!suspended.is_done());
        drop(suspended); // unwinds the body first, then the check passes
    }
}
