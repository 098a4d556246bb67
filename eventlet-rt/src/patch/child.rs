//! Waiting for child processes: `waitpid`, `wait4`, `wait` and `waitid`
//! (what `Command::status`, `Command::output` and `Child::wait` call).
//!
//! Green code first asks without waiting (`WNOHANG`). A wait for one child's
//! exit then parks on a pidfd (Linux 5.3 and later), which the kernel makes
//! readable when the child exits. A wait for any child or a process group,
//! for stops and continues, or on a kernel without pidfds sleeps green
//! between `WNOHANG` tries instead, 1 ms doubling to 50 ms. A kill or a
//! timeout that lands in the wait makes it fail with `ECANCELED` or
//! `ETIMEDOUT`, and the child stays unreaped for a later wait.

use std::ffi::{c_int, c_long};
use std::io;
use std::time::Duration;

use libc::{id_t, idtype_t, pid_t, rusage, siginfo_t};

use super::in_green_code;
use super::real::real;
use super::wait::{catch_interrupt, fail};
use crate::hub::{Direction, IoRegistration};

/// The longest green sleep between two tries of a polled wait.
const LONGEST_PAUSE: Duration = Duration::from_millis(50);

pub(super) unsafe extern "C" fn wait(status: *mut c_int) -> pid_t {
    // SAFETY: `wait` is `wait4` for any child, without options or usage.
    unsafe { wait4(-1, status, 0, std::ptr::null_mut()) }
}

pub(super) unsafe extern "C" fn waitpid(pid: pid_t, status: *mut c_int, options: c_int) -> pid_t {
    // SAFETY: `waitpid` is `wait4` without usage.
    unsafe { wait4(pid, status, options, std::ptr::null_mut()) }
}

pub(super) unsafe extern "C" fn wait4(
    pid: pid_t,
    status: *mut c_int,
    options: c_int,
    usage: *mut rusage,
) -> pid_t {
    // SAFETY: the caller's arguments, passed on (with `WNOHANG` added).
    let try_once = |options| unsafe { (real().wait4)(pid, status, options, usage) };
    if options & libc::WNOHANG != 0 || !in_green_code() {
        return try_once(options);
    }
    let exits_only = options & (libc::WUNTRACED | libc::WCONTINUED) == 0;
    let one_child = (pid > 0 && exits_only).then_some(pid);
    green_wait(one_child, || {
        c_long::from(try_once(options | libc::WNOHANG))
    }) as pid_t
}

pub(super) unsafe extern "C" fn waitid(
    kind: idtype_t,
    id: id_t,
    info: *mut siginfo_t,
    options: c_int,
) -> c_int {
    // SAFETY: the caller's arguments, passed on.
    let pass = |options| unsafe { (real().waitid)(kind, id, info, options) };
    if options & libc::WNOHANG != 0 || info.is_null() || !in_green_code() {
        return pass(options);
    }
    let try_once = || {
        // With WNOHANG, a zeroed `si_pid` after success means no child is
        // ready yet.
        // SAFETY: the caller's `siginfo_t`, checked not null.
        unsafe { info.write(std::mem::zeroed()) };
        match pass(options | libc::WNOHANG) {
            // SAFETY: as above; the kernel filled it in.
            0 if unsafe { (*info).si_pid() } == 0 => 0,
            0 => 1,
            failed => c_long::from(failed),
        }
    };
    let exits_only = options & (libc::WSTOPPED | libc::WCONTINUED) == 0;
    let one_child = (kind == libc::P_PID && exits_only)
        .then(|| pid_t::try_from(id).ok())
        .flatten();
    match green_wait(one_child, try_once) {
        done if done > 0 => 0,
        failed => failed as c_int,
    }
}

/// Parks the calling green thread until `try_once` (a wait with `WNOHANG`:
/// positive when done, 0 when not yet, negative on failure) is done;
/// `one_child` is the child whose exit it waits for, if it is one.
fn green_wait(one_child: Option<pid_t>, mut try_once: impl FnMut() -> c_long) -> c_long {
    let first = try_once();
    if first != 0 {
        return first;
    }
    if let Some(pidfd) = one_child.and_then(pidfd_open) {
        let registration = IoRegistration::for_fd(pidfd);
        if let Ok(registration) = registration {
            let outcome = catch_interrupt(|| {
                registration.run(Direction::Read, None, || match try_once() {
                    0 => Err(io::ErrorKind::WouldBlock.into()),
                    failed if failed < 0 => Err(io::Error::last_os_error()),
                    done => Ok(done),
                })
            });
            registration.deregister(&mut mio::unix::SourceFd(&pidfd));
            // SAFETY: our own pidfd, no longer registered.
            unsafe { (real().close)(pidfd) };
            return match outcome {
                Ok(Ok(done)) => done,
                Ok(Err(error)) => fail(error.raw_os_error().unwrap_or(libc::EIO)) as c_long,
                Err(errno) => fail(errno) as c_long,
            };
        }
        // SAFETY: our own pidfd.
        unsafe { (real().close)(pidfd) };
    }
    let mut pause = Duration::from_millis(1);
    loop {
        if let Err(errno) = catch_interrupt(|| crate::sleep(pause)) {
            return fail(errno) as c_long;
        }
        let outcome = try_once();
        if outcome != 0 {
            return outcome;
        }
        pause = (pause * 2).min(LONGEST_PAUSE);
    }
}

/// A pidfd for `pid`, or `None` where the kernel has none (before 5.3) or
/// the process is gone.
fn pidfd_open(pid: pid_t) -> Option<c_int> {
    // SAFETY: `pidfd_open` takes a pid and flags, and returns a descriptor.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    c_int::try_from(fd).ok().filter(|&fd| fd >= 0)
}
