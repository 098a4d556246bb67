//! What the hooks know about each descriptor, process-wide: whether it is a
//! socket, whether the program made it non-blocking, its `SO_RCVTIMEO` and
//! `SO_SNDTIMEO`.
//!
//! Descriptors are small numbers, so the table is an array of chunks of
//! atomics, each mapped (`mmap`) the first time a descriptor in its range
//! is seen and read without a lock on every call. No lock and no `malloc`
//! anywhere: the hooks of `dup`, `fcntl` and `close`, which POSIX lists as
//! async-signal-safe, stay so, and a forked child never finds the table
//! held by a thread that does not exist there. A descriptor first seen by a
//! hook (made before `monkey_patch()`, or by code the hooks do not see) is
//! looked at once with `fstat`, `F_GETFL` and `getsockopt`. Each close
//! bumps the descriptor's generation, which tells a hub that its
//! registration of that number belongs to a closed socket.
//!
//! `O_NONBLOCK` belongs to the open file, which duplicates share: see
//! [`super::groups`].

use std::ffi::c_int;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use super::groups;
use super::real::real;

/// Looked at since it was last opened or closed.
const KNOWN: u32 = 1;
const SOCKET: u32 = 1 << 1;
/// A byte stream: writes send everything, `MSG_WAITALL` waits for it all.
const STREAM: u32 = 1 << 2;
/// The program set `O_NONBLOCK` (or `SOCK_NONBLOCK`): its calls pass through.
const USER_NONBLOCKING: u32 = 1 << 3;
/// The hooks set `O_NONBLOCK` underneath (listeners a green thread accepted
/// on); `F_GETFL` hides it and plain threads get blocking accepts anyway.
const KERNEL_NONBLOCKING: u32 = 1 << 4;
/// The bits that belong to the open file, shared by its duplicates.
const FILE_BITS: u32 = USER_NONBLOCKING | KERNEL_NONBLOCKING;
/// A TCP stream: a read that returns less than asked for emptied the
/// receive queue. Not so for Unix streams, where a read stops at passed
/// descriptors or credentials with bytes still queued behind them.
const SHORT_READ_DRAINS: u32 = 1 << 5;
/// Made by this process's `socket()` hook with `SOCK_CLOEXEC`, never
/// duplicated, passed on or inherited since: no other descriptor or process
/// shares its open file, so its flags may change for a moment unseen.
const PRIVATE: u32 = 1 << 6;

const CHUNK: usize = 1024;
const CHUNKS: usize = 1024;

/// Descriptors at or past this number are not tracked: their calls go to
/// libc unchanged.
pub(super) const TRACKED_FDS: usize = CHUNK * CHUNKS;

/// One descriptor's facts; all zeros is a valid, unknown entry.
struct Entry {
    bits: AtomicU32,
    generation: AtomicU32,
    /// Microseconds; 0 means none, as for the socket option.
    read_timeout: AtomicU64,
    write_timeout: AtomicU64,
    /// The group of duplicates it belongs to (see `groups`); 0 for none.
    group: AtomicU64,
    /// How many forks had begun when it was made (see [`forking`]).
    born: AtomicU32,
}

type Chunk = [Entry; CHUNK];

static TABLE: [AtomicPtr<Chunk>; CHUNKS] = [const { AtomicPtr::new(std::ptr::null_mut()) }; CHUNKS];

/// Forks begun in this process, counted before and after each (see
/// `PRIVATE`).
static FORKS: AtomicU32 = AtomicU32::new(0);

/// A fork begins or has ended in the parent: every open file may be shared
/// with the child now.
pub(super) fn forking() {
    FORKS.fetch_add(1, Ordering::AcqRel);
}

fn entry(fd: c_int) -> Option<&'static Entry> {
    let fd = usize::try_from(fd).ok().filter(|&fd| fd < TRACKED_FDS)?;
    let slot = &TABLE[fd / CHUNK];
    let mut chunk = slot.load(Ordering::Acquire);
    if chunk.is_null() {
        chunk = map_chunk(slot)?;
    }
    // SAFETY: a chunk, once installed, is never unmapped.
    Some(unsafe { &(*chunk)[fd % CHUNK] })
}

