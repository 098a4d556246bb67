//! Waiting for several descriptors: `poll`, `ppoll`, `select`, `pselect`.
//!
//! Green code first asks the kernel without waiting. When nothing is ready,
//! the descriptors go into a private epoll set for the call, that set is
//! registered with the hub (an epoll descriptor is readable while one of its
//! descriptors is ready), and the green thread parks until it is readable or
//! the timeout passes; a last `poll` without waiting fills in `revents`.
//! The signal masks of `ppoll` and `pselect` are not applied to a green wait.

use std::ffi::c_int;
use std::time::{Duration, Instant};

use libc::{fd_set, nfds_t, pollfd, sigset_t, timespec, timeval};

use super::in_green_code;
use super::real::real;
use super::wait::{catch_interrupt, fail};
use crate::hub::{Direction, IoRegistration};

pub(super) unsafe extern "C" fn poll(
    fds: *mut pollfd,
    count: nfds_t,
    milliseconds: c_int,
) -> c_int {
    if !in_green_code() || milliseconds == 0 {
        // SAFETY: the caller's arguments, passed on.
        return unsafe { (real().poll)(fds, count, milliseconds) };
    }
    let timeout = u64::try_from(milliseconds).ok().map(Duration::from_millis);
    // SAFETY: the caller's array of `count` entries.
    unsafe { green_poll(fds, count, timeout) }
}

pub(super) unsafe extern "C" fn ppoll(
    fds: *mut pollfd,
    count: nfds_t,
    timeout: *const timespec,
    mask: *const sigset_t,
) -> c_int {
    // SAFETY: a non-null timeout is the caller's `timespec`.
    let wait = (!timeout.is_null()).then(|| unsafe { *timeout });
    let duration = wait.and_then(timespec_duration);
    if !in_green_code() || (wait.is_some() && duration.is_none_or(|d| d.is_zero())) {
        // SAFETY: the caller's arguments, passed on.
        return unsafe { (real().ppoll)(fds, count, timeout, mask) };
    }
    // SAFETY: the caller's array of `count` entries.
    unsafe { green_poll(fds, count, duration) }
}

pub(super) unsafe extern "C" fn select(
    count: c_int,
    read: *mut fd_set,
    write: *mut fd_set,
    except: *mut fd_set,
    timeout: *mut timeval,
) -> c_int {
    // SAFETY: a non-null timeout is the caller's `timeval`.
    let wait = (!timeout.is_null()).then(|| unsafe { *timeout });
    let duration = wait.and_then(|wait| {
        let seconds = u64::try_from(wait.tv_sec).ok()?;
        let micros = u32::try_from(wait.tv_usec)
            .ok()
            .filter(|&m| m < 1_000_000)?;
        Some(Duration::new(seconds, micros * 1000))
    });
    let usable = (0..=libc::FD_SETSIZE as c_int).contains(&count);
    if !in_green_code() || !usable || (wait.is_some() && duration.is_none_or(|d| d.is_zero())) {
        // SAFETY: the caller's arguments, passed on.
        return unsafe { (real().select)(count, read, write, except, timeout) };
    }
    let started = Instant::now();
    // SAFETY: the caller's sets.
    let marked = unsafe { green_select(count, [read, write, except], duration) };
    if let (Some(duration), false) = (duration, timeout.is_null()) {
        // Linux leaves the time not slept in the caller's timeout.
        let left = duration.saturating_sub(started.elapsed());
        // SAFETY: the caller's `timeval`.
        unsafe {
            (*timeout).tv_sec = left.as_secs() as libc::time_t;
            (*timeout).tv_usec = left.subsec_micros() as libc::suseconds_t;
        }
    }
    marked
}

pub(super) unsafe extern "C" fn pselect(
    count: c_int,
    read: *mut fd_set,
    write: *mut fd_set,
    except: *mut fd_set,
    timeout: *const timespec,
    mask: *const sigset_t,
) -> c_int {
    // SAFETY: a non-null timeout is the caller's `timespec`.
    let wait = (!timeout.is_null()).then(|| unsafe { *timeout });
    let duration = wait.and_then(timespec_duration);
    let usable = (0..=libc::FD_SETSIZE as c_int).contains(&count);
    if !in_green_code() || !usable || (wait.is_some() && duration.is_none_or(|d| d.is_zero())) {
        // SAFETY: the caller's arguments, passed on.
        return unsafe { (real().pselect)(count, read, write, except, timeout, mask) };
    }
    // SAFETY: the caller's sets.
    unsafe { green_select(count, [read, write, except], duration) }
}

