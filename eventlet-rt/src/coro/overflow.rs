//! Telling a stack overflow from any other unwind out of a coroutine.
//!
//! `generator`'s SIGSEGV/SIGBUS handler turns a hit on a stack's guard page
//! into an unwind out of `resume`, the same way out as any panic that would
//! escape the body. A handler chained in front of it notes, for this OS
//! thread, that a fault happened; the resume guard reads the note.
//!
//! The same handler first gives `stow.rs` the faults on sealed stacks: those
//! are accesses to a stowed stack, which it puts back; the access then goes
//! on and nothing is noted.

use std::cell::Cell;
use std::sync::Once;

use super::stow;
use crate::signal_chain::call_previous;

thread_local! {
    static FAULTED: Cell<bool> = const { Cell::new(false) };
}

/// The handlers that were installed before ours (`generator`'s), per signal.
static mut PREVIOUS: [std::mem::MaybeUninit<libc::sigaction>; 2] = [
    std::mem::MaybeUninit::zeroed(),
    std::mem::MaybeUninit::zeroed(),
];
const SIGNALS: [libc::c_int; 2] = [libc::SIGSEGV, libc::SIGBUS];

/// Chains the note-taking handler in front of the ones installed so far.
/// Call after the first coroutine exists (so that `generator`'s is there).
pub(crate) fn install_once() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        for (index, signal) in SIGNALS.into_iter().enumerate() {
            // SAFETY: `PREVIOUS` is written only here, once, before our
            // handler (its only reader) is installed; the action is a valid
            // `sigaction` with a handler of the `SA_SIGINFO` signature.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = note_fault as *const () as libc::sighandler_t;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                let previous = &raw mut PREVIOUS[index];
                libc::sigaction(signal, &action, (*previous).as_mut_ptr());
            }
        }
    });
}

/// True once a SIGSEGV or SIGBUS reached this OS thread (and was survived:
/// only `generator`'s guard-page handling survives one).
pub(crate) fn faulted() -> bool {
    FAULTED.with(Cell::get)
}

extern "C" fn note_fault(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    // SAFETY: the kernel hands a valid `siginfo_t` to an `SA_SIGINFO` handler;
    // for SIGSEGV its address is the faulting one.
    if signal == libc::SIGSEGV && stow::handle_fault(unsafe { (*info).si_addr() } as usize) {
        return;
    }
    // A const-initialised thread local without a destructor: a plain store,
    // safe in a signal handler.
    FAULTED.with(|flag| flag.set(true));
    let Some(index) = SIGNALS.iter().position(|&s| s == signal) else {
        return;
    };
    // SAFETY: `PREVIOUS` was filled before this handler was installed and is
    // never written again.
    let previous = unsafe { &*(&raw const PREVIOUS[index]).cast::<libc::sigaction>() };
    if !call_previous(previous, signal, info, context) {
        // SAFETY: restoring the previous disposition and returning makes the
        // faulting instruction fault again under it, as if we were not here.
        unsafe { libc::sigaction(signal, previous, std::ptr::null_mut()) };
    }
}
