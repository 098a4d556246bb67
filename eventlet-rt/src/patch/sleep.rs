//! Sleeping: `nanosleep` and `clock_nanosleep` (what `std::thread::sleep`
//! calls), for the realtime, monotonic and boot-time clocks.
//!
//! A kill or a timeout that lands in a green sleep ends it early with
//! `EINTR` and no time left over, so that std's sleep loop returns; the
//! green thread unwinds at its next green blocking point.

use std::ffi::c_int;
use std::time::Duration;

use libc::{clockid_t, timespec};

use super::in_green_code;
use super::real::real;
use super::wait::{catch_interrupt, fail};

pub(super) unsafe extern "C" fn nanosleep(request: *const timespec, left: *mut timespec) -> c_int {
    // SAFETY: the caller's `timespec`, when not null.
    let duration = (!request.is_null())
        .then(|| unsafe { *request })
        .and_then(duration);
    match duration {
        Some(duration) if in_green_code() => match green_sleep(duration) {
            0 => 0,
            // SAFETY: the caller's `timespec`, when not null.
            _ => unsafe {
                write_zero(left);
                fail(libc::EINTR) as c_int
            },
        },
        // SAFETY: the caller's arguments, passed on.
        _ => unsafe { (real().nanosleep)(request, left) },
    }
}

pub(super) unsafe extern "C" fn clock_nanosleep(
    clock: clockid_t,
    flags: c_int,
    request: *const timespec,
    left: *mut timespec,
) -> c_int {
    let green_clock = matches!(
        clock,
        libc::CLOCK_REALTIME | libc::CLOCK_MONOTONIC | libc::CLOCK_BOOTTIME
    );
    // SAFETY: the caller's `timespec`, when not null.
    let wanted = (!request.is_null())
        .then(|| unsafe { *request })
        .and_then(duration);
    let (Some(wanted), true, true) = (wanted, green_clock, in_green_code()) else {
        // SAFETY: the caller's arguments, passed on.
        return unsafe { (real().clock_nanosleep)(clock, flags, request, left) };
    };
    let sleep = if flags & libc::TIMER_ABSTIME != 0 {
        // SAFETY: `clock_gettime` writes the zeroed `timespec` it is given.
        let mut now: timespec = unsafe { std::mem::zeroed() };
        // SAFETY: `now` is a valid, writable `timespec`.
        unsafe { libc::clock_gettime(clock, &mut now) };
        wanted.saturating_sub(duration(now).unwrap_or_default())
    } else {
        wanted
    };
    match green_sleep(sleep) {
        0 => 0,
        errno => {
            if flags & libc::TIMER_ABSTIME == 0 {
                // SAFETY: the caller's `timespec`, when not null.
                unsafe { write_zero(left) };
            }
            errno // clock_nanosleep returns its error instead of setting errno
        }
    }
}

/// Sleeps the calling green thread; 0, or `EINTR` when interrupted.
fn green_sleep(duration: Duration) -> c_int {
    match catch_interrupt(|| crate::sleep(duration)) {
        Ok(()) => 0,
        Err(_) => libc::EINTR,
    }
}

fn duration(time: timespec) -> Option<Duration> {
    let seconds = u64::try_from(time.tv_sec).ok()?;
    let nanos = u32::try_from(time.tv_nsec)
        .ok()
        .filter(|&n| n < 1_000_000_000)?;
    Some(Duration::new(seconds, nanos))
}

/// # Safety
/// `left` is null or a writable `timespec`.
unsafe fn write_zero(left: *mut timespec) {
    if !left.is_null() {
        // SAFETY: the caller's promise.
        unsafe { *left = std::mem::zeroed() };
    }
}
