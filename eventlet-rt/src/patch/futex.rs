//! The `syscall` hook: std's `Mutex`, `RwLock` and `Once` waits in green
//! code park only the green thread, and a `FUTEX_WAKE` from any thread
//! resumes it.
//!
//! std reaches the kernel's futex through libc's `syscall(SYS_futex, ...)`.
//! A wait is taken over only when all of these hold, and otherwise goes to
//! libc unchanged with all its arguments (so does every other system call):
//! - it is `FUTEX_WAIT` or `FUTEX_WAIT_BITSET` (any bit) on a private futex;
//! - it comes from one of std's lock waits (see `futex_sites`), whose words
//!   mean "any waiter may proceed": std loops on them, so an extra wake-up
//!   costs a turn of the loop, and a wake-up may go to any waiter;
//! - the caller is green code (see `in_green_code`), and not taking one of
//!   the runtime's own locks (`sync::lock_unpoisoned`, which marks the OS
//!   thread while it waits: the hub's inbox, remote waits...).
//!
//! A `FUTEX_WAKE` on a private futex wakes the green waiters of that
//! address first (any thread's: a remote one through its hub's inbox), then
//! passes what is left of its count to the kernel for OS threads waiting
//! there; a wake that woke as many green threads as it asked for stops
//! there, as a kernel wake that found that many waiters would.
//!
//! The runtime's own paths never park: the table (`futex_table`) takes a
//! spin lock, not a std one; the wake-ups it fires take the hub inboxes'
//! locks through `sync::lock_unpoisoned`, whose waits go to the kernel; and
//! the hub's loop is never green code. A forked child leaves the table alone
//! (a thread that held a bucket at the fork is not in the child).

use std::ffi::{c_int, c_long};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::futex_sites;
use super::futex_table;
use super::real::real;
use super::wait::fail;
use crate::hub::{self, RemoteCompletion};
use crate::task::{Interrupt, Unwind};

/// Takes the place of libc's `syscall`, entered through
/// `trampoline::syscall_entry`, which adds `site`: where the call returns to.
///
/// # Safety
/// Called as libc's `syscall(number, ...)` would be, with up to six more
/// arguments (those not passed are unused registers or stack words).
#[allow(
    clippy::too_many_arguments,
    reason = "the C ABI of `syscall`, plus the call site"
)]
pub(super) unsafe extern "C" fn syscall_hook(
    number: c_long,
    a1: c_long,
    a2: c_long,
    a3: c_long,
    a4: c_long,
    a5: c_long,
    a6: c_long,
    site: usize,
) -> c_long {
    if number == libc::SYS_futex
        // SAFETY: the arguments of a futex call, as the caller passed them.
        && let Some(done) = unsafe { futex(a1 as usize, a2 as c_int, a3 as u32, a4, a6 as u32, site) }
    {
        return done;
    }
    // SAFETY: libc's `syscall`, with every argument the caller passed (and
    // the unused ones, which the kernel ignores).
    unsafe { (real().syscall)(number, a1, a2, a3, a4, a5, a6) }
}

/// A futex call that the hooks take; `None` for one that goes to libc.
///
/// # Safety
/// `address` and `timeout` are the futex call's own, valid for the kernel.
unsafe fn futex(
    address: usize,
    op: c_int,
    value: u32,
    timeout: c_long,
    bitset: u32,
    site: usize,
) -> Option<c_long> {
    if op & libc::FUTEX_PRIVATE_FLAG == 0 {
        return None;
    }
    match op & libc::FUTEX_CMD_MASK {
        libc::FUTEX_WAIT | libc::FUTEX_WAIT_BITSET => {
            futex_sites::note_wait(site, address);
            if !futex_sites::is_lock_wait(site)
                || !super::in_green_code()
                || crate::sync::taking_runtime_lock()
            {
                return None;
            }
            // SAFETY: the call's own timeout.
            let deadline = unsafe { deadline(op, timeout as *const libc::timespec) }?;
            wait(address, value, deadline)
        }
        libc::FUTEX_WAKE | libc::FUTEX_WAKE_BITSET => {
            if super::FORKED.load(Ordering::Relaxed)
                || (op & libc::FUTEX_CMD_MASK == libc::FUTEX_WAKE_BITSET && bitset == 0)
            {
                return None;
            }
            let wanted = usize::try_from(value as c_int).ok().filter(|&n| n > 0)?;
            let green = futex_table::TABLE.wake(address, wanted);
            if green == 0 {
                return None;
            }
            if green == wanted {
                return Some(green as c_long);
            }
            let rest = (wanted - green) as c_long;
            // SAFETY: the same wake, for the OS threads waiting there.
            let kernel = unsafe {
                (real().syscall)(
                    libc::SYS_futex,
                    address as c_long,
                    op as c_long,
                    rest,
                    0,
                    0,
                    bitset as c_long,
                )
            };
            Some(green as c_long + kernel.max(0))
        }
        _ => None,
    }
}

