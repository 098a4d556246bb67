//! Parking the calling green thread inside a taken-over call: the hub's
//! registrations of the descriptors the hooks wait on, and the rule that no
//! unwind of the runtime leaves a hook.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ffi::c_int;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::time::{Duration, Instant};

use libc::ssize_t;

use super::fds::Descriptor;
use super::real::real;
use crate::hub::{self, Direction, IoRegistration};
use crate::task::{Interrupt, Unwind};

/// Runs `f`, which may park the calling green thread, so that none of the
/// runtime's unwinds leaves the hook: a kill or a `with_timeout` that lands
/// in it comes back as the errno the call fails with (`ECANCELED`,
/// `ETIMEDOUT`), and stays pending, so the green thread unwinds at its next
/// green blocking point.
pub(super) fn catch_interrupt<R>(f: impl FnOnce() -> R) -> Result<R, c_int> {
    panic::catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        match payload.downcast_ref::<Unwind>() {
            Some(Unwind::TimedOut(scope)) => {
                // Raising it cleared it: set it again for the next blocking point.
                if let Some(hub) = hub::existing() {
                    hub.current_task()
                        .header()
                        .raise(Interrupt::Timeout(*scope));
                }
                libc::ETIMEDOUT
            }
            Some(Unwind::Killed) => libc::ECANCELED, // a kill stays pending by itself
            None => {
                // A panic of the hook itself (the panic hook printed it): C
                // callers cannot be unwound through, so the call fails.
                tracing::error!(target: "eventlet_rt::patch", "a monkey-patched call panicked");
                libc::EIO
            }
        }
    })
}

/// Sets `errno` and returns -1, the way libc fails.
pub(super) fn fail(errno: c_int) -> ssize_t {
    // SAFETY: `__errno_location` is the calling thread's errno.
    unsafe { *libc::__errno_location() = errno };
    -1
}

/// The calling thread's `errno`.
pub(super) fn errno() -> c_int {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// How a registration ends while green threads wait on it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Retire {
    /// The program closes the descriptor: the hooks close it once the
    /// waiters of this hub have woken and failed.
    Close,
    /// The descriptor is being replaced (`dup2` onto it): the waiters fail,
    /// and the kernel drops the old file from the hub's epoll set by itself.
    Replaced,
}

/// A descriptor that the hooks registered with the calling thread's hub.
struct Registration {
    io: IoRegistration,
    fd: c_int,
    /// The descriptor's generation when registered (see `fds`).
    generation: u32,
    /// Green threads of this hub inside a call on it.
    waiting: Cell<usize>,
    retired: Cell<Option<Retire>>,
}

impl Registration {
    /// Frees the hub's slot (and closes the descriptor, if its close was
    /// left to the waiters) once nobody waits any more.
    fn finish(&self, how: Retire) {
        match how {
            Retire::Close => {
                self.io.deregister(&mut mio::unix::SourceFd(&self.fd));
                // SAFETY: the program closed this descriptor; the hooks kept
                // it open only until the waiters had left.
                unsafe { (real().close)(self.fd) };
                super::fds::closed(self.fd);
            }
            Retire::Replaced => self.io.deregister(&mut AlreadyClosed),
        }
    }
}

/// Stands for a descriptor number that no longer means the registered file:
/// epoll dropped the file when it closed, so there is nothing to tell it,
/// only the hub's slot to free.
struct AlreadyClosed;

impl mio::event::Source for AlreadyClosed {
    fn register(&mut self, _: &mio::Registry, _: mio::Token, _: mio::Interest) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }

    fn reregister(&mut self, _: &mio::Registry, _: mio::Token, _: mio::Interest) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }

    fn deregister(&mut self, _: &mio::Registry) -> io::Result<()> {
        Ok(())
    }
}

thread_local! {
    static REGISTRATIONS: RefCell<HashMap<c_int, Rc<Registration>>> =
        RefCell::new(HashMap::new());
}

/// This hub's registration of the descriptor as it is now; a registration of
/// an earlier file under the same number is dropped.
fn lookup(descriptor: &Descriptor) -> Option<Rc<Registration>> {
    REGISTRATIONS
        .try_with(|registrations| {
            let mut registrations = registrations.try_borrow_mut().ok()?;
            let found = registrations.get(&descriptor.fd)?;
            if found.generation == descriptor.generation {
                return Some(found.clone());
            }
            let stale = registrations.remove(&descriptor.fd)?;
            drop(registrations);
            if stale.waiting.get() == 0 {
                stale.finish(Retire::Replaced);
            } else {
                stale.retired.set(Some(Retire::Replaced));
            }
            None
        })
        .ok()
        .flatten()
}

fn register(descriptor: &Descriptor) -> io::Result<Rc<Registration>> {
    let registration = Rc::new(Registration {
        io: IoRegistration::for_fd(descriptor.fd)?,
        fd: descriptor.fd,
        generation: descriptor.generation,
        waiting: Cell::new(0),
        retired: Cell::new(None),
    });
    let kept = REGISTRATIONS.try_with(|registrations| {
        registrations
            .try_borrow_mut()
            .map(|mut registrations| registrations.insert(descriptor.fd, registration.clone()))
            .is_ok()
    });
    if kept != Ok(true) {
        // The thread is exiting, or a signal handler interrupted a hook
        // here: do not leave the slot behind.
        registration
            .io
            .deregister(&mut mio::unix::SourceFd(&descriptor.fd));
        return Err(io::ErrorKind::Other.into());
    }
    Ok(registration)
}

