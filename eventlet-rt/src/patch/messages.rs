//! Several messages in one call, and whole messages: `recvmmsg`,
//! `sendmmsg`, and `recvmsg` with `MSG_WAITALL` on a stream.
//!
//! Each is made without blocking (`MSG_DONTWAIT`) and parks where the
//! kernel would block, with the kernel's blocking semantics: `recvmmsg`
//! waits for all its messages (for the first one only under
//! `MSG_WAITFORONE`) or its timeout, `sendmmsg` sends all of them, a
//! `MSG_WAITALL` read fills all its buffers; an error or a timeout after
//! some progress returns the progress.

use std::ffi::{c_int, c_uint};
use std::time::{Duration, Instant};

use libc::{iovec, mmsghdr, msghdr, ssize_t, timespec};

use super::data::{green_socket, iovecs, read_wait, remaining, skip, write_wait};
use super::fds::Descriptor;
use super::real::real;

pub(super) unsafe extern "C" fn recvmmsg(
    fd: c_int,
    messages: *mut mmsghdr,
    count: c_uint,
    flags: c_int,
    timeout: *mut timespec,
) -> c_int {
    // SAFETY: a non-null timeout is the caller's `timespec`.
    let limit = (!timeout.is_null()).then(|| unsafe { *timeout });
    let limit = limit.map(|time| {
        let seconds = u64::try_from(time.tv_sec).unwrap_or(0);
        let nanos = u32::try_from(time.tv_nsec).unwrap_or(0).min(999_999_999);
        Duration::new(seconds, nanos)
    });
    let descriptor = match green_socket(fd) {
        Some(descriptor) if flags & libc::MSG_DONTWAIT == 0 && count > 0 => descriptor,
        // SAFETY: the caller's arguments, passed on.
        _ => return unsafe { (real().recvmmsg)(fd, messages, count, flags, timeout) },
    };
    let deadline = limit.map(|limit| Instant::now() + limit);
    let one = flags & libc::MSG_WAITFORONE != 0;
    let flags = (flags & !libc::MSG_WAITFORONE) | libc::MSG_DONTWAIT;
    let mut received: c_uint = 0;
    while received < count && !(one && received > 0) {
        let mut wait = read_wait(&descriptor, None);
        wait.timeout = deadline.map(|deadline| deadline.saturating_duration_since(Instant::now()));
        // SAFETY: the caller's messages past those already filled.
        let result = wait.run(&descriptor, || unsafe {
            (real().recvmmsg)(
                fd,
                messages.add(received as usize),
                count - received,
                flags,
                std::ptr::null_mut(),
            ) as ssize_t
        });
        if result < 0 {
            return if received > 0 {
                received as c_int
            } else {
                result as c_int
            };
        }
        received += result as c_uint;
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            break;
        }
    }
    received as c_int
}

pub(super) unsafe extern "C" fn sendmmsg(
    fd: c_int,
    messages: *mut mmsghdr,
    count: c_uint,
    flags: c_int,
) -> c_int {
    let descriptor = match green_socket(fd) {
        Some(descriptor) if flags & libc::MSG_DONTWAIT == 0 && count > 0 => descriptor,
        // SAFETY: the caller's arguments, passed on.
        _ => return unsafe { (real().sendmmsg)(fd, messages, count, flags) },
    };
    let wait = write_wait(&descriptor);
    let mut sent: c_uint = 0;
    while sent < count {
        // SAFETY: the caller's messages past those already sent.
        let result = wait.run(&descriptor, || unsafe {
            (real().sendmmsg)(
                fd,
                messages.add(sent as usize),
                count - sent,
                flags | libc::MSG_DONTWAIT,
            ) as ssize_t
        });
        if result < 0 {
            return if sent > 0 {
                sent as c_int
            } else {
                result as c_int
            };
        }
        sent += result as c_uint;
    }
    sent as c_int
}

/// `recvmsg` on a green socket, filling every buffer of a stream under
/// `MSG_WAITALL` (the control data comes with the first part).
///
/// # Safety
/// `message` is the caller's valid `msghdr`.
pub(super) unsafe fn receive_message(
    descriptor: &Descriptor,
    message: *mut msghdr,
    flags: c_int,
) -> ssize_t {
    let whole =
        flags & libc::MSG_WAITALL != 0 && flags & libc::MSG_PEEK == 0 && descriptor.is_stream();
    let flags = (flags & !libc::MSG_WAITALL) | libc::MSG_DONTWAIT;
    let wait = read_wait(descriptor, None);
    // SAFETY: the caller's message, passed on.
    let first = wait.run(descriptor, || unsafe {
        (real().recvmsg)(descriptor.fd, message, flags)
    });
    // SAFETY: the caller's message.
    let buffers = unsafe { iovecs((*message).msg_iov, (*message).msg_iovlen) };
    let total = remaining(buffers);
    if !whole || first <= 0 || first as usize >= total {
        return first;
    }
    let mut rest: Vec<iovec> = buffers.to_vec();
    skip(&mut rest, first as usize);
    let mut received = first as usize;
    while remaining(&rest) > 0 {
        // SAFETY: a zeroed `msghdr` is empty; it gets the unfilled buffers.
        let mut tail: msghdr = unsafe { std::mem::zeroed() };
        tail.msg_iov = rest.as_mut_ptr();
        tail.msg_iovlen = rest.len() as _;
        // SAFETY: the unfilled parts of the caller's buffers.
        let result = wait.run(descriptor, || unsafe {
            (real().recvmsg)(descriptor.fd, &mut tail, flags)
        });
        if result <= 0 {
            break; // what came so far, as the kernel returns it
        }
        received += result as usize;
        skip(&mut rest, result as usize);
    }
    received as ssize_t
}
