//! The real libc functions behind the hooks, found with `dlsym(RTLD_NEXT)`.
//!
//! One per hook. The hooks reach libc's versions of the functions they take
//! over only through these pointers: once the GOT slots are
//! rewritten, a call to `libc::read` from this crate would land in the hook
//! again.

use std::ffi::{CStr, c_char, c_int, c_long, c_ulong, c_void};
use std::sync::OnceLock;

use libc::{
    addrinfo, clockid_t, fd_set, msghdr, nfds_t, pollfd, sigset_t, size_t, sockaddr, socklen_t,
    ssize_t, timespec, timeval,
};

/// Declares [`Real`] with one field per function and its resolver (`; ...`
/// marks a variadic function).
macro_rules! real_functions {
    ($($name:ident: fn($($arg:ty),* $(; $variadic:tt)?) -> $ret:ty;)*) => {
        /// The real libc function of each hook.
        pub(super) struct Real {
            $(pub(super) $name: unsafe extern "C" fn($($arg),* $(, $variadic)?) -> $ret,)*
        }

        impl Real {
            fn resolve() -> Real {
                Real {
                    $(
                        // SAFETY: the symbol is libc's function of that name,
                        // whose C prototype is the field's type.
                        $name: unsafe {
                            std::mem::transmute::<
                                *mut c_void,
                                unsafe extern "C" fn($($arg),* $(, $variadic)?) -> $ret,
                            >(
                                lookup(concat!(stringify!($name), "\0")),
                            )
                        },
                    )*
                }
            }
        }
    };
}

real_functions! {
    socket: fn(c_int, c_int, c_int) -> c_int;
    socketpair: fn(c_int, c_int, c_int, *mut c_int) -> c_int;
    accept4: fn(c_int, *mut sockaddr, *mut socklen_t, c_int) -> c_int;
    connect: fn(c_int, *const sockaddr, socklen_t) -> c_int;
    close: fn(c_int) -> c_int;
    shutdown: fn(c_int, c_int) -> c_int;
    dup: fn(c_int) -> c_int;
    dup2: fn(c_int, c_int) -> c_int;
    dup3: fn(c_int, c_int, c_int) -> c_int;
    fcntl: fn(c_int, c_int; ...) -> c_int;
    ioctl: fn(c_int, c_ulong; ...) -> c_int;
    setsockopt: fn(c_int, c_int, c_int, *const c_void, socklen_t) -> c_int;
    read: fn(c_int, *mut c_void, size_t) -> ssize_t;
    write: fn(c_int, *const c_void, size_t) -> ssize_t;
    readv: fn(c_int, *const libc::iovec, c_int) -> ssize_t;
    writev: fn(c_int, *const libc::iovec, c_int) -> ssize_t;
    recv: fn(c_int, *mut c_void, size_t, c_int) -> ssize_t;
    recvfrom: fn(c_int, *mut c_void, size_t, c_int, *mut sockaddr, *mut socklen_t) -> ssize_t;
    recvmsg: fn(c_int, *mut msghdr, c_int) -> ssize_t;
    send: fn(c_int, *const c_void, size_t, c_int) -> ssize_t;
    sendto: fn(c_int, *const c_void, size_t, c_int, *const sockaddr, socklen_t) -> ssize_t;
    sendmsg: fn(c_int, *const msghdr, c_int) -> ssize_t;
    recvmmsg: fn(c_int, *mut libc::mmsghdr, libc::c_uint, c_int, *mut timespec) -> c_int;
    sendmmsg: fn(c_int, *mut libc::mmsghdr, libc::c_uint, c_int) -> c_int;
    poll: fn(*mut pollfd, nfds_t, c_int) -> c_int;
    ppoll: fn(*mut pollfd, nfds_t, *const timespec, *const sigset_t) -> c_int;
    select: fn(c_int, *mut fd_set, *mut fd_set, *mut fd_set, *mut timeval) -> c_int;
    pselect: fn(c_int, *mut fd_set, *mut fd_set, *mut fd_set, *const timespec, *const sigset_t) -> c_int;
    nanosleep: fn(*const timespec, *mut timespec) -> c_int;
    clock_nanosleep: fn(clockid_t, c_int, *const timespec, *mut timespec) -> c_int;
    getaddrinfo: fn(*const c_char, *const c_char, *const addrinfo, *mut *mut addrinfo) -> c_int;
    dlopen: fn(*const c_char, c_int) -> *mut c_void;
    wait4: fn(libc::pid_t, *mut c_int, c_int, *mut libc::rusage) -> libc::pid_t;
    waitid: fn(libc::idtype_t, libc::id_t, *mut libc::siginfo_t, c_int) -> c_int;
    syscall: fn(c_long; ...) -> c_long;
}

fn lookup(name: &'static str) -> *mut c_void {
    let name = CStr::from_bytes_with_nul(name.as_bytes()).expect("a C symbol name");
    // SAFETY: `name` is a C string; `RTLD_NEXT` searches the objects loaded
    // after this one, which is where libc is.
    let function = unsafe { libc::dlsym(libc::RTLD_NEXT, name.as_ptr()) };
    assert!(
        !function.is_null(),
        "eventlet-rt: monkey_patch cannot find libc's {name:?}"
    );
    function
}

static REAL: OnceLock<Real> = OnceLock::new();

/// Finds the real functions; called before any hook is installed.
pub(super) fn init() {
    REAL.get_or_init(Real::resolve);
}

/// The real functions; only hooks call this, and hooks exist only after
/// [`init`].
#[inline]
pub(super) fn real() -> &'static Real {
    REAL.get()
        .expect("eventlet-rt: a hook ran before monkey_patch resolved libc")
}