/// Maps a zeroed chunk and installs it, or takes the one another thread
/// installed first.
#[cold]
fn map_chunk(slot: &AtomicPtr<Chunk>) -> Option<*mut Chunk> {
    // SAFETY: a fresh private anonymous mapping, zeroed by the kernel; all
    // zeros is a valid `Entry` (atomics of 0).
    let mapped = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            size_of::<Chunk>(),
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if mapped == libc::MAP_FAILED {
        return None;
    }
    let mapped = mapped.cast::<Chunk>();
    match slot.compare_exchange(
        std::ptr::null_mut(),
        mapped,
        Ordering::AcqRel,
        Ordering::Acquire,
    ) {
        Ok(_) => Some(mapped),
        Err(installed) => {
            // SAFETY: our own mapping, never handed out.
            unsafe { libc::munmap(mapped.cast(), size_of::<Chunk>()) };
            Some(installed)
        }
    }
}

/// Takes the entry out of its group of duplicates, if any.
fn leave_group(entry: &Entry) {
    let group = entry.group.swap(0, Ordering::AcqRel);
    if group != 0 {
        groups::leave(group);
    }
}

/// Sets or clears file bits of the entry and of its duplicates.
fn update_file_bits(entry: &Entry, bits: u32, set: bool) {
    if set {
        entry.bits.fetch_or(bits, Ordering::AcqRel);
    } else {
        entry.bits.fetch_and(!bits, Ordering::AcqRel);
    }
    let group = entry.group.load(Ordering::Acquire);
    if group != 0 {
        groups::set_bits(group, bits, set);
    }
}

/// The direction of a socket timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Timeout {
    Read,
    Write,
}

/// What a hook knows of one descriptor when it is called.
#[derive(Clone, Copy)]
pub(super) struct Descriptor {
    pub(super) fd: c_int,
    entry: &'static Entry,
    bits: u32,
    pub(super) generation: u32,
}

impl Descriptor {
    /// What is known of `fd`, looking at it first if it is new to the table;
    /// `None` for numbers the table does not track.
    pub(super) fn of(fd: c_int) -> Option<Descriptor> {
        let entry = entry(fd)?;
        let mut bits = entry.bits.load(Ordering::Acquire);
        if bits & KNOWN == 0 {
            bits = classify(fd, entry);
        }
        let group = entry.group.load(Ordering::Acquire);
        if group != 0
            && let Some(shared) = groups::file_bits(group)
        {
            bits = (bits & !FILE_BITS) | (shared & FILE_BITS);
        }
        Some(Descriptor {
            fd,
            entry,
            bits,
            generation: entry.generation.load(Ordering::Acquire),
        })
    }

    /// A socket the program treats as blocking: its calls are made green.
    pub(super) fn is_blocking_socket(&self) -> bool {
        self.bits & (SOCKET | USER_NONBLOCKING) == SOCKET
    }

    pub(super) fn is_stream(&self) -> bool {
        self.bits & STREAM != 0
    }

    /// A read that returns less than asked for emptied the receive queue.
    pub(super) fn short_read_drains(&self) -> bool {
        self.bits & SHORT_READ_DRAINS != 0
    }

    /// No other descriptor or process shares its open file (see `PRIVATE`).
    pub(super) fn is_private(&self) -> bool {
        self.bits & PRIVATE != 0
            && self.entry.born.load(Ordering::Acquire) == FORKS.load(Ordering::Acquire)
    }

    /// Its open file may be shared from now on (its descriptor was sent to
    /// another process, or may be inherited across `exec`).
    pub(super) fn shared(&self) {
        self.entry.bits.fetch_and(!PRIVATE, Ordering::AcqRel);
    }

    /// The hooks keep it non-blocking underneath.
    pub(super) fn kernel_nonblocking(&self) -> bool {
        self.bits & KERNEL_NONBLOCKING != 0
    }

    pub(super) fn user_nonblocking(&self) -> bool {
        self.bits & USER_NONBLOCKING != 0
    }

    pub(super) fn timeout(&self, direction: Timeout) -> Option<Duration> {
        let micros = match direction {
            Timeout::Read => &self.entry.read_timeout,
            Timeout::Write => &self.entry.write_timeout,
        }
        .load(Ordering::Relaxed);
        (micros > 0).then(|| Duration::from_micros(micros))
    }

