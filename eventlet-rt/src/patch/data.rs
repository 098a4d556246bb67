//! Reads and writes on sockets: `read`, `write`, `readv`, `writev`,
//! `recv`, `recvfrom`, `recvmsg`, `send`, `sendto`, `sendmsg`.
//!
//! On a socket the program treats as blocking, green code makes each call
//! with `MSG_DONTWAIT` (the descriptor's own flags never change), and parks
//! where the kernel would block. A blocking stream write sends everything
//! unless an error or its timeout cuts it short, as the kernel does, and
//! `MSG_WAITALL` reads wait for the whole buffer.

use std::ffi::{c_int, c_void};

use libc::{iovec, msghdr, size_t, sockaddr, socklen_t, ssize_t};

use super::fds::{Descriptor, Timeout};
use super::in_green_code;
use super::real::real;
use super::wait::{Wait, errno};
use crate::hub::Direction;

/// The descriptor, when green code (a green thread, or the main context of a
/// thread with a hub) calls on a socket the program treats as blocking.
///
/// Never stdin, stdout or stderr, whatever they are: std's `Stdout` and
/// `Stderr` hold a lock whose owner is the OS thread (a `ReentrantLock`)
/// across their writes, which another green thread of that OS thread would
/// enter, and the panic hook writes there too.
#[inline]
pub(super) fn green_socket(fd: c_int) -> Option<Descriptor> {
    if fd <= libc::STDERR_FILENO || !in_green_code() {
        return None;
    }
    Descriptor::of(fd).filter(Descriptor::is_blocking_socket)
}

fn read_wait(descriptor: &Descriptor, stream_read: Option<usize>) -> Wait {
    Wait {
        direction: Direction::Read,
        timeout: descriptor.timeout(Timeout::Read),
        timeout_errno: libc::EAGAIN,
        stream_read: stream_read.filter(|_| descriptor.short_read_drains()),
    }
}

fn write_wait(descriptor: &Descriptor) -> Wait {
    Wait {
        direction: Direction::Write,
        timeout: descriptor.timeout(Timeout::Write),
        timeout_errno: libc::EAGAIN,
        stream_read: None,
    }
}

/// Receives into one buffer, waiting for all of it under `MSG_WAITALL`.
fn receive(
    descriptor: &Descriptor,
    buffer: *mut c_void,
    length: size_t,
    flags: c_int,
    mut from: Option<(*mut sockaddr, *mut socklen_t)>,
) -> ssize_t {
    let peek = flags & libc::MSG_PEEK != 0;
    let wait = read_wait(descriptor, (!peek).then_some(length));
    let whole = flags & libc::MSG_WAITALL != 0 && descriptor.is_stream() && !peek;
    let flags = (flags & !libc::MSG_WAITALL) | libc::MSG_DONTWAIT;
    let mut received = 0;
    loop {
        let (address, address_length) = from
            .take()
            .unwrap_or((std::ptr::null_mut(), std::ptr::null_mut()));
        // SAFETY: the caller's buffer, of `length` bytes, minus what is filled.
        let rest = unsafe { buffer.cast::<u8>().add(received) }.cast::<c_void>();
        let result = wait.run(descriptor, || unsafe {
            // SAFETY: the caller's arguments, passed on.
            (real().recvfrom)(
                descriptor.fd,
                rest,
                length - received,
                flags,
                address,
                address_length,
            )
        });
        if result < 0 {
            return if received > 0 {
                received as ssize_t
            } else {
                result
            };
        }
        received += result as usize;
        if !whole || result == 0 || received >= length {
            return received as ssize_t;
        }
    }
}

/// Sends from one buffer: all of it on a stream, unless cut short.
fn send_all(
    descriptor: &Descriptor,
    buffer: *const c_void,
    length: size_t,
    flags: c_int,
    to: (*const sockaddr, socklen_t),
) -> ssize_t {
    let wait = write_wait(descriptor);
    let flags = flags | libc::MSG_DONTWAIT;
    let mut sent = 0;
    loop {
        // SAFETY: the caller's buffer, of `length` bytes, minus what is sent.
        let rest = unsafe { buffer.cast::<u8>().add(sent) }.cast::<c_void>();
        let result = wait.run(descriptor, || unsafe {
            // SAFETY: the caller's arguments, passed on.
            (real().sendto)(descriptor.fd, rest, length - sent, flags, to.0, to.1)
        });
        if result < 0 {
            return if sent > 0 { sent as ssize_t } else { result };
        }
        sent += result as usize;
        if !descriptor.is_stream() || sent >= length {
            return sent as ssize_t;
        }
    }
}