/// When a wait with `timeout` (as the call passes it: relative for
/// `FUTEX_WAIT`, absolute for `FUTEX_WAIT_BITSET`) ends: `Some(None)` for
/// never, `None` for a timeout the kernel should judge (invalid).
///
/// # Safety
/// `timeout` is null or points to a `timespec`.
unsafe fn deadline(op: c_int, timeout: *const libc::timespec) -> Option<Option<Instant>> {
    if timeout.is_null() {
        return Some(None);
    }
    // SAFETY: see above.
    let timeout = unsafe { *timeout };
    let valid = timeout.tv_sec >= 0 && (0..1_000_000_000).contains(&timeout.tv_nsec);
    if !valid {
        return None;
    }
    let given = Duration::new(timeout.tv_sec as u64, timeout.tv_nsec as u32);
    if op & libc::FUTEX_CMD_MASK == libc::FUTEX_WAIT {
        return Some(Instant::now().checked_add(given));
    }
    let clock = if op & libc::FUTEX_CLOCK_REALTIME != 0 {
        libc::CLOCK_REALTIME
    } else {
        libc::CLOCK_MONOTONIC
    };
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock and a `timespec` to fill.
    unsafe { libc::clock_gettime(clock, &mut now) };
    let now = Duration::new(now.tv_sec as u64, now.tv_nsec as u32);
    Some(Instant::now().checked_add(given.saturating_sub(now)))
}

/// Parks the calling green thread until a `FUTEX_WAKE` on `address` takes it
/// off the table, or `deadline`, unless the word no longer holds `expected`
/// once it is registered; returns as the system call would (0, or -1 with
/// `EAGAIN` or `ETIMEDOUT`), or `None` when the hub refused to park it (a
/// tokio task that the hub's tokio turn runs may not block the hub; the
/// hub's panic says so): then the kernel waits, as without the hook.
///
/// A kill or a `with_timeout` that lands meanwhile does not end the wait:
/// std's lock cannot fail or be unwound through, so the green thread goes
/// on waiting for the lock and the interrupt is raised again once the wait
/// ends, at the green thread's next blocking point.
///
/// While the hub is torn down, a waiter is not kept in the table: teardown
/// abandons a green thread still blocked at the end of its grace period,
/// without resuming it, and an entry of its would take a later wake-up that
/// a live waiter needs. A waiter there polls instead (see `teardown_wait`),
/// and one in the table when the teardown's kill comes leaves it and
/// returns as a spurious wake-up, after which std's loop waits again.
fn wait(address: usize, expected: u32, deadline: Option<Instant>) -> Option<c_long> {
    let hub = hub::current();
    let task = hub.current_task();
    let header = task.header();
    if hub.is_shutting_down() {
        return teardown_wait(hub, header, address, expected, deadline);
    }
    let (completion, waker) = RemoteCompletion::new();
    // Where the completion lives: no other waiter's can be there meanwhile.
    let id = &raw const completion as usize;
    futex_table::TABLE.enter(address, id, waker);
    // SAFETY: std's futex word, a live `u32` of the lock that waits on it
    // (the kernel would read it here).
    let word = unsafe { AtomicU32::from_ptr(address as *mut u32) }.load(Ordering::Relaxed);
    let mut deferred = Interrupt::None;
    let mut woken = false;
    let mut refused = false;
    if word == expected {
        loop {
            defer(&mut deferred, header.interrupt.replace(Interrupt::None));
            match panic::catch_unwind(AssertUnwindSafe(|| completion.wait_until(deadline))) {
                Ok(fired) => {
                    woken = fired;
                    break;
                }
                Err(payload) => {
                    header.unwinding.set(false);
                    match payload.downcast_ref::<Unwind>() {
                        Some(Unwind::Killed) if hub.is_shutting_down() => {
                            defer(&mut deferred, Interrupt::Kill);
                            break;
                        }
                        Some(Unwind::Killed) => defer(&mut deferred, Interrupt::Kill),
                        Some(Unwind::TimedOut(scope)) => {
                            defer(&mut deferred, Interrupt::Timeout(*scope));
                        }
                        None => {
                            refused = true;
                            break;
                        }
                    }
                }
            }
        }
    }
    // A waker that fired took the waiter off the table first.
    let unwoken = !woken && futex_table::TABLE.leave(address, id);
    drop(completion);
    header.raise(deferred);
    if refused && unwoken {
        return None;
    }
    Some(if !unwoken {
        0
    } else if word != expected {
        fail(libc::EAGAIN) as c_long
    } else if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
        fail(libc::ETIMEDOUT) as c_long
    } else {
        0 // a spurious return, which std's loops allow
    })
}

