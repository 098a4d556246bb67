//! `monkey_patch()`: Eventlet's monkey patching at run time, for the libc
//! calls of any code in the process.

mod child;
mod data;
mod dns;
mod fds;
mod flags;
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
mod futex;
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
mod futex_sites;
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
mod futex_table;
mod got;
mod groups;
mod loader;
mod messages;
mod pipes;
mod poll;
mod real;
mod sleep;
mod sockets;
mod table;
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
mod trampoline;
mod wait;

use std::cell::Cell;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use got::Hook;

/// Makes the blocking socket, pipe and terminal calls, sleeps, `poll`s,
/// child-process waits and DNS lookups that any code makes through libc
/// park only the calling green thread, from now on (Eventlet's
/// `eventlet.monkey_patch()`).
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
///   `recvmmsg`, `sendmmsg`, `shutdown`, `close` and the `dup` family. A socket the program treats
///   as blocking behaves as blocking: each call is made with `MSG_DONTWAIT`
///   and parks where the kernel would block, a stream write sends all its
///   bytes unless an error or its timeout cuts it short, `SO_RCVTIMEO` and
///   `SO_SNDTIMEO` are honoured with Linux's errors (`EAGAIN`, which std
///   reports as `WouldBlock`; `EINPROGRESS` for `connect`), and
///   `fcntl(F_GETFL)` shows the flags the program set. A socket the program
///   made non-blocking (`O_NONBLOCK`, `SOCK_NONBLOCK`, `FIONBIO`; every
///   `green::net` socket) is passed straight through. Closing a socket that
///   other green threads of the hub wait on wakes them with `EBADF`. A
///   `connect` flips `O_NONBLOCK` only on a socket this process made and
///   shares with nobody (no duplicate, no child, close-on-exec); another
///   socket's connect blocks a [`tpool`](crate::tpool) thread instead, so a
///   process sharing the open file never sees its flags change.
/// - Pipes, FIFOs, terminals and the other descriptors epoll can watch
///   (character devices, eventfds, timerfds): `read`, `write`, `readv`,
///   `writev`, as on sockets. A pipe is tried with `RWF_NOWAIT`; a FIFO or
///   a terminal, which refuse it, is asked with `poll` first, so a second
///   reader of the same FIFO or terminal that takes the bytes in between
///   leaves the call blocking. Writes send everything, in steps of at most
///   `PIPE_BUF` bytes on FIFOs and terminals (a write of up to `PIPE_BUF`
///   stays atomic).
/// - Waiting: `poll`, `ppoll`, `select`, `pselect` (the signal masks of
///   `ppoll` and `pselect` are not applied to a green wait), `nanosleep`,
///   `clock_nanosleep` (what `std::thread::sleep` calls).
/// - Child processes: `wait`, `waitpid`, `wait4`, `waitid` (what
///   `Command::status` and `Child::wait` call): a wait for one child's exit
///   parks on a pidfd (Linux 5.3 and later); any other wait sleeps green
///   between `WNOHANG` tries, 1 ms doubling to 50 ms.
/// - DNS: `getaddrinfo` runs on the [`tpool`](crate::tpool).
/// - Waits for std's locks: a green thread that wants a std `Mutex`,
///   `RwLock` (read or write) or `Once` (also behind `OnceLock` and
///   `LazyLock`) held by another green thread of any hub or by any OS
///   thread parks until the holder lets it go, and the rest of its hub runs
///   meanwhile. std waits for them with a futex through libc's `syscall`;
///   `monkey_patch()` finds the places in std that wait for these locks
///   (by making each wait happen once on scratch threads) and takes over
///   only the waits from there. A release from any thread wakes the green
///   waiters at that address first, then the OS threads waiting there. A
///   kill or a [`with_timeout`](crate::with_timeout) of a green thread
///   waiting for such a lock does not end the wait (std's `lock` cannot
///   fail): it takes the lock once released and unwinds at its next green
///   blocking point. While its hub is torn down (thread exit), such a
///   waiter looks at the lock every millisecond instead, so one still
///   waiting when teardown abandons it takes no later release's wake-up. Ownership stays per OS thread where std keeps it:
///   a `ReentrantLock` (`stdout().lock()`) held by a parked green thread is
///   entered, not waited for, by the other green threads of its OS thread;
///   and a guard dropped while another green thread of its OS thread is
///   mid-panic poisons its lock (std's `thread::panicking` is per OS
///   thread). The runtime's cross-thread locks (the hubs' inboxes, remote
///   waits) always wait in the kernel; they are held for a few
///   instructions. The green waiters are kept by address behind spin
///   locks: a futex wake from a signal handler that interrupted one of them
///   would spin (std's locks are not async-signal-safe either).
/// - Libraries loaded later: the program's `dlopen` (`libloading`...)
///   patches what it loaded before it returns.
///
/// # Where the hooks never park
/// The hooks are as safe as the calls they replace. They keep no lock and
/// allocate nothing where POSIX calls the call async-signal-safe (`dup`,
/// `fcntl`, `close`...), so a signal handler may make those calls and a
/// forked child never finds the hooks' state held by a thread it does not
/// have. They park only where user code runs: a green thread, or the main
/// context outside the hub's loop; anything the hub's loop runs (timers,
/// destructors of finished green threads, an event loop it drives) gets
/// libc's blocking call. And they never park where std or libc keep
/// per-OS-thread state across the call:
/// - stdin, stdout and stderr (descriptors 0, 1 and 2) block as before,
///   whatever they are. std's `Stdout` and `Stderr` hold a
///   `ReentrantLock` across each write, and its owner is the OS thread:
///   two green threads of one OS thread count as one owner, so a second
///   `println!` would enter the lock the first one holds while parked.
///   What holds: a `println!` never parks, so no green thread is ever
///   parked inside one; a green thread that keeps `stdout().lock()` across
///   a blocking call does not keep the other green threads of its OS thread
///   out (their lines may come in between), because for std they are the
///   same thread.
/// - Inside the panic hook (the hooks installed before `monkey_patch()`;
///   a hook set later is not seen): std counts a panic per OS thread, and a
///   second green thread panicking while the first one's hook is parked
///   would abort the process.
///
/// A kill or a [`with_timeout`](crate::with_timeout) that lands inside a
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
/// Waits on state that belongs to the OS thread, which all its green
/// threads share, cannot park only one of them; those futex waits and
/// `epoll_wait` reach the kernel as before (the OS thread blocks):
/// - `std::thread::park` (std's `mpsc` receive, `reqwest::blocking`,
///   `futures::executor::block_on` and crossbeam channels wait there): the
///   parker belongs to the OS thread's `Thread`, whose single wake-up token
///   two parked green threads would share and lose.
/// - std's `Condvar`: its futex wait looks the same as that of a
///   per-OS-thread parker built on a condvar (tokio's is a std `Mutex` and
///   `Condvar`), and two green threads of one OS thread parked on that
///   shared parker make tokio panic ("inconsistent park state"); so no
///   condvar wait is taken over. The `Mutex` it re-locks after its wait is.
/// - `parking_lot` (r2d2's pool checkout, `scheduled-thread-pool`): each
///   OS thread has one queue entry in thread-local storage, which two
///   parked green threads would link twice into its wait queues.
/// - tokio's `block_on` on the calling thread (the sync `postgres`
///   client, which sleeps in `epoll_wait` on its own runtime's epoll set):
///   tokio marks the OS thread as inside a runtime, and a second green
///   thread entering one while the first is parked inside panics ("Cannot
///   start a runtime from within a runtime").
/// - std's lock waits when `monkey_patch()` could not find where std makes
///   them (another std, a libc std does not reach through `syscall`): a
///   debug trace on the `eventlet_rt::patch` target says which.
///
/// Run such clients on the [`tpool`](crate::tpool) (`tpool::execute`), or
/// one per hub with [`hubs`](crate::hubs).
///
/// Patching can make such a wait worse than unpatched when what it waits
/// for is held by another green thread of the same hub: a pool whose
/// checkout waits in `parking_lot` (r2d2) while the connections' holders,
/// now parked on their sockets, cannot run to give them back, so the
/// checkout times out where it used to wait its turn (measured: 45 of 50
/// checkouts of an r2d2 pool of 5 timed out). Share such a pool only
/// between green threads of different OS threads, or use a green pool
/// ([`green::sync`](crate::green::sync) primitives,
/// [`Queue`](crate::Queue)).
///
/// Beyond those:
/// - System calls made through `syscall(2)` other than std's lock waits
///   and futex wakes: they go to libc unchanged.
/// - Calls that bypass the GOT: inline system calls, functions found with
///   `dlsym` at run time, libc's calls to itself
///   (`fread` on a socket, the resolver inside `getaddrinfo`, which runs on
///   the pool anyway), fortified variants (`__read_chk`...), and a
///   statically linked libc (musl static builds), where nothing is patched.
/// - io_uring.
/// - A shared library that a shared library opens (its own `dlopen`, which
///   the hooks leave alone: libc resolves `$ORIGIN` against the caller)
///   until the program's next `dlopen` patches it.
/// - Regular files and block devices stay blocking: epoll cannot watch
///   them, and a read that waits for the disk could only move to a pool
///   thread writing into a buffer whose green thread may be killed
///   meanwhile. Opening a FIFO blocks until its other end opens (`open` is
///   not taken over; opening it read-write never blocks).
/// - Not taken over yet: `sendfile` and `splice` (no flag makes them
///   non-blocking on a shared socket); they block as before.
/// - A listener shared with another process that green code accepted on
///   stays non-blocking underneath, so the other process may see `EAGAIN`.
/// - `fork`: in the child every call goes to libc unchanged (its hub is a
///   copy that shares the parent's epoll set).
/// - A signal handler that closes a descriptor green threads of the
///   interrupted OS thread wait on, while the hub's own code runs there,
///   leaves them waiting for their timeouts.
/// - The vDSO (`clock_gettime`, `gettimeofday`) is never blocking, so it is
///   left alone.
/// - Descriptors numbered past about a million pass through unchanged.
/// - Architectures other than x86-64 and AArch64: nothing is patched.
pub fn monkey_patch() {
    static PATCHED: Once = Once::new();
    PATCHED.call_once(|| {
        real::init();
        #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
        trampoline::init(real::real().syscall as usize);
        // SAFETY: registers handlers that only store to atomics.
        unsafe { libc::pthread_atfork(Some(fork_begins), Some(fork_ended), Some(forked)) };
        mark_panic_hook();
        install();
        #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
        futex_sites::calibrate();
    });
}