/// Sends a message: on a stream, the rest of a partly sent one follows
/// (without its control data, which went with the first part).
///
/// # Safety
/// `message` is a valid `msghdr` whose buffers the caller owns.
unsafe fn send_message(descriptor: &Descriptor, message: *const msghdr, flags: c_int) -> ssize_t {
    let wait = write_wait(descriptor);
    let flags = flags | libc::MSG_DONTWAIT;
    // SAFETY: the caller's message, passed on.
    let first = wait.run(descriptor, || unsafe {
        (real().sendmsg)(descriptor.fd, message, flags)
    });
    // SAFETY: as above.
    let message = unsafe { &*message };
    // SAFETY: `msg_iov` has `msg_iovlen` entries.
    let buffers = unsafe { iovecs(message.msg_iov, message.msg_iovlen) };
    let total: usize = buffers.iter().map(|buffer| buffer.iov_len).sum();
    if first < 0 || !descriptor.is_stream() || first as usize >= total {
        return first;
    }
    let mut rest: Vec<iovec> = buffers.to_vec();
    skip(&mut rest, first as usize);
    while remaining(&rest) > 0 {
        // SAFETY: a zeroed `msghdr` is empty; it gets the remaining buffers.
        let mut tail: msghdr = unsafe { std::mem::zeroed() };
        tail.msg_iov = rest.as_mut_ptr();
        tail.msg_iovlen = rest.len() as _;
        // SAFETY: the remaining parts of the caller's buffers.
        let result = wait.run(descriptor, || unsafe {
            (real().sendmsg)(descriptor.fd, &tail, flags)
        });
        if result < 0 {
            break;
        }
        skip(&mut rest, result as usize);
    }
    (total - remaining(&rest)) as ssize_t
}

/// Descriptors sent to another process (`SCM_RIGHTS`) share their open
/// files with it from now on.
///
/// # Safety
/// `message` is null or a valid `msghdr` whose control buffer holds
/// `msg_controllen` bytes.
unsafe fn mark_passed_descriptors(message: *const msghdr) {
    // SAFETY: the caller's message, when not null.
    if message.is_null() || unsafe { (*message).msg_controllen } == 0 {
        return;
    }
    // SAFETY: the control headers of the caller's message, walked with
    // libc's macros, which stay within `msg_controllen`.
    unsafe {
        let mut header = libc::CMSG_FIRSTHDR(message);
        while !header.is_null() {
            if (*header).cmsg_level == libc::SOL_SOCKET && (*header).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(header).cast::<c_int>();
                let bytes = (*header).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
                for at in 0..bytes / size_of::<c_int>() {
                    if let Some(passed) = Descriptor::of(data.add(at).read_unaligned()) {
                        passed.shared();
                    }
                }
            }
            header = libc::CMSG_NXTHDR(message, header);
        }
    }
}

/// # Safety
/// `pointer` points to `count` `iovec`s, or `count` is 0.
unsafe fn iovecs<'a>(pointer: *const iovec, count: usize) -> &'a [iovec] {
    if count == 0 || pointer.is_null() {
        &[]
    } else {
        // SAFETY: the caller's promise.
        unsafe { std::slice::from_raw_parts(pointer, count) }
    }
}

fn remaining(buffers: &[iovec]) -> usize {
    buffers.iter().map(|buffer| buffer.iov_len).sum()
}

/// Drops the first `bytes` bytes from a list of buffers.
fn skip(buffers: &mut Vec<iovec>, mut bytes: usize) {
    let mut first_left = 0;
    while first_left < buffers.len() && bytes >= buffers[first_left].iov_len {
        bytes -= buffers[first_left].iov_len;
        first_left += 1;
    }
    buffers.drain(..first_left);
    if let Some(first) = buffers.first_mut() {
        // SAFETY: `bytes` is less than the first buffer's length.
        first.iov_base = unsafe { first.iov_base.cast::<u8>().add(bytes) }.cast();
        first.iov_len -= bytes;
    }
}

/// A descriptor the table took for a socket is a file now (closed and
/// reopened behind the hooks): correct the table and let libc do the call.
fn not_a_socket(descriptor: &Descriptor, result: ssize_t) -> bool {
    if result < 0 && errno() == libc::ENOTSOCK {
        descriptor.not_a_socket();
        return true;
    }
    false
}

pub(super) unsafe extern "C" fn read(fd: c_int, buffer: *mut c_void, count: size_t) -> ssize_t {
    if let Some(descriptor) = green_socket(fd) {
        let result = receive(&descriptor, buffer, count, 0, None);
        if !not_a_socket(&descriptor, result) {
            return result;
        }
    }
    // SAFETY: the caller's arguments, passed on.
    unsafe { (real().read)(fd, buffer, count) }
}

pub(super) unsafe extern "C" fn write(fd: c_int, buffer: *const c_void, count: size_t) -> ssize_t {
    if let Some(descriptor) = green_socket(fd) {
        let result = send_all(&descriptor, buffer, count, 0, (std::ptr::null(), 0));
        if !not_a_socket(&descriptor, result) {
            return result;
        }
    }
    // SAFETY: the caller's arguments, passed on.
    unsafe { (real().write)(fd, buffer, count) }
}