    pub(super) fn set_timeout(&self, direction: Timeout, timeout: Option<Duration>) {
        let micros = timeout.map_or(0, |t| u64::try_from(t.as_micros()).unwrap_or(u64::MAX));
        match direction {
            Timeout::Read => &self.entry.read_timeout,
            Timeout::Write => &self.entry.write_timeout,
        }
        .store(micros, Ordering::Relaxed);
    }

    pub(super) fn set_user_nonblocking(&self, nonblocking: bool) {
        update_file_bits(self.entry, USER_NONBLOCKING, nonblocking);
    }

    pub(super) fn set_kernel_nonblocking(&self) {
        update_file_bits(self.entry, KERNEL_NONBLOCKING, true);
    }

    /// The descriptor turned out not to be a socket (closed and reopened
    /// behind the hooks' back).
    pub(super) fn not_a_socket(&self) {
        leave_group(self.entry);
        self.entry.bits.store(KNOWN, Ordering::Release);
    }
}

/// What a hook that made a socket (`socket`, `accept`, `socketpair`)
/// knows of it.
#[derive(Clone, Copy, Default)]
pub(super) struct NewSocket {
    pub(super) stream: bool,
    pub(super) tcp: bool,
    pub(super) nonblocking: bool,
    /// Made by `socket()` with `SOCK_CLOEXEC`: see `PRIVATE`.
    pub(super) private: bool,
    /// `SO_RCVTIMEO` and `SO_SNDTIMEO`, in microseconds.
    pub(super) timeouts: [u64; 2],
}

/// A socket was made: a fresh entry.
pub(super) fn opened_socket(fd: c_int, socket: NewSocket) {
    let Some(entry) = entry(fd) else {
        return;
    };
    leave_group(entry);
    entry.generation.fetch_add(1, Ordering::AcqRel);
    entry
        .born
        .store(FORKS.load(Ordering::Acquire), Ordering::Release);
    entry
        .read_timeout
        .store(socket.timeouts[0], Ordering::Relaxed);
    entry
        .write_timeout
        .store(socket.timeouts[1], Ordering::Relaxed);
    let mut bits = KNOWN | SOCKET;
    for (set, bit) in [
        (socket.stream, STREAM),
        (socket.stream && socket.tcp, SHORT_READ_DRAINS),
        (socket.nonblocking, USER_NONBLOCKING),
        (socket.private, PRIVATE),
    ] {
        if set {
            bits |= bit;
        }
    }
    entry.bits.store(bits, Ordering::Release);
}

/// Whether a socket of this domain is TCP's (for [`NewSocket::tcp`]).
pub(super) fn is_inet(domain: c_int) -> bool {
    domain == libc::AF_INET || domain == libc::AF_INET6
}

/// The descriptor may now be inherited by a program it `exec`s (its
/// close-on-exec flag was cleared).
pub(super) fn inheritable(fd: c_int) {
    if let Some(entry) = entry(fd) {
        entry.bits.fetch_and(!PRIVATE, Ordering::AcqRel);
    }
}

/// The generation of `fd`'s entry.
pub(super) fn generation(fd: c_int) -> Option<u32> {
    entry(fd).map(|entry| entry.generation.load(Ordering::Acquire))
}

/// The timeouts of a socket, to hand on to the sockets it accepts (Linux
/// copies them to the accepted socket).
pub(super) fn timeouts(fd: c_int) -> [u64; 2] {
    entry(fd).map_or([0, 0], |entry| {
        [
            entry.read_timeout.load(Ordering::Relaxed),
            entry.write_timeout.load(Ordering::Relaxed),
        ]
    })
}

/// `fd` was closed: whatever it becomes next is looked at anew.
pub(super) fn closed(fd: c_int) {
    if let Some(entry) = entry(fd) {
        leave_group(entry);
        entry.generation.fetch_add(1, Ordering::AcqRel);
        entry.bits.store(0, Ordering::Release);
    }
}

