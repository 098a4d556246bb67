//! The program's view of its descriptors: `fcntl` and `ioctl(FIONBIO)`
//! (its `O_NONBLOCK`), `setsockopt` (its `SO_RCVTIMEO`/`SO_SNDTIMEO`).
//!
//! `fcntl` and `ioctl` are variadic in C. The hooks take their optional
//! argument as one more fixed argument: on the supported targets (the System
//! V x86-64 and the AArch64 Linux calling conventions) the first variadic
//! integer or pointer argument travels in the same register as a fixed one.

use std::ffi::{c_int, c_ulong, c_void};

use libc::socklen_t;

use super::fds::{self, Descriptor, Timeout};
use super::on_a_hub;
use super::real::real;
use super::wait;

pub(super) unsafe extern "C" fn fcntl(fd: c_int, command: c_int, argument: c_ulong) -> c_int {
    // SAFETY: the caller's arguments, passed on.
    let pass = || unsafe { (real().fcntl)(fd, command, argument) };
    match command {
        libc::F_GETFL => {
            let flags = pass();
            match Descriptor::of(fd) {
                Some(d) if flags >= 0 && d.kernel_nonblocking() && !d.user_nonblocking() => {
                    flags & !libc::O_NONBLOCK
                }
                _ => flags,
            }
        }
        libc::F_SETFL => {
            let Some(descriptor) = Descriptor::of(fd) else {
                return pass();
            };
            let nonblocking = argument as c_int & libc::O_NONBLOCK != 0;
            let kernel = if descriptor.kernel_nonblocking() {
                argument as c_int | libc::O_NONBLOCK
            } else {
                argument as c_int
            };
            // SAFETY: `F_SETFL` takes an int.
            let result = unsafe { (real().fcntl)(fd, libc::F_SETFL, kernel) };
            if result == 0 {
                user_set_nonblocking(&descriptor, nonblocking);
            }
            result
        }
        libc::F_SETFD => {
            let result = pass();
            if result == 0 && argument as c_int & libc::FD_CLOEXEC == 0 {
                fds::inheritable(fd);
            }
            result
        }
        libc::F_DUPFD | libc::F_DUPFD_CLOEXEC => {
            let copy = pass();
            if copy >= 0 {
                fds::duplicated(fd, copy);
            }
            copy
        }
        _ => pass(),
    }
}

/// The program changed `O_NONBLOCK`: from now on its calls pass through
/// (set) or are made green (cleared).
fn user_set_nonblocking(descriptor: &Descriptor, nonblocking: bool) {
    descriptor.set_user_nonblocking(nonblocking);
    if nonblocking && on_a_hub() {
        wait::release(descriptor.fd);
    }
}

pub(super) unsafe extern "C" fn ioctl(fd: c_int, request: c_ulong, argument: *mut c_void) -> c_int {
    if request == libc::FIONCLEX {
        fds::inheritable(fd);
    }
    if request == libc::FIONBIO
        && !argument.is_null()
        && let Some(descriptor) = Descriptor::of(fd)
    {
        // SAFETY: `FIONBIO` takes a pointer to an int.
        let nonblocking = unsafe { *argument.cast::<c_int>() } != 0;
        if descriptor.kernel_nonblocking() && !nonblocking {
            // It stays non-blocking underneath; the program sees it blocking.
            descriptor.set_user_nonblocking(false);
            return 0;
        }
        // SAFETY: the caller's arguments, passed on.
        let result = unsafe { (real().ioctl)(fd, request, argument) };
        if result == 0 {
            user_set_nonblocking(&descriptor, nonblocking);
        }
        return result;
    }
    // SAFETY: the caller's arguments, passed on.
    unsafe { (real().ioctl)(fd, request, argument) }
}

pub(super) unsafe extern "C" fn setsockopt(
    fd: c_int,
    level: c_int,
    option: c_int,
    value: *const c_void,
    length: socklen_t,
) -> c_int {
    // SAFETY: the caller's arguments, passed on.
    let result = unsafe { (real().setsockopt)(fd, level, option, value, length) };
    let direction = match option {
        libc::SO_RCVTIMEO => Timeout::Read,
        libc::SO_SNDTIMEO => Timeout::Write,
        _ => return result,
    };
    if result == 0
        && level == libc::SOL_SOCKET
        && length as usize >= size_of::<libc::timeval>()
        && let Some(descriptor) = Descriptor::of(fd)
    {
        // SAFETY: the kernel accepted it as a `timeval`.
        let timeout = unsafe { value.cast::<libc::timeval>().read_unaligned() };
        let micros = fds::timeval_micros(timeout);
        descriptor.set_timeout(
            direction,
            (micros > 0).then(|| std::time::Duration::from_micros(micros)),
        );
    }
    result
}
