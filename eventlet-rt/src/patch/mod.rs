//! `monkey_patch()`: Eventlet's monkey patching at run time, for the libc
//! calls of any code in the process.

mod data;
mod dns;
mod fds;
mod flags;
mod got;
mod groups;
mod poll;
mod real;
mod sleep;
mod sockets;
mod wait;

use std::cell::Cell;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use got::Hook;

/// Makes the blocking socket calls, sleeps, `poll`s and DNS lookups that any
/// code makes through libc park only the calling green thread, from now on
/// (Eventlet's `eventlet.monkey_patch()`).
///
/// Third-party crates that use `std::net`, `std::thread::sleep` or libc
/// directly (`redis`, `mysql`, `tungstenite`, `ureq` with its own transport,
/// ...) become cooperative without a change: fifty green threads each
/// blocked in a `BLPOP` of the `redis` crate wait together, and a ticker
/// green thread keeps its beat meanwhile. Idempotent, and safe to call from
/// any thread; patching is process-wide and cannot be undone.
///
/// ```
/// use std::time::{Duration, Instant};
///
/// /// Stands for a crate that knows nothing of green threads.
/// fn third_party_wait() {
///     std::thread::sleep(Duration::from_millis(100));
/// }
///
/// eventlet_rt::monkey_patch();
/// let start = Instant::now();
/// let sleepers: Vec<_> = (0..10).map(|_| eventlet_rt::spawn(third_party_wait)).collect();
/// for sleeper in sleepers {
///     sleeper.wait().unwrap();
/// }
/// assert!(start.elapsed() < Duration::from_millis(900), "the ten sleeps overlapped");
/// ```
///
/// # Where it applies
/// In *green code*: any green thread, and the main context of an OS thread
/// that has a hub (one that has used the runtime), exactly where the
/// runtime's own primitives park. A `fn main` that calls `redis` directly
/// while green threads it spawned do their work therefore lets them run
/// meanwhile, as a green `sleep` there would, and as in Eventlet, where the
/// main program is a green thread too. On an OS thread that never used the
/// runtime (a plain `std::thread`, the thread pool's workers), and anywhere
/// before the call, every call goes to libc unchanged.
///
/// # What is taken over
/// - Sockets: `socket`, `socketpair`, `accept`, `accept4`, `connect`
///   (`EINPROGRESS`, park, `SO_ERROR`), `read`, `write`, `readv`, `writev`,
///   `recv`, `recvfrom`, `recvmsg`, `send`, `sendto`, `sendmsg`,
///   `shutdown`, `close` and the `dup` family. A socket the program treats
///   as blocking behaves as blocking: each call is made with `MSG_DONTWAIT`
///   and parks where the kernel would block, a stream write sends all its
///   bytes unless an error or its timeout cuts it short, `SO_RCVTIMEO` and
///   `SO_SNDTIMEO` are honoured with Linux's errors (`EAGAIN`, which std
///   reports as `WouldBlock`; `EINPROGRESS` for `connect`), and
///   `fcntl(F_GETFL)` shows the flags the program set. A socket the program
///   made non-blocking (`O_NONBLOCK`, `SOCK_NONBLOCK`, `FIONBIO`; every
///   `green::net` socket) is passed straight through. Closing a socket that
///   other green threads of the hub wait on wakes them with `EBADF`.
/// - Waiting: `poll`, `ppoll` (its signal mask is not applied to a green
///   wait), `select`, `nanosleep`, `clock_nanosleep` (what
///   `std::thread::sleep` calls).
/// - DNS: `getaddrinfo` runs on the [`tpool`](crate::tpool).
///
/// A kill or a [`with_timeout`](crate::with_timeout) that lands inside a
/// taken-over call makes it fail (`ECANCELED` for a kill, `ETIMEDOUT` for a
/// timeout, which std reports as `TimedOut`; a sleep ends early with
/// `EINTR`): an unwind never crosses the C boundary. The interrupt stays
/// pending, so the green thread unwinds at its next green blocking point;
/// until then each taken-over call that would block fails the same way.
///
/// # How
/// `monkey_patch()` rewrites the global offset table (GOT) of every loaded
/// object but libc itself: the slots through which the executable (std and
/// every crate are linked into it) and each shared library call those libc
/// functions. It walks the objects with `dl_iterate_phdr` and their
/// `GLOB_DAT`/`JUMP_SLOT` relocations, finds the real functions with
/// `dlsym(RTLD_NEXT)`, and lifts the read-only protection of the RELRO
/// pages for the writes. This works under plain `cargo run` and `cargo
/// test` (no `LD_PRELOAD`, no linker flags) and costs nothing until called:
/// a program that never calls it runs libc untouched. After the call, a
/// call made outside green code costs a thread-local read on top of libc's.
///
/// The other known way, defining `read` and friends as `#[no_mangle]`
/// symbols in the executable (libco, libgo, `open-coroutine`), was tried
/// first: it catches the same calls, but from process start, in every
/// program linking this crate whether it patches or not, and only if the
/// linker happens to pull the defining object in.
///
/// # What is not covered
/// - Calls that bypass the GOT: `syscall(2)` and inline system calls,
///   functions found with `dlsym` at run time, libc's calls to itself
///   (`fread` on a socket, the resolver inside `getaddrinfo`, which runs on
///   the pool anyway), fortified variants (`__read_chk`...), and a
///   statically linked libc (musl static builds), where nothing is patched.
/// - Shared libraries loaded after the call (`dlopen`).
/// - io_uring, `epoll_wait` and anything built on them: a crate that runs
///   its own epoll loop, mio or a tokio runtime inside blocks the hub.
/// - Pipes, terminals and files: only sockets are made green.
/// - `MSG_WAITALL` is honoured by `recv` and `recvfrom` only, not `recvmsg`.
/// - `recvmmsg`, `sendmmsg`, `sendfile`, `splice`, `pselect`, `accept` on
///   listeners shared with another process: they block as before, or (for
///   the last) may see `EAGAIN` where a listener was accepted on by green
///   code, since that listener is non-blocking underneath.
/// - `fork`: in the child every call goes to libc unchanged (its hub is a
///   copy that shares the parent's epoll set); a listener kept non-blocking
///   underneath stays so in the child, and a child that execs another
///   program hands it on non-blocking.
/// - The vDSO (`clock_gettime`, `gettimeofday`) is never blocking, so it is
///   left alone.
/// - Descriptors numbered past about a million pass through unchanged.
/// - Architectures other than x86-64 and AArch64: nothing is patched.
pub fn monkey_patch() {
    static PATCHED: Once = Once::new();
    PATCHED.call_once(|| {
        real::init();
        // SAFETY: registers handlers that only store to atomics.
        unsafe { libc::pthread_atfork(Some(fork_begins), Some(fork_ended), Some(forked)) };
        mark_panic_hook();
        let rewritten = got::install(&hooks());
        tracing::debug!(
            target: "eventlet_rt::patch",
            rewritten,
            "monkey_patch: GOT slots now point at the green versions"
        );
    });
}