pub(super) unsafe extern "C" fn readv(fd: c_int, buffers: *const iovec, count: c_int) -> ssize_t {
    if let Some(descriptor) = green_socket(fd) {
        // SAFETY: a zeroed `msghdr` is empty; it gets the caller's buffers.
        let mut message: msghdr = unsafe { std::mem::zeroed() };
        message.msg_iov = buffers.cast_mut();
        message.msg_iovlen = count.max(0) as _;
        // SAFETY: the caller's buffers.
        let wanted = remaining(unsafe { iovecs(buffers, count.max(0) as usize) });
        let wait = read_wait(&descriptor, Some(wanted));
        let result = wait.run(&descriptor, || unsafe {
            // SAFETY: the caller's buffers, passed on.
            (real().recvmsg)(fd, &mut message, libc::MSG_DONTWAIT)
        });
        if !not_a_socket(&descriptor, result) {
            return result;
        }
    }
    // SAFETY: the caller's arguments, passed on.
    unsafe { (real().readv)(fd, buffers, count) }
}

pub(super) unsafe extern "C" fn writev(fd: c_int, buffers: *const iovec, count: c_int) -> ssize_t {
    if let Some(descriptor) = green_socket(fd) {
        // SAFETY: a zeroed `msghdr` is empty; it gets the caller's buffers.
        let mut message: msghdr = unsafe { std::mem::zeroed() };
        message.msg_iov = buffers.cast_mut();
        message.msg_iovlen = count.max(0) as _;
        // SAFETY: the caller's buffers.
        let result = unsafe { send_message(&descriptor, &message, 0) };
        if !not_a_socket(&descriptor, result) {
            return result;
        }
    }
    // SAFETY: the caller's arguments, passed on.
    unsafe { (real().writev)(fd, buffers, count) }
}

pub(super) unsafe extern "C" fn recv(
    fd: c_int,
    buffer: *mut c_void,
    length: size_t,
    flags: c_int,
) -> ssize_t {
    match green_socket(fd) {
        Some(descriptor) if flags & libc::MSG_DONTWAIT == 0 => {
            receive(&descriptor, buffer, length, flags, None)
        }
        // SAFETY: the caller's arguments, passed on.
        _ => unsafe { (real().recv)(fd, buffer, length, flags) },
    }
}

pub(super) unsafe extern "C" fn recvfrom(
    fd: c_int,
    buffer: *mut c_void,
    length: size_t,
    flags: c_int,
    address: *mut sockaddr,
    address_length: *mut socklen_t,
) -> ssize_t {
    match green_socket(fd) {
        Some(descriptor) if flags & libc::MSG_DONTWAIT == 0 => receive(
            &descriptor,
            buffer,
            length,
            flags,
            Some((address, address_length)),
        ),
        // SAFETY: the caller's arguments, passed on.
        _ => unsafe { (real().recvfrom)(fd, buffer, length, flags, address, address_length) },
    }
}

pub(super) unsafe extern "C" fn recvmsg(fd: c_int, message: *mut msghdr, flags: c_int) -> ssize_t {
    match green_socket(fd) {
        Some(descriptor) if flags & libc::MSG_DONTWAIT == 0 => {
            let wait = read_wait(&descriptor, None);
            wait.run(&descriptor, || unsafe {
                // SAFETY: the caller's arguments, passed on.
                (real().recvmsg)(fd, message, flags | libc::MSG_DONTWAIT)
            })
        }
        // SAFETY: the caller's arguments, passed on.
        _ => unsafe { (real().recvmsg)(fd, message, flags) },
    }
}

pub(super) unsafe extern "C" fn send(
    fd: c_int,
    buffer: *const c_void,
    length: size_t,
    flags: c_int,
) -> ssize_t {
    match green_socket(fd) {
        Some(descriptor) if flags & libc::MSG_DONTWAIT == 0 => {
            send_all(&descriptor, buffer, length, flags, (std::ptr::null(), 0))
        }
        // SAFETY: the caller's arguments, passed on.
        _ => unsafe { (real().send)(fd, buffer, length, flags) },
    }
}

pub(super) unsafe extern "C" fn sendto(
    fd: c_int,
    buffer: *const c_void,
    length: size_t,
    flags: c_int,
    address: *const sockaddr,
    address_length: socklen_t,
) -> ssize_t {
    match green_socket(fd) {
        Some(descriptor) if flags & libc::MSG_DONTWAIT == 0 => send_all(
            &descriptor,
            buffer,
            length,
            flags,
            (address, address_length),
        ),
        // SAFETY: the caller's arguments, passed on.
        _ => unsafe { (real().sendto)(fd, buffer, length, flags, address, address_length) },
    }
}

pub(super) unsafe extern "C" fn sendmsg(
    fd: c_int,
    message: *const msghdr,
    flags: c_int,
) -> ssize_t {
    // SAFETY: the caller's message.
    unsafe { mark_passed_descriptors(message) };
    match green_socket(fd) {
        // SAFETY: the caller's message.
        Some(descriptor) if flags & libc::MSG_DONTWAIT == 0 => unsafe {
            send_message(&descriptor, message, flags)
        },
        // SAFETY: the caller's arguments, passed on.
        _ => unsafe { (real().sendmsg)(fd, message, flags) },
    }
}