/// `to` was made a duplicate of `from` (`dup`, `F_DUPFD`): it shares the
/// open file, so it shares what is known of it.
pub(super) fn duplicated(from: c_int, to: c_int) {
    let (Some(source), Some(copy)) = (entry(from), entry(to)) else {
        return;
    };
    if source.bits.load(Ordering::Acquire) & KNOWN == 0 {
        classify(from, source);
    }
    source.bits.fetch_and(!PRIVATE, Ordering::AcqRel);
    leave_group(copy);
    copy.generation.fetch_add(1, Ordering::AcqRel);
    copy.read_timeout.store(
        source.read_timeout.load(Ordering::Relaxed),
        Ordering::Relaxed,
    );
    copy.write_timeout.store(
        source.write_timeout.load(Ordering::Relaxed),
        Ordering::Relaxed,
    );
    let mut bits = source.bits.load(Ordering::Acquire);
    let mut group = source.group.load(Ordering::Acquire);
    if group != 0
        && let Some(shared) = groups::file_bits(group)
    {
        bits = (bits & !FILE_BITS) | (shared & FILE_BITS);
    }
    if group == 0 || !groups::join(group) {
        group = match groups::create(bits & FILE_BITS, 2) {
            Some(created) => match source.group.compare_exchange(
                group,
                created,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => created,
                Err(other) => {
                    // Another duplicate of `from` made a group first: join it.
                    groups::leave(created);
                    groups::leave(created);
                    if groups::join(other) { other } else { 0 }
                }
            },
            None => 0,
        };
    }
    copy.group.store(group, Ordering::Release);
    copy.bits.store(bits & !PRIVATE, Ordering::Release);
}

/// Looks at a descriptor the table has not seen since it was opened.
#[cold]
fn classify(fd: c_int, entry: &Entry) -> u32 {
    // SAFETY: `fstat` writes a `stat` into the zeroed one it is given.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `stat` is a valid, writable `stat` for `fstat` to fill.
    if unsafe { libc::fstat(fd, &mut stat) } != 0 {
        return 0; // not open: leave it unknown, the call fails by itself
    }
    let mut bits = KNOWN;
    if stat.st_mode & libc::S_IFMT == libc::S_IFSOCK {
        bits |= SOCKET;
        if socket_option::<c_int>(fd, libc::SO_TYPE) == Some(libc::SOCK_STREAM) {
            bits |= STREAM;
            if socket_option::<c_int>(fd, libc::SO_DOMAIN).is_some_and(is_inet) {
                bits |= SHORT_READ_DRAINS;
            }
        }
        // SAFETY: `F_GETFL` takes no argument.
        let flags = unsafe { (real().fcntl)(fd, libc::F_GETFL) };
        if flags >= 0 && flags & libc::O_NONBLOCK != 0 {
            bits |= USER_NONBLOCKING;
        }
        for (option, slot) in [
            (libc::SO_RCVTIMEO, &entry.read_timeout),
            (libc::SO_SNDTIMEO, &entry.write_timeout),
        ] {
            let timeout = socket_option::<libc::timeval>(fd, option).map_or(0, timeval_micros);
            slot.store(timeout, Ordering::Relaxed);
        }
    }
    entry.bits.store(bits, Ordering::Release);
    bits
}

/// Microseconds in a socket timeout (0: none).
pub(super) fn timeval_micros(timeout: libc::timeval) -> u64 {
    let seconds = u64::try_from(timeout.tv_sec).unwrap_or(0);
    let micros = u64::try_from(timeout.tv_usec).unwrap_or(0);
    seconds.saturating_mul(1_000_000).saturating_add(micros)
}

/// A `SOL_SOCKET` option of a plain-old-data type.
fn socket_option<T: Copy>(fd: c_int, option: c_int) -> Option<T> {
    let mut value = std::mem::MaybeUninit::<T>::zeroed();
    let mut length = size_of::<T>() as libc::socklen_t;
    // SAFETY: `getsockopt` writes at most `length` bytes into `value`, which
    // is zeroed, so it is initialized whatever it writes; `T` is plain data.
    unsafe {
        let result = libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            option,
            value.as_mut_ptr().cast(),
            &mut length,
        );
        (result == 0).then(|| value.assume_init())
    }
}

/// The pending error of a socket (`SO_ERROR`), which reading clears.
pub(super) fn take_socket_error(fd: c_int) -> c_int {
    socket_option::<c_int>(fd, libc::SO_ERROR).unwrap_or(0)
}
