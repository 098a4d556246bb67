//! Pipes, FIFOs, terminals and the other descriptors epoll can watch
//! (character devices, eventfds, timerfds) that the program treats as
//! blocking: `read`, `write`, `readv`, `writev` from green code park only
//! the green thread, as on sockets.
//!
//! A pipe made with `pipe()`/`pipe2()` takes `RWF_NOWAIT` (`preadv2`,
//! `pwritev2`), which fails with `EAGAIN` where the call would block, so the
//! green thread parks until the hub sees the pipe ready, then tries again.
//! A FIFO or a terminal does not: green code first asks `poll` whether the
//! call would block and makes the blocking call once it says no; a second
//! reader of the same FIFO or terminal taking the bytes in between leaves
//! that call blocking. A write sends all its bytes, as a blocking one does,
//! in steps of at most `PIPE_BUF` on those (a write of up to `PIPE_BUF`
//! bytes stays atomic). Regular files and block devices stay blocking:
//! epoll cannot watch them, and their reads wait for the disk.

use std::ffi::{c_int, c_void};

use libc::{iovec, size_t, ssize_t};

use super::data::skip;
use super::fds::Descriptor;
use super::real::real;
use super::wait::{Wait, errno, fail};
use crate::hub::Direction;

/// What a green wait on a pipe looks like: no timeout, and a read that
/// returns less than asked says nothing (another write may be queued).
fn wait(direction: Direction) -> Wait {
    Wait {
        direction,
        timeout: None,
        timeout_errno: libc::EAGAIN,
        stream_read: None,
    }
}

/// Whether `fd` is ready in `events` now (`poll` without waiting).
fn ready(fd: c_int, events: libc::c_short) -> bool {
    let mut poll = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one valid `pollfd`.
    unsafe { (real().poll)(&mut poll, 1, 0) != 0 }
}

/// Runs `nowait` (the call with `RWF_NOWAIT`) where the descriptor takes
/// it, else `blocking` once `poll` says it will not block, parking the
/// green thread in between.
fn run(
    descriptor: &Descriptor,
    direction: Direction,
    mut nowait: impl FnMut() -> ssize_t,
    mut blocking: impl FnMut() -> ssize_t,
) -> ssize_t {
    let wait = wait(direction);
    let events = match direction {
        Direction::Read => libc::POLLIN,
        Direction::Write => libc::POLLOUT,
    };
    if descriptor.takes_nowait() {
        let result = wait.run(descriptor, || match nowait() {
            // `poll` says ready where RWF_NOWAIT would block: the number
            // is a regular file now, opened behind the hooks' back.
            failed if failed < 0 && errno() == libc::EAGAIN && ready(descriptor.fd, events) => {
                blocking()
            }
            result => result,
        });
        if result >= 0 || errno() != libc::EOPNOTSUPP {
            return result;
        }
        descriptor.refuses_nowait();
    }
    wait.run(descriptor, || {
        if ready(descriptor.fd, events) {
            blocking()
        } else {
            fail(libc::EAGAIN)
        }
    })
}

/// `readv` on a green pipe.
///
/// # Safety
/// `buffers` points to `count` `iovec`s the caller owns.
pub(super) unsafe fn read_vectored(
    descriptor: &Descriptor,
    buffers: *const iovec,
    count: c_int,
) -> ssize_t {
    let fd = descriptor.fd;
    run(
        descriptor,
        Direction::Read,
        // SAFETY: the caller's buffers, passed on.
        || unsafe { libc::preadv2(fd, buffers, count, -1, libc::RWF_NOWAIT) },
        // SAFETY: as above.
        || unsafe { (real().readv)(fd, buffers, count) },
    )
}

/// `read` on a green pipe.
///
/// # Safety
/// `buffer` has room for `length` bytes.
pub(super) unsafe fn read(descriptor: &Descriptor, buffer: *mut c_void, length: size_t) -> ssize_t {
    let buffers = iovec {
        iov_base: buffer,
        iov_len: length,
    };
    // SAFETY: one buffer of the caller's.
    unsafe { read_vectored(descriptor, &buffers, 1) }
}

/// `writev` on a green pipe: everything is written unless an error cuts it
/// short, as a blocking write does.
///
/// # Safety
/// `buffers` points to `count` `iovec`s the caller owns.
pub(super) unsafe fn write_vectored(
    descriptor: &Descriptor,
    buffers: *const iovec,
    count: c_int,
) -> ssize_t {
    let fd = descriptor.fd;
    let mut rest: Vec<iovec> = if count <= 0 || buffers.is_null() {
        Vec::new()
    } else {
        // SAFETY: the caller's `count` buffers.
        unsafe { std::slice::from_raw_parts(buffers, count as usize) }.to_vec()
    };
    let total: usize = rest.iter().map(|buffer| buffer.iov_len).sum();
    let mut written = 0;
    loop {
        // A FIFO or terminal gets at most PIPE_BUF bytes a call, which a
        // `poll` that said writable guarantees room for.
        let step = if descriptor.takes_nowait() {
            rest.clone()
        } else {
            limited(&rest, libc::PIPE_BUF)
        };
        let result = run(
            descriptor,
            Direction::Write,
            // SAFETY: parts of the caller's buffers.
            || unsafe {
                libc::pwritev2(fd, step.as_ptr(), step.len() as c_int, -1, libc::RWF_NOWAIT)
            },
            // SAFETY: as above.
            || unsafe { (real().writev)(fd, step.as_ptr(), step.len() as c_int) },
        );
        if result < 0 {
            return if written > 0 {
                written as ssize_t
            } else {
                result
            };
        }
        written += result as usize;
        if written >= total {
            return written as ssize_t;
        }
        skip(&mut rest, result as usize);
    }
}

/// `write` on a green pipe.
///
/// # Safety
/// `buffer` holds `length` bytes.
pub(super) unsafe fn write(
    descriptor: &Descriptor,
    buffer: *const c_void,
    length: size_t,
) -> ssize_t {
    let buffers = iovec {
        iov_base: buffer.cast_mut(),
        iov_len: length,
    };
    // SAFETY: one buffer of the caller's.
    unsafe { write_vectored(descriptor, &buffers, 1) }
}

/// The first `limit` bytes of `buffers`.
fn limited(buffers: &[iovec], limit: usize) -> Vec<iovec> {
    let mut left = limit;
    let mut out = Vec::new();
    for buffer in buffers {
        if left == 0 {
            break;
        }
        let take = buffer.iov_len.min(left);
        out.push(iovec {
            iov_base: buffer.iov_base,
            iov_len: take,
        });
        left -= take;
    }
    out
}
