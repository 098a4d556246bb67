//! The life of a socket: `socket`, `socketpair`, `accept`, `accept4`,
//! `connect`, `shutdown`, `close`, and the `dup` family that copies a
//! descriptor.
//!
//! A green `connect` on a blocking socket sets `O_NONBLOCK` for the call
//! only, parks until the socket is writable and reports `SO_ERROR`. A green
//! `accept` on a blocking listener keeps the listener non-blocking
//! underneath from then on (`F_GETFL` hides it, and a plain thread's accept
//! on it still blocks), so that two green threads accepting on one listener
//! never block the hub. `close` wakes the green threads of the hub that wait
//! on the descriptor: they fail with `EBADF`, and the last of them closes it.

use std::ffi::c_int;
use std::time::Instant;

use libc::{sockaddr, socklen_t};

use super::data::green_socket;
use super::fds::{self, Descriptor, Timeout};
use super::in_green_code;
use super::real::real;
use super::wait::{self, Retire, Wait, errno, fail};
use crate::hub::Direction;

/// The type of a socket without its creation flags.
fn is_stream(kind: c_int) -> bool {
    kind & !(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) == libc::SOCK_STREAM
}

pub(super) unsafe extern "C" fn socket(domain: c_int, kind: c_int, protocol: c_int) -> c_int {
    // SAFETY: the caller's arguments, passed on.
    let fd = unsafe { (real().socket)(domain, kind, protocol) };
    if fd >= 0 {
        fds::opened_socket(fd, is_stream(kind), kind & libc::SOCK_NONBLOCK != 0, [0, 0]);
    }
    fd
}

pub(super) unsafe extern "C" fn socketpair(
    domain: c_int,
    kind: c_int,
    protocol: c_int,
    pair: *mut c_int,
) -> c_int {
    // SAFETY: the caller's arguments, passed on.
    let result = unsafe { (real().socketpair)(domain, kind, protocol, pair) };
    if result == 0 {
        for end in 0..2 {
            // SAFETY: on success libc wrote two descriptors.
            let fd = unsafe { *pair.add(end) };
            fds::opened_socket(fd, is_stream(kind), kind & libc::SOCK_NONBLOCK != 0, [0, 0]);
        }
    }
    result
}

pub(super) unsafe extern "C" fn accept(
    fd: c_int,
    address: *mut sockaddr,
    length: *mut socklen_t,
) -> c_int {
    // SAFETY: `accept` is `accept4` without flags.
    unsafe { accept4(fd, address, length, 0) }
}

pub(super) unsafe extern "C" fn accept4(
    fd: c_int,
    address: *mut sockaddr,
    length: *mut socklen_t,
    flags: c_int,
) -> c_int {
    // SAFETY: the caller's arguments, passed on.
    let accept = || unsafe { (real().accept4)(fd, address, length, flags) } as libc::ssize_t;
    let Some(listener) = Descriptor::of(fd) else {
        return accept() as c_int;
    };
    let wait = Wait {
        direction: Direction::Read,
        timeout: listener.timeout(Timeout::Read),
        timeout_errno: libc::EAGAIN,
        stream_read: None,
    };
    let accepted = if listener.is_blocking_socket() && in_green_code() {
        if !listener.kernel_nonblocking() && set_nonblocking(fd, true) {
            listener.set_kernel_nonblocking();
        }
        wait.run(&listener, accept)
    } else if listener.kernel_nonblocking() && !listener.user_nonblocking() {
        blocking(&wait, fd, accept)
    } else {
        accept()
    };
    if accepted >= 0 {
        let stream = listener.is_stream();
        let nonblocking = flags & libc::SOCK_NONBLOCK != 0;
        fds::opened_socket(accepted as c_int, stream, nonblocking, fds::timeouts(fd));
    }
    accepted as c_int
}

/// Sets or clears `O_NONBLOCK` in the kernel; true on success.
fn set_nonblocking(fd: c_int, nonblocking: bool) -> bool {
    // SAFETY: `F_GETFL` takes no argument, `F_SETFL` an int.
    unsafe {
        let flags = (real().fcntl)(fd, libc::F_GETFL);
        if flags < 0 {
            return false;
        }
        let flags = if nonblocking {
            flags | libc::O_NONBLOCK
        } else {
            flags & !libc::O_NONBLOCK
        };
        (real().fcntl)(fd, libc::F_SETFL, flags) == 0
    }
}

