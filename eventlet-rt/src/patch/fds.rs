//! What the hooks know about each descriptor, process-wide: whether it is a
//! socket, whether the program made it non-blocking, its `SO_RCVTIMEO` and
//! `SO_SNDTIMEO`.
//!
//! Descriptors are small numbers, so the table is an array of lazily
//! allocated chunks of atomics, read without a lock on every call. A
//! descriptor first seen by a hook (made before `monkey_patch()`, or by code
//! the hooks do not see) is looked at once with `fstat`, `F_GETFL` and
//! `getsockopt`. Each close bumps the descriptor's generation, which tells a
//! hub that its registration of that number belongs to a closed socket.
//!
//! `O_NONBLOCK` belongs to the open file, which `dup` and `F_DUPFD` (std's
//! `try_clone`) share between descriptors: duplicated descriptors join a
//! group that holds their non-blocking bits, so that a flag set through one
//! shows through all.

use std::collections::HashMap;
use std::ffi::c_int;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use super::real::real;

/// Looked at since it was last opened or closed.
const KNOWN: u32 = 1;
const SOCKET: u32 = 1 << 1;
/// A byte stream: a short read means the receive buffer is empty.
const STREAM: u32 = 1 << 2;
/// The program set `O_NONBLOCK` (or `SOCK_NONBLOCK`): its calls pass through.
const USER_NONBLOCKING: u32 = 1 << 3;
/// The hooks set `O_NONBLOCK` underneath (listeners a green thread accepted
/// on); `F_GETFL` hides it and plain threads get blocking accepts anyway.
const KERNEL_NONBLOCKING: u32 = 1 << 4;
/// The bits that belong to the open file, shared by its duplicates.
const FILE_BITS: u32 = USER_NONBLOCKING | KERNEL_NONBLOCKING;

const CHUNK: usize = 1024;
const CHUNKS: usize = 1024;

/// Descriptors at or past this number are not tracked: their calls go to
/// libc unchanged.
pub(super) const TRACKED_FDS: usize = CHUNK * CHUNKS;

#[derive(Default)]
struct Entry {
    bits: AtomicU32,
    generation: AtomicU32,
    /// Microseconds; 0 means none, as for the socket option.
    read_timeout: AtomicU64,
    write_timeout: AtomicU64,
    /// The group of duplicates it belongs to; 0 for none.
    group: AtomicU32,
}

/// The file bits of a group of duplicated descriptors, and how many they are.
struct Group {
    bits: u32,
    members: u32,
}

/// The groups by id, and the next id.
static GROUPS: Mutex<(u32, Option<HashMap<u32, Group>>)> = Mutex::new((1, None));

fn with_groups<R>(f: impl FnOnce(&mut u32, &mut HashMap<u32, Group>) -> R) -> R {
    let mut groups = GROUPS.lock().unwrap_or_else(PoisonError::into_inner);
    let (next, groups) = &mut *groups;
    f(next, groups.get_or_insert_with(HashMap::new))
}

/// Takes the entry out of its group of duplicates, if any.
fn leave_group(entry: &Entry) {
    let group = entry.group.swap(0, Ordering::AcqRel);
    if group != 0 {
        with_groups(|_, groups| {
            if let Some(found) = groups.get_mut(&group) {
                found.members -= 1;
                if found.members == 0 {
                    groups.remove(&group);
                }
            }
        });
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
        with_groups(|_, groups| {
            if let Some(found) = groups.get_mut(&group) {
                found.bits = if set {
                    found.bits | bits
                } else {
                    found.bits & !bits
                };
            }
        });
    }
}

static TABLE: [OnceLock<Box<[Entry]>>; CHUNKS] = [const { OnceLock::new() }; CHUNKS];

fn entry(fd: c_int) -> Option<&'static Entry> {
    let fd = usize::try_from(fd).ok().filter(|&fd| fd < TRACKED_FDS)?;
    let chunk = TABLE[fd / CHUNK].get_or_init(|| (0..CHUNK).map(|_| Entry::default()).collect());
    Some(&chunk[fd % CHUNK])
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
        if group != 0 {
            let shared = with_groups(|_, groups| groups.get(&group).map(|found| found.bits));
            if let Some(shared) = shared {
                bits = (bits & !FILE_BITS) | shared;
            }
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

/// A socket was made (`socket`, `accept`, `socketpair`): a fresh entry.
pub(super) fn opened_socket(fd: c_int, stream: bool, nonblocking: bool, timeouts: [u64; 2]) {
    let Some(entry) = entry(fd) else {
        return;
    };
    leave_group(entry);
    entry.generation.fetch_add(1, Ordering::AcqRel);
    entry.read_timeout.store(timeouts[0], Ordering::Relaxed);
    entry.write_timeout.store(timeouts[1], Ordering::Relaxed);
    let mut bits = KNOWN | SOCKET;
    if stream {
        bits |= STREAM;
    }
    if nonblocking {
        bits |= USER_NONBLOCKING;
    }
    entry.bits.store(bits, Ordering::Release);
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
    let bits = source.bits.load(Ordering::Acquire);
    with_groups(|next, groups| {
        let mut group = source.group.load(Ordering::Acquire);
        if group == 0 || !groups.contains_key(&group) {
            group = *next;
            *next = next.wrapping_add(1).max(1);
            groups.insert(
                group,
                Group {
                    bits: bits & FILE_BITS,
                    members: 1,
                },
            );
            source.group.store(group, Ordering::Release);
        }
        if let Some(found) = groups.get_mut(&group) {
            found.members += 1;
        }
        copy.group.store(group, Ordering::Release);
    });
    copy.bits.store(bits, Ordering::Release);
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
