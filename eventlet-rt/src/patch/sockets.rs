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
use super::fds::{self, Descriptor, NewSocket, Timeout};
use super::real::real;
use super::wait::{self, Retire, Wait, catch_interrupt, errno, fail};
use super::{in_green_code, on_a_hub};
use crate::hub::Direction;

/// The type of a socket without its creation flags.
fn is_stream(kind: c_int) -> bool {
    kind & !(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) == libc::SOCK_STREAM
}

/// What a socket made with these arguments is.
fn new_socket(domain: c_int, kind: c_int) -> NewSocket {
    NewSocket {
        stream: is_stream(kind),
        tcp: fds::is_inet(domain),
        nonblocking: kind & libc::SOCK_NONBLOCK != 0,
        private: false,
        timeouts: [0, 0],
    }
}

pub(super) unsafe extern "C" fn socket(domain: c_int, kind: c_int, protocol: c_int) -> c_int {
    // SAFETY: the caller's arguments, passed on.
    let fd = unsafe { (real().socket)(domain, kind, protocol) };
    if fd >= 0 {
        let private = kind & libc::SOCK_CLOEXEC != 0;
        fds::opened_socket(
            fd,
            NewSocket {
                private,
                ..new_socket(domain, kind)
            },
        );
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
            fds::opened_socket(fd, new_socket(domain, kind));
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
        let socket = NewSocket {
            stream: listener.is_stream(),
            tcp: listener.short_read_drains(),
            nonblocking: flags & libc::SOCK_NONBLOCK != 0,
            private: false,
            timeouts: fds::timeouts(fd),
        };
        fds::opened_socket(accepted as c_int, socket);
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
    if !descriptor.is_private() {
        // SAFETY: the caller's address, of `length` bytes.
        return unsafe { connect_on_the_pool(fd, address, length) };
    }
    // Nobody else shares the open file: its O_NONBLOCK may change for the
    // call unseen.
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

/// A blocking connect of a socket whose open file others may share (a
/// duplicate, another process): its flags must not change, so the connect
/// blocks a pool thread instead, through a duplicate of the descriptor that
/// the job owns, with a copy of the address (a kill or timeout may end the
/// green wait before the connect ends).
///
/// # Safety
/// `address` points to `length` readable bytes.
unsafe fn connect_on_the_pool(fd: c_int, address: *const sockaddr, length: socklen_t) -> c_int {
    if address.is_null() {
        return fail(libc::EFAULT) as c_int;
    }
    // SAFETY: the caller's promise.
    let address = unsafe { std::slice::from_raw_parts(address.cast::<u8>(), length as usize) };
    let mut storage: libc::sockaddr_storage =
        // SAFETY: all zeros is a valid `sockaddr_storage`.
        unsafe { std::mem::zeroed() };
    let copied = address.len().min(size_of::<libc::sockaddr_storage>());
    // SAFETY: `storage` has room for `copied` bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(address.as_ptr(), (&raw mut storage).cast::<u8>(), copied)
    };
    // SAFETY: duplicating the caller's descriptor.
    let copy = unsafe { (real().dup)(fd) };
    if copy < 0 {
        return -1;
    }
    let job = move || {
        // SAFETY: our own duplicate and address copy.
        let result = unsafe { (real().connect)(copy, (&raw const storage).cast(), length) };
        let error = errno();
        fds::closed(copy);
        // SAFETY: the job's own duplicate.
        unsafe { (real().close)(copy) };
        (result, error)
    };
    match catch_interrupt(|| crate::tpool::execute(job)) {
        Ok((0, _)) => 0,
        Ok((_, error)) => fail(error) as c_int,
        Err(errno) => fail(errno) as c_int,
    }
}

pub(super) unsafe extern "C" fn shutdown(fd: c_int, how: c_int) -> c_int {
    // SAFETY: the caller's arguments, passed on.
    let result = unsafe { (real().shutdown)(fd, how) };
    if result == 0 && how != libc::SHUT_WR && on_a_hub() {
        wait::read_side_shut(fd);
    }
    result
}

pub(super) unsafe extern "C" fn close(fd: c_int) -> c_int {
    let deferred = on_a_hub() && wait::retire(fd, Retire::Close);
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
    if fd != onto && on_a_hub() {
        wait::retire(onto, Retire::Replaced);
    }
    // SAFETY: the caller's arguments, passed on.
    let result = unsafe { (real().dup3)(fd, onto, flags) };
    if result >= 0 {
        fds::duplicated(fd, onto);
    }
    result
}
