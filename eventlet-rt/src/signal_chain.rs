//! Chaining to the signal handler that was installed before ours.
//!
//! The runtime installs two handlers in front of others (`coro`'s fault note
//! and the blocking detector's `SIGURG`); both hand on what is not theirs.

/// Calls the handler of `previous` with the arguments the kernel gave us;
/// false when `previous` is `SIG_DFL` or `SIG_IGN` (nothing to call).
pub(crate) fn call_previous(
    previous: &libc::sigaction,
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) -> bool {
    let handler = previous.sa_sigaction;
    if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
        return false;
    }
    if previous.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: installed with `SA_SIGINFO`, the handler has this signature.
        let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { std::mem::transmute(handler) };
        handler(signal, info, context);
    } else {
        // SAFETY: without `SA_SIGINFO` a handler takes the signal number only.
        let handler: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(handler) };
        handler(signal);
    }
    true
}