/// How long a waiter of a hub being torn down sleeps between looks at the
/// futex word.
const TEARDOWN_POLL: Duration = Duration::from_millis(1);

/// A futex wait of a green thread whose hub is being torn down: sleeps
/// green for [`TEARDOWN_POLL`] (or until `deadline`) unless the word no
/// longer holds `expected`, and returns as a spurious wake-up, so std's loop
/// looks at its lock again; nothing is left in the table if the teardown
/// abandons the green thread. Interrupts are held back as in [`wait`].
fn teardown_wait(
    hub: &hub::Hub,
    header: &crate::task::Header,
    address: usize,
    expected: u32,
    deadline: Option<Instant>,
) -> Option<c_long> {
    // SAFETY: as in `wait`.
    let word = unsafe { AtomicU32::from_ptr(address as *mut u32) }.load(Ordering::Relaxed);
    if word != expected {
        return Some(fail(libc::EAGAIN) as c_long);
    }
    let now = Instant::now();
    if deadline.is_some_and(|deadline| now >= deadline) {
        return Some(fail(libc::ETIMEDOUT) as c_long);
    }
    let until = deadline.map_or(now + TEARDOWN_POLL, |deadline| {
        deadline.min(now + TEARDOWN_POLL)
    });
    let mut deferred = header.interrupt.replace(Interrupt::None);
    let slept = panic::catch_unwind(AssertUnwindSafe(|| hub.park_until(Some(until))));
    if let Err(payload) = slept {
        header.unwinding.set(false);
        match payload.downcast_ref::<Unwind>() {
            Some(Unwind::Killed) => defer(&mut deferred, Interrupt::Kill),
            Some(Unwind::TimedOut(scope)) => defer(&mut deferred, Interrupt::Timeout(*scope)),
            None => {
                header.raise(deferred);
                return None;
            }
        }
    }
    header.raise(deferred);
    Some(0)
}

/// Keeps `interrupt` for later, with the one kept already (the one that
/// unwinds the most wins, as in `Header::raise`).
fn defer(deferred: &mut Interrupt, interrupt: Interrupt) {
    *deferred = match (*deferred, interrupt) {
        (Interrupt::Kill, _) | (_, Interrupt::Kill) => Interrupt::Kill,
        (Interrupt::Timeout(a), Interrupt::Timeout(b)) => Interrupt::Timeout(a.min(b)),
        (Interrupt::None, other) | (other, Interrupt::None) => other,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timespec(since: Duration) -> libc::timespec {
        libc::timespec {
            tv_sec: since.as_secs() as libc::time_t,
            tv_nsec: since.subsec_nanos().into(),
        }
    }

    #[test]
    fn futex_timeouts_become_deadlines() {
        // SAFETY: null, or a local `timespec`.
        unsafe {
            assert_eq!(deadline(libc::FUTEX_WAIT, std::ptr::null()), Some(None));
            let before = Instant::now();
            let relative = timespec(Duration::from_secs(5));
            let ends = deadline(libc::FUTEX_WAIT, &relative).unwrap().unwrap();
            assert!(ends >= before + Duration::from_secs(5));
            assert!(ends <= Instant::now() + Duration::from_secs(5));
            let mut now = timespec(Duration::ZERO);
            libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now);
            let absolute = timespec(
                Duration::new(now.tv_sec as u64, now.tv_nsec as u32) + Duration::from_secs(5),
            );
            let ends = deadline(libc::FUTEX_WAIT_BITSET, &absolute)
                .unwrap()
                .unwrap();
            let left = ends.saturating_duration_since(Instant::now());
            assert!(
                left <= Duration::from_secs(5) && left > Duration::from_secs(4),
                "{left:?}"
            );
            let invalid = libc::timespec {
                tv_sec: 0,
                tv_nsec: 1_000_000_000,
            };
            assert_eq!(
                deadline(libc::FUTEX_WAIT, &invalid),
                None,
                "the kernel's EINVAL"
            );
        }
    }
}
