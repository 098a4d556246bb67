//! Every scheduling and prefetch heuristic of the runtime, in one block.
//!
//! Each constant says what it buys; the measurements behind them are in
//! `BENCHMARKS.md` ("Tuning"). Set `EVENTLET_PREFETCH=0` in the environment
//! to switch every prefetch off (read once per process), for A/B runs.

use std::sync::OnceLock;
use std::time::Duration;

/// The hub looks for due timers and ready sockets at least once every this
/// many task switches, even while green threads keep each other busy (tokio
/// checks as often). Looking for timers reads the clock; looking for sockets
/// is a system call, made only while a green thread waits on one.
pub(crate) const SWITCHES_BETWEEN_POLLS: u32 = 61;

/// Before it blocks in its poller, a hub whose last wake-ups came from other
/// threads (a remote spawn, a `green::mpsc` message from another hub) spins
/// on its inbox this long: an answer that comes within it costs the poster
/// no eventfd write and this hub no sleep and wake-up (10 to 60 us each on a
/// small VM). A spin that waits in vain stops the spinning until the next
/// remote post, so a hub costs at most this much CPU per remote post, and an
/// idle or purely local hub nothing. Sockets that become ready during a spin
/// are seen when it ends. Zero switches it off.
pub(crate) const REMOTE_SPIN: Duration = Duration::from_micros(20);

/// After spins in vain, a hub spins before only one block in 1, 2, 4, ... up
/// to this many: on a machine whose every core is busy, a spinning hub holds
/// the core its peer needs to answer, and spinning each time made a
/// cross-hub ping-pong twice as slow as never spinning (`BENCHMARKS.md`).
pub(crate) const REMOTE_SPIN_BACKOFF: u32 = 64;

/// While tokio has work (spawned tasks, green threads waiting on futures), a
/// hub that stays busy gives it a turn (its ready tasks, a look at its I/O
/// and timers without blocking: about 1 to 2 us) at most this often, so
/// tokio-bound futures progress under load at a cost of at most about 2%
/// of the hub's time; an idle hub waits inside tokio's driver instead.
#[cfg(feature = "tokio")]
pub(crate) const TOKIO_TURN_INTERVAL: Duration = Duration::from_micros(100);

/// With at least this many tasks queued, the hub prefetches the stacks of the
/// tasks about to run: so many are unlikely to all be in the cache, and with
/// fewer the check would cost more than it saves.
pub(crate) const PREFETCH_FROM_QUEUED: usize = 16;

/// Prefetches of many stacks go this many at a time, every this many
/// switches or spawns (with at least three batches queued in the run queue,
/// two in the stack pool): the page-table walks of a batch's stacks then
/// overlap, where one prefetch per switch waits for each walk in turn (each
/// stack top is in a page of its own).
pub(crate) const PREFETCH_BATCH: usize = 16;

/// While timers fire in a burst, the hub prefetches the task this many
/// timers ahead (its wake-up reads and writes its header).
pub(crate) const TIMER_PREFETCH_AHEAD: usize = 8;

/// Cache lines at the start of a task's allocation that switches and
/// wake-ups read: the reference counts and the header's hot fields (checked
/// by a test in `task.rs`).
pub(crate) const HEADER_LINES: usize = 4;

/// How far below the top of a stack a prefetch reaches at most: resumes of
/// deeper stacks find the rest cold.
pub(crate) const MAX_PREFETCH_DEPTH: usize = 2048;

/// How far below the top of a stack a prefetch reaches at most for a green
/// thread that marked how deep its work goes (`hub::mark_stack_reach`): an
/// HTTP connection parses each request about 4 KB down, below where it
/// parks, and each of those lines would otherwise be a miss per request.
pub(crate) const MAX_MARKED_PREFETCH_DEPTH: usize = 8192;

/// How far the calls made at a marked stack reach go below it, about.
pub(crate) const REACH_FRAMES_BELOW: usize = 512;

/// Cache lines of a green thread's marked hot object (`hub::mark_hot_objects`)
/// prefetched with its stack, at most: an HTTP connection's wire is about
/// five.
pub(crate) const MAX_HOT_OBJECT_LINES: usize = 8;

/// How far the frames of the switch itself (`suspend` down to the register
/// swap) reach below the position taken before it.
pub(crate) const SUSPEND_FRAMES_BELOW: usize = 256;

/// How far below the control block a new body's first frames reach, about:
/// the bootstrap frames and a few of the body's.
pub(crate) const START_FRAMES_DEPTH: usize = 640;

/// Pooled stacks left unused this long (beyond the pool's capacity) are unmapped.
pub(crate) const STACK_TRIM_INTERVAL: Duration = Duration::from_secs(1);

/// A green thread parked at least this long (and at most about one more
/// pass later) gives back the pages of its stack below its frames: what its
/// deepest calls touched. One `madvise`, about 5 us, and its next resume
/// pays about 0.4 us more (`BENCHMARKS.md`); shorter parks pay nothing. The
/// hub passes over its parked green threads once per this interval (or per
/// [`IDLE_STACK_STOW_AFTER`], the shorter), when it is about to wait.
/// Per hub: `hub::set_idle_stack_release`.
pub(crate) const IDLE_STACK_RELEASE_AFTER: Duration = Duration::from_secs(1);

/// A green thread parked at least this long has its whole stack stowed: its
/// frames compressed to the heap, every page given back. It then costs a
/// kilobyte or so instead of whole pages, but stowing costs about 20 us and
/// its next resume about 30 us more (`BENCHMARKS.md`), so only a green
/// thread that waits this long pays it: at most 5 us per second of waiting.
/// Per hub: `hub::set_idle_stack_stow`.
pub(crate) const IDLE_STACK_STOW_AFTER: Duration = Duration::from_secs(10);

/// A hub about to wait looks at this many live green threads at most, and
/// releases the stacks of this many at most, before it looks at its sockets
/// and timers again: a pass over 100,000 parked green threads never holds up
/// the events that arrive meanwhile by more than about half a millisecond.
pub(crate) const IDLE_SWEEP_VISITS: usize = 1024;
pub(crate) const IDLE_SWEEP_RELEASES: usize = 32;

/// False when the environment says `EVENTLET_PREFETCH=0`: no prefetch at all.
pub(crate) fn prefetching() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("EVENTLET_PREFETCH").is_none_or(|value| value != "0"))
}