/// Set in the child of a `fork`: its hub and registrations are copies of
/// the parent's, sharing the parent's epoll set, so its calls go to libc.
static FORKED: AtomicBool = AtomicBool::new(false);

extern "C" fn forked() {
    FORKED.store(true, Ordering::Relaxed);
}

extern "C" fn fork_begins() {
    fds::forking();
}

extern "C" fn fork_ended() {
    fds::forking();
}

thread_local! {
    /// Set while this OS thread runs the panic hook, where std keeps
    /// per-OS-thread state (a second panic there aborts the process).
    static IN_PANIC_HOOK: Cell<bool> = const { Cell::new(false) };
}

/// Chains a panic hook that marks the OS thread as inside the panic hook
/// while the hooks installed before it run (hooks set later are not seen).
fn mark_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let outer = IN_PANIC_HOOK.try_with(|flag| flag.replace(true));
        previous(info);
        if let Ok(outer) = outer {
            let _ = IN_PANIC_HOOK.try_with(|flag| flag.set(outer));
        }
    }));
}

/// Whether the calling code is green code that may park: a green thread,
/// or the main context of an OS thread that has a hub, running user code
/// (not the hub's own loop), outside the panic hook, in a process that was
/// not forked from the one that patched.
#[inline]
fn in_green_code() -> bool {
    crate::hub::running_user_code()
        && !FORKED.load(Ordering::Relaxed)
        && IN_PANIC_HOOK.try_with(|flag| !flag.get()).unwrap_or(false)
}

/// Each taken-over libc symbol and its hook.
fn hooks() -> Vec<Hook> {
    macro_rules! hooks {
        ($($symbol:literal => $hook:path),* $(,)?) => {
            vec![$(Hook { symbol: $symbol, address: $hook as *const () as usize }),*]
        };
    }
    hooks![
        c"socket" => sockets::socket,
        c"socketpair" => sockets::socketpair,
        c"accept" => sockets::accept,
        c"accept4" => sockets::accept4,
        c"connect" => sockets::connect,
        c"shutdown" => sockets::shutdown,
        c"close" => sockets::close,
        c"dup" => sockets::dup,
        c"dup2" => sockets::dup2,
        c"dup3" => sockets::dup3,
        c"fcntl" => flags::fcntl,
        c"fcntl64" => flags::fcntl,
        c"ioctl" => flags::ioctl,
        c"setsockopt" => flags::setsockopt,
        c"read" => data::read,
        c"write" => data::write,
        c"readv" => data::readv,
        c"writev" => data::writev,
        c"recv" => data::recv,
        c"recvfrom" => data::recvfrom,
        c"recvmsg" => data::recvmsg,
        c"send" => data::send,
        c"sendto" => data::sendto,
        c"sendmsg" => data::sendmsg,
        c"poll" => poll::poll,
        c"ppoll" => poll::ppoll,
        c"select" => poll::select,
        c"nanosleep" => sleep::nanosleep,
        c"clock_nanosleep" => sleep::clock_nanosleep,
        c"getaddrinfo" => dns::getaddrinfo,
    ]
}