/// Stops watching `fd` on this thread's hub because it is closed or
/// replaced; returns true when the close is left to the green threads that
/// wait on it (they wake now and fail with `EBADF`).
pub(super) fn retire(fd: c_int, how: Retire) -> bool {
    let Some(registration) = REGISTRATIONS
        .try_with(|registrations| {
            registrations
                .try_borrow_mut()
                .ok()
                .and_then(|mut registrations| registrations.remove(&fd))
        })
        .ok()
        .flatten()
    else {
        return false;
    };
    let current = super::fds::generation(fd);
    let how = if current == Some(registration.generation) {
        how
    } else {
        Retire::Replaced // a registration of an earlier file under this number
    };
    if registration.waiting.get() == 0 {
        match how {
            Retire::Close => registration
                .io
                .deregister(&mut mio::unix::SourceFd(&registration.fd)),
            Retire::Replaced => registration.io.deregister(&mut AlreadyClosed),
        }
        return false;
    }
    registration.retired.set(Some(how));
    registration.io.wake_all();
    how == Retire::Close
}

/// The read side of `fd` was shut down here, which may raise no readiness
/// edge: the next read tries the system call first.
pub(super) fn read_side_shut(fd: c_int) {
    let _ = REGISTRATIONS.try_with(|registrations| {
        if let Ok(registrations) = registrations.try_borrow()
            && let Some(registration) = registrations.get(&fd)
        {
            registration.io.forget_read_drained();
        }
    });
}

/// The program made `fd` non-blocking: this hub stops watching it (unless a
/// green thread waits on it), so that a green socket can take it over.
pub(super) fn release(fd: c_int) {
    let _ = REGISTRATIONS.try_with(|registrations| {
        let Ok(mut registrations) = registrations.try_borrow_mut() else {
            return;
        };
        if registrations
            .get(&fd)
            .is_some_and(|registration| registration.waiting.get() == 0)
            && let Some(registration) = registrations.remove(&fd)
        {
            drop(registrations);
            registration.io.deregister(&mut mio::unix::SourceFd(&fd));
        }
    });
}

/// How a call on a socket that the program treats as blocking waits, in
/// green code, where the kernel would block.
pub(super) struct Wait {
    pub(super) direction: Direction,
    /// `SO_RCVTIMEO` or `SO_SNDTIMEO`.
    pub(super) timeout: Option<Duration>,
    /// What the call fails with when that timeout passes (as on Linux:
    /// `EAGAIN`, or `EINPROGRESS` for `connect`).
    pub(super) timeout_errno: c_int,
    /// For a byte-stream read, the bytes asked for: a shorter read tells the
    /// hub the receive buffer is empty.
    pub(super) stream_read: Option<usize>,
}

impl Wait {
    /// Runs `op` (the call made without blocking) until it does not fail
    /// with `EAGAIN`, parking the calling green thread until the descriptor
    /// is ready between tries.
    pub(super) fn run(&self, descriptor: &Descriptor, mut op: impl FnMut() -> ssize_t) -> ssize_t {
        let registration = match lookup(descriptor) {
            Some(registration) => registration,
            None => {
                let result = op();
                if result >= 0 || errno() != libc::EAGAIN {
                    return result;
                }
                match register(descriptor) {
                    Ok(registration) => registration,
                    Err(_) => return self.run_blocking(descriptor.fd, op),
                }
            }
        };
        let deadline = self.timeout.map(|timeout| Instant::now() + timeout);
        registration.waiting.set(registration.waiting.get() + 1);
        let outcome = catch_interrupt(|| {
            registration.io.run(self.direction, deadline, || {
                if registration.retired.get().is_some() {
                    return Err(io::Error::from_raw_os_error(libc::EBADF));
                }
                match op() {
                    result if result >= 0 => Ok(result),
                    _ => Err(io::Error::last_os_error()),
                }
            })
        });
        registration.waiting.set(registration.waiting.get() - 1);
        if let Some(how) = registration.retired.get()
            && registration.waiting.get() == 0
        {
            registration.finish(how);
        }
        match outcome {
            Ok(Ok(done)) => {
                if let Some(wanted) = self.stream_read
                    && done > 0
                    && (done as usize) < wanted
                {
                    registration.io.mark_read_drained();
                }
                done
            }
            Ok(Err(error)) => fail(error.raw_os_error().unwrap_or(self.timeout_errno)),
            Err(errno) => fail(errno),
        }
    }

    /// The hub could not watch the descriptor (it is registered there
    /// already, under a green socket): wait for it the blocking way.
    #[cold]
    fn run_blocking(&self, fd: c_int, mut op: impl FnMut() -> ssize_t) -> ssize_t {
        let deadline = self.timeout.map(|timeout| Instant::now() + timeout);
        let events = match self.direction {
            Direction::Read => libc::POLLIN,
            Direction::Write => libc::POLLOUT,
        };
        loop {
            let wait = match deadline {
                None => -1,
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return fail(self.timeout_errno);
                    }
                    c_int::try_from(left.as_millis().max(1)).unwrap_or(c_int::MAX)
                }
            };
            let mut poll = libc::pollfd {
                fd,
                events,
                revents: 0,
            };
            // SAFETY: one valid `pollfd`.
            unsafe { (real().poll)(&mut poll, 1, wait) };
            let result = op();
            if result >= 0 || errno() != libc::EAGAIN {
                return result;
            }
        }
    }
}
