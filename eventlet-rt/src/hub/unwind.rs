//! How the runtime unwinds a green thread, and catches unwinds at its boundaries.
//!
//! A kill or a timeout is an unwind the hub starts at the green thread's
//! blocking point; every catch site (the green thread's body, links,
//! `with_timeout`, `imap`) goes through [`catch`]. While a green thread
//! unwinds, a destructor may block: it is let finish, and a pending kill or
//! timeout waits until the unwind is over. Whether *this* green thread is
//! unwinding is tracked per task: `std::thread::panicking` is one count for
//! the whole OS thread, so it stays true while any green thread is suspended
//! mid-unwind and would make every other one immune to kills.

use std::any::Any;
use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};

use super::existing;
use crate::coro;
use crate::task::{Caught, Header, Interrupt, Unwind};

/// Runs `f`, catching every unwind but the `generator` crate's cancellation
/// of a dropped coroutine, which must reach the bottom of its stack and so is
/// raised again at once.
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Result<R, Caught> {
    panic::catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        if coro::is_cancellation(&*payload) {
            panic::resume_unwind(payload);
        }
        if let Some(hub) = existing() {
            hub.current_header().unwinding.set(false);
        }
        match payload.downcast::<Unwind>() {
            Ok(unwind) => Caught::Runtime(*unwind),
            Err(payload) => Caught::Panicked(payload),
        }
    })
}

/// Whether the running task is unwinding now (a panic, a kill or a timeout
/// under way on its stack); false outside any hub.
pub(crate) fn is_unwinding() -> bool {
    std::thread::panicking() && existing().is_some_and(|hub| hub.current_header().unwinding.get())
}

/// Unwinds the running task if an interrupt is pending for it.
#[inline]
pub(super) fn raise_interrupt(header: &Header) {
    if header.interrupt.get() != Interrupt::None {
        raise_pending_interrupt(header);
    }
}

#[cold]
#[inline(never)]
fn raise_pending_interrupt(header: &Header) {
    if header.unwinding.get() && std::thread::panicking() {
        // A destructor that blocks while this task unwinds is let finish first.
        return;
    }
    let unwind = match header.interrupt.get() {
        Interrupt::Timeout(id) => {
            header.interrupt.set(Interrupt::None);
            Unwind::TimedOut(id)
        }
        _ => Unwind::Killed,
    };
    header.unwinding.set(true);
    panic::resume_unwind(Box::new(unwind));
}

/// Chains a panic hook that marks the panicking task as unwinding (the hook
/// runs on its stack, before the unwind starts). Installed once per process.
pub(super) fn install_panic_hook() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            mark_current_unwinding();
            previous(info);
        }));
    });
}

fn mark_current_unwinding() {
    thread_local! {
        static IN_HOOK: Cell<bool> = const { Cell::new(false) };
    }
    // `existing` reads a thread local: skip it during thread-local teardown.
    let Ok(false) = IN_HOOK.try_with(|flag| flag.replace(true)) else {
        return;
    };
    if let Some(hub) = existing() {
        hub.current_header().unwinding.set(true);
    }
    let _ = IN_HOOK.try_with(|flag| flag.set(false));
}

/// Runs user code, catching its panics but not the runtime's own unwinds
/// (kill, timeout, a dropped coroutine), which go on at once.
pub(crate) fn catch_user_panic<R>(f: impl FnOnce() -> R) -> Result<R, Box<dyn Any + Send>> {
    catch(f).map_err(|caught| match caught {
        Caught::Panicked(payload) => payload,
        runtime => rethrow(runtime),
    })
}

/// Raises again, from a catch site that had to clean up first, what [`catch`] caught.
pub(crate) fn rethrow(caught: Caught) -> ! {
    if let Some(hub) = existing() {
        hub.current_header().unwinding.set(true);
    }
    match caught {
        Caught::Runtime(unwind) => panic::resume_unwind(Box::new(unwind)),
        Caught::Panicked(payload) => panic::resume_unwind(payload),
    }
}