/// A plain thread's call on a descriptor the hooks keep non-blocking
/// underneath: it blocks in `poll` as the kernel would have blocked.
fn blocking(wait: &Wait, fd: c_int, mut op: impl FnMut() -> libc::ssize_t) -> libc::ssize_t {
    let deadline = wait.timeout.map(|timeout| Instant::now() + timeout);
    loop {
        let result = op();
        if result >= 0 || errno() != libc::EAGAIN {
            return result;
        }
        let milliseconds = match deadline {
            None => -1,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return fail(wait.timeout_errno);
                }
                c_int::try_from(left.as_millis().max(1)).unwrap_or(c_int::MAX)
            }
        };
        let mut poll = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid `pollfd`.
        unsafe { (real().poll)(&mut poll, 1, milliseconds) };
    }
}

pub(super) unsafe extern "C" fn connect(
    fd: c_int,
    address: *const sockaddr,
    length: socklen_t,
) -> c_int {
    let Some(descriptor) = green_socket(fd) else {
        // SAFETY: the caller's arguments, passed on.
        return unsafe { (real().connect)(fd, address, length) };
    };
    if !set_nonblocking(fd, true) {
        // SAFETY: as above.
        return unsafe { (real().connect)(fd, address, length) };
    }
    // SAFETY: the caller's arguments, passed on.
    let started = unsafe { (real().connect)(fd, address, length) };
    let error = errno();
    set_nonblocking(fd, false);
    if started == 0 || error != libc::EINPROGRESS {
        return if started == 0 {
            0
        } else {
            fail(error) as c_int
        };
    }
    let wait = Wait {
        direction: Direction::Write,
        timeout: descriptor.timeout(Timeout::Write),
        timeout_errno: libc::EINPROGRESS, // as Linux answers when SO_SNDTIMEO passes
        stream_read: None,
    };
    let connected = wait.run(&descriptor, || {
        let mut poll = libc::pollfd {
            fd,
            events: libc::POLLOUT,
            revents: 0,
        };
        // SAFETY: one valid `pollfd`.
        match unsafe { (real().poll)(&mut poll, 1, 0) } {
            0 => fail(libc::EAGAIN),
            ready => ready as libc::ssize_t,
        }
    });
    if connected < 0 {
        return -1;
    }
    match fds::take_socket_error(fd) {
        0 => 0,
        error => fail(error) as c_int,
    }
}

pub(super) unsafe extern "C" fn shutdown(fd: c_int, how: c_int) -> c_int {
    // SAFETY: the caller's arguments, passed on.
    let result = unsafe { (real().shutdown)(fd, how) };
    if result == 0 && how != libc::SHUT_WR && in_green_code() {
        wait::read_side_shut(fd);
    }
    result
}

pub(super) unsafe extern "C" fn close(fd: c_int) -> c_int {
    let deferred = in_green_code() && wait::retire(fd, Retire::Close);
    fds::closed(fd);
    if deferred {
        return 0;
    }
    // SAFETY: the caller's argument, passed on.
    unsafe { (real().close)(fd) }
}

pub(super) unsafe extern "C" fn dup(fd: c_int) -> c_int {
    // SAFETY: the caller's argument, passed on.
    let copy = unsafe { (real().dup)(fd) };
    if copy >= 0 {
        fds::duplicated(fd, copy);
    }
    copy
}

pub(super) unsafe extern "C" fn dup2(fd: c_int, onto: c_int) -> c_int {
    // `dup2` is `dup3` without flags, except onto itself.
    if fd == onto {
        // SAFETY: the caller's arguments, passed on to the real `dup2`.
        return unsafe { (real().dup2)(fd, onto) };
    }
    // SAFETY: as above.
    unsafe { dup3(fd, onto, 0) }
}

pub(super) unsafe extern "C" fn dup3(fd: c_int, onto: c_int, flags: c_int) -> c_int {
    if fd != onto && in_green_code() {
        wait::retire(onto, Retire::Replaced);
    }
    // SAFETY: the caller's arguments, passed on.
    let result = unsafe { (real().dup3)(fd, onto, flags) };
    if result >= 0 {
        fds::duplicated(fd, onto);
    }
    result
}