/// Points the GOT slots of every loaded object at the hooks.
fn install() {
    let rewritten = got::install(&hooks());
    tracing::debug!(
        target: "eventlet_rt::patch",
        rewritten,
        "monkey_patch: GOT slots now point at the green versions"
    );
}

/// Set in the child of a `fork`: its hub and registrations are copies of
/// the parent's, sharing the parent's epoll set, so its calls go to libc.
static FORKED: AtomicBool = AtomicBool::new(false);

extern "C" fn forked() {
    FORKED.store(true, Ordering::Relaxed);
}

extern "C" fn fork_begins() {
    table::forking();
}

extern "C" fn fork_ended() {
    table::forking();
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

/// Whether this OS thread's hub keeps registrations the hooks must update
/// when a descriptor closes, is replaced or changes flags (whoever runs:
/// the hub's loop too), in a process that was not forked from the one that
/// patched. Such updates never park.
#[inline]
fn on_a_hub() -> bool {
    crate::hub::existing().is_some() && !FORKED.load(Ordering::Relaxed)
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
            vec![$(Hook {
                symbol: $symbol,
                address: $hook as *const () as usize,
                executable_only: $symbol == c"dlopen",
            }),*]
        };
    }
    #[allow(unused_mut, reason = "the `syscall` hook exists on some targets only")]
    let mut hooks = hooks![
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
        c"recvmmsg" => messages::recvmmsg,
        c"sendmmsg" => messages::sendmmsg,
        c"poll" => poll::poll,
        c"ppoll" => poll::ppoll,
        c"select" => poll::select,
        c"pselect" => poll::pselect,
        c"nanosleep" => sleep::nanosleep,
        c"clock_nanosleep" => sleep::clock_nanosleep,
        c"getaddrinfo" => dns::getaddrinfo,
        c"dlopen" => loader::dlopen,
        c"wait" => child::wait,
        c"waitpid" => child::waitpid,
        c"wait4" => child::wait4,
        c"waitid" => child::waitid,
    ];
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    hooks.push(Hook {
        symbol: c"syscall",
        address: trampoline::syscall_entry as *const () as usize,
        executable_only: false,
    });
    hooks
}