/// `select` in green code: the sets become a `poll` array, and are written
/// back with what is ready; returns how many bits are set, or -1.
///
/// # Safety
/// Each non-null set is the caller's `fd_set`; `count` is at most
/// `FD_SETSIZE`.
unsafe fn green_select(count: c_int, sets: [*mut fd_set; 3], duration: Option<Duration>) -> c_int {
    let sets = [
        (sets[0], libc::POLLIN),
        (sets[1], libc::POLLOUT),
        (sets[2], libc::POLLPRI),
    ];
    let mut fds: Vec<pollfd> = Vec::new();
    for fd in 0..count {
        let mut events = 0;
        for &(set, event) in &sets {
            // SAFETY: a non-null set is the caller's `fd_set`; `fd` < FD_SETSIZE.
            if !set.is_null() && unsafe { libc::FD_ISSET(fd, set) } {
                events |= event;
            }
        }
        if events != 0 {
            fds.push(pollfd {
                fd,
                events,
                revents: 0,
            });
        }
    }
    // SAFETY: our own array.
    let ready = unsafe { green_poll(fds.as_mut_ptr(), fds.len() as nfds_t, duration) };
    if ready < 0 {
        return ready;
    }
    let mut marked = 0;
    for &(set, event) in &sets {
        if set.is_null() {
            continue;
        }
        // SAFETY: the caller's set, rewritten with what is ready.
        unsafe { libc::FD_ZERO(set) };
        for polled in &fds {
            let hit = polled.revents & event != 0
                || (event != libc::POLLPRI
                    && polled.events & event != 0
                    && polled.revents & (libc::POLLERR | libc::POLLHUP) != 0);
            if hit {
                // SAFETY: as above.
                unsafe { libc::FD_SET(polled.fd, set) };
                marked += 1;
            }
        }
    }
    marked
}

/// A `timespec` as a duration; `None` when it is not a valid one.
fn timespec_duration(time: timespec) -> Option<Duration> {
    let seconds = u64::try_from(time.tv_sec).ok()?;
    let nanos = u32::try_from(time.tv_nsec)
        .ok()
        .filter(|&n| n < 1_000_000_000)?;
    Some(Duration::new(seconds, nanos))
}

/// Parks the calling green thread until one of `fds` is ready or `timeout`
/// (`None`: forever) passes; returns what `poll` would.
///
/// # Safety
/// `fds` points to `count` `pollfd`s (or `count` is 0).
unsafe fn green_poll(fds: *mut pollfd, count: nfds_t, timeout: Option<Duration>) -> c_int {
    // SAFETY: the caller's array.
    let ready_now = || unsafe { (real().poll)(fds, count, 0) };
    let ready = ready_now();
    if ready != 0 {
        return ready;
    }
    let deadline = timeout.map(|timeout| Instant::now() + timeout);
    // SAFETY: `epoll_create1` has no preconditions.
    let set = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    let registration = if set >= 0 {
        // SAFETY: the caller's array.
        unsafe { watch(set, fds, count) };
        IoRegistration::for_fd(set).ok()
    } else {
        None
    };
    let Some(registration) = registration else {
        if set >= 0 {
            // SAFETY: our own descriptor.
            unsafe { (real().close)(set) };
        }
        let left = deadline.map_or(-1, |deadline| {
            let left = deadline.saturating_duration_since(Instant::now());
            c_int::try_from(left.as_millis()).unwrap_or(c_int::MAX)
        });
        // SAFETY: the caller's array.
        return unsafe { (real().poll)(fds, count, left) };
    };
    let outcome = catch_interrupt(|| {
        registration.run(Direction::Read, deadline, || match ready_now() {
            0 => Err(std::io::ErrorKind::WouldBlock.into()),
            ready if ready < 0 => Err(std::io::Error::last_os_error()),
            ready => Ok(ready),
        })
    });
    registration.deregister(&mut mio::unix::SourceFd(&set));
    // SAFETY: our own descriptor, no longer registered.
    unsafe { (real().close)(set) };
    match outcome {
        Ok(Ok(ready)) => ready,
        Ok(Err(error)) => match error.raw_os_error() {
            Some(errno) => fail(errno) as c_int,
            None => 0, // the timeout passed
        },
        Err(errno) => fail(errno) as c_int,
    }
}

/// Adds each polled descriptor to the epoll set `set`.
///
/// # Safety
/// `fds` points to `count` `pollfd`s (or `count` is 0).
unsafe fn watch(set: c_int, fds: *const pollfd, count: nfds_t) {
    if count == 0 {
        return;
    }
    // SAFETY: the caller's promise.
    let fds = unsafe { std::slice::from_raw_parts(fds, count as usize) };
    for polled in fds.iter().filter(|polled| polled.fd >= 0) {
        let mut events = 0u32;
        for (poll_event, epoll_event) in [
            (libc::POLLIN, libc::EPOLLIN),
            (libc::POLLOUT, libc::EPOLLOUT),
            (libc::POLLPRI, libc::EPOLLPRI),
            (libc::POLLRDHUP, libc::EPOLLRDHUP),
        ] {
            if polled.events & poll_event != 0 {
                events |= epoll_event as u32;
            }
        }
        let mut event = libc::epoll_event { events, u64: 0 };
        // SAFETY: a valid event for a descriptor number; failures (a file
        // epoll cannot watch, which poll reports ready anyway) are ignored.
        unsafe {
            if libc::epoll_ctl(set, libc::EPOLL_CTL_ADD, polled.fd, &mut event) != 0
                && std::io::Error::last_os_error().raw_os_error() == Some(libc::EEXIST)
            {
                // The same descriptor twice: watch the union of its events.
                let mut merged = libc::epoll_event { events, u64: 0 };
                for other in fds.iter().filter(|other| other.fd == polled.fd) {
                    merged.events |= other.events as u32
                        & (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLPRI | libc::EPOLLRDHUP)
                            as u32;
                }
                libc::epoll_ctl(set, libc::EPOLL_CTL_MOD, polled.fd, &mut merged);
            }
        }
    }
}
