//! The one wrapper around the `generator` crate: create, re-arm, resume and yield.
//!
//! Every context switch of the runtime goes through this file, and so does every
//! `unsafe` that the switching needs. The rest of the crate sees a [`Coroutine`]:
//! a stack with a body installed, resumed by the hub and suspended by
//! [`suspend`].

use generator::Generator;

/// A green thread's stack with a body installed on it.
///
/// The hub resumes it; the body calls [`suspend`] to give control back. When
/// the body returns the coroutine is done and its stack can be re-armed with
/// [`Coroutine::rearm`] for the next green thread.
pub(crate) struct Coroutine {
    generator: Generator<'static, (), ()>,
    stack_bytes: usize,
}

/// Wraps a non-`Send` body so that it can be installed on a `Generator`.
///
/// `Generator` asks for `Send` bodies only because a `Generator` may be moved
/// to another OS thread. A `Coroutine` never leaves the thread-local hub that
/// created it (the hub and everything it owns is `!Send`), so the body always
/// runs on the thread that created it.
struct StaysOnThisThread<F>(F);

// SAFETY: see the type's docs: the coroutine holding the body is owned by a
// thread-local hub and is never sent to, resumed on or dropped on another thread.
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
        Coroutine {
            generator,
            stack_bytes,
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
    /// The only unwind that can leave `resume` is the generator crate's report
    /// of a stack overflow (the body itself catches everything else), so
    /// unwinding out of here ends the process with a message naming the cause.
    #[inline]
    pub(crate) fn resume(&mut self) {
        let guard = AbortOnOverflow {
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
}

/// Gives control from the running coroutine back to the hub that resumed it.
///
/// Must only be called from inside a coroutine body.
#[inline]
pub(crate) fn suspend() {
    #[allow(deprecated)] // the scope-free yield is the one `init_code` bodies can use
    generator::yield_with(());
}

/// Ends the process when a stack overflow unwinds out of [`Coroutine::resume`].
struct AbortOnOverflow {
    stack_bytes: usize,
}

impl Drop for AbortOnOverflow {
    fn drop(&mut self) {
        eprintln!(
            "eventlet-rt: a green thread overflowed its stack of {} KiB and the process must end \
             (its guard page was hit; no memory was corrupted). Give deep or large-frame code \
             more stack: `eventlet_rt::Builder::new().stack_size(bytes).spawn(..)` for one green \
             thread, or `eventlet_rt::hub::set_default_stack_size(bytes)` for every green thread \
             of this OS thread.",
            self.stack_bytes / 1024
        );
        std::process::abort();
    }
}
