//! Loading a stack into the cache ahead of its resume.

use super::Coroutine;
use super::layout::{BOOKKEEPING_BYTES, stack_top};
use crate::tuning::{
    MAX_MARKED_PREFETCH_DEPTH, MAX_PREFETCH_DEPTH, REACH_FRAMES_BELOW, START_FRAMES_DEPTH,
    SUSPEND_FRAMES_BELOW,
};

impl Coroutine {
    /// Starts loading the top of this coroutine's stack into the cache (and
    /// its page into the TLB), for a resume or re-arm that comes soon.
    ///
    /// With many green threads runnable, each resume touches a stack that has
    /// gone cold since its last run; the hub calls this one task ahead so that
    /// the load overlaps the run of the task before.
    ///
    /// `suspended_at` is about where the stack pointer was when the body last
    /// suspended ([`stack_position`](super::stack_position) there), or 0: the frames from there up
    /// are loaded too, as far as [`MAX_PREFETCH_DEPTH`] below the top; and
    /// with a marked [`StackReach`], the frames its work between two
    /// suspensions spans (see [`prefetched_ranges`]). So is the generator's
    /// bookkeeping of the stack, on the heap (see
    /// [`stack_bookkeeping`](super::layout::stack_bookkeeping)).
    #[inline]
    pub(crate) fn prefetch(&self, suspended_at: usize, reach: StackReach, cache: Cache) {
        // The control block (registers, state, the body's slot) up to the
        // top of the stack, and the frames below it.
        for range in prefetched_ranges(self.control_block, suspended_at, reach) {
            cache.prefetch_range(range);
        }
        if self.bookkeeping != 0 {
            // Its two words of counts and four of fields may straddle two lines.
            cache.prefetch(self.bookkeeping);
            cache.prefetch(self.bookkeeping + BOOKKEEPING_BYTES - 1);
        }
    }

    /// Starts loading what re-arming this finished coroutine and starting
    /// its next body will write: the control block and the first frames.
    #[inline]
    pub(crate) fn prefetch_for_start(&self) {
        self.prefetch(
            self.control_block - START_FRAMES_DEPTH + SUSPEND_FRAMES_BELOW,
            StackReach::default(),
            Cache::Nearest,
        );
    }
}

/// How much of its stack a green thread's work between two suspensions
/// spans, as it marked it (`hub::mark_stack_reach`, `hub::mark_stack_loop`);
/// 0 for unknown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct StackReach {
    /// An address that work goes down to (the calls made there go
    /// [`REACH_FRAMES_BELOW`] further).
    pub(crate) low: usize,
    /// An address above which it leaves the frames alone (those of the
    /// thread's start and of the call to its loop) until its loop ends.
    pub(crate) high: usize,
}

/// The two address ranges [`Coroutine::prefetch`] loads of the stack whose
/// control block is at `control_block`: the frames a resume will touch,
/// from [`lowest_prefetched`] up to the top of the stack or, with a marked
/// `reach.high`, up to there; then the control block (the saved registers,
/// read by every resume) up to the top. Empty or overlapping ranges are
/// harmless (a line prefetched twice).
fn prefetched_ranges(
    control_block: usize,
    suspended_at: usize,
    reach: StackReach,
) -> [std::ops::Range<usize>; 2] {
    let below_control_block = below_control_block(control_block);
    let lowest = lowest_prefetched(control_block, suspended_at, reach.low);
    let frames_top = if reach.high != 0 {
        reach.high.clamp(lowest, below_control_block)
    } else {
        below_control_block
    };
    [
        lowest..frames_top,
        below_control_block..stack_top(control_block),
    ]
}

/// The lowest address [`Coroutine::prefetch`] loads of the stack whose
/// control block is at `control_block`: the control block, and the frames
/// below it down to `suspended_at` (and the switch's own frames) or, lower
/// still, to a marked `reach` (and the calls made there); never further
/// than [`MAX_PREFETCH_DEPTH`] below the top, or
/// [`MAX_MARKED_PREFETCH_DEPTH`] with a reach. 0 means unknown for both.
#[inline]
fn lowest_prefetched(control_block: usize, suspended_at: usize, reach: usize) -> usize {
    let below_control_block = below_control_block(control_block);
    if suspended_at == 0 {
        return below_control_block;
    }
    let top = stack_top(control_block);
    let mut deepest = suspended_at.saturating_sub(SUSPEND_FRAMES_BELOW);
    let mut limit = top - MAX_PREFETCH_DEPTH;
    if reach != 0 {
        deepest = deepest.min(reach.saturating_sub(REACH_FRAMES_BELOW));
        limit = top - MAX_MARKED_PREFETCH_DEPTH;
    }
    below_control_block.min(deepest.max(limit))
}

/// Where the prefetch of the control block (registers, state, the body's
/// slot) up to the top of the stack starts: two lines below it.
#[inline(always)]
fn below_control_block(control_block: usize) -> usize {
    control_block - 2 * 64
}

/// Which cache a prefetch fills.
#[derive(Clone, Copy)]
pub(crate) enum Cache {
    /// The first level: for what runs next.
    Nearest,
    /// The second level and beyond (and the TLB): for what runs a few
    /// dozen switches later, so that it does not push out of the first
    /// level what runs before it.
    Outer,
}

impl Cache {
    /// Starts loading the cache line holding `address` into this cache.
    #[inline(always)]
    pub(crate) fn prefetch(self, address: usize) {
        match self {
            Cache::Nearest => prefetch_line(address),
            Cache::Outer => prefetch_line_outer(address),
        }
    }

    /// Starts loading every cache line holding a byte of `range` into this
    /// cache (none for an empty range).
    #[inline(always)]
    pub(crate) fn prefetch_range(self, range: std::ops::Range<usize>) {
        for_each_line(range, |line| self.prefetch(line));
    }
}

/// Calls `f` with the address of each cache line holding a byte of `range`,
/// lowest first. Two lines a turn: a stack's frames are about 50 lines, and
/// a turn per line spent more instructions on the loop's count and branch
/// than on the prefetches it made.
#[inline(always)]
pub(crate) fn for_each_line(range: std::ops::Range<usize>, mut f: impl FnMut(usize)) {
    if range.start >= range.end {
        return;
    }
    let mut line = range.start & !63;
    // The last line starts at or below `range.end - 1`: no overflow.
    let mut left = (range.end - 1 - line) / 64 + 1;
    while left >= 2 {
        f(line);
        f(line + 64);
        line = line.wrapping_add(128);
        left -= 2;
    }
    if left == 1 {
        f(line);
    }
}

/// Asks the CPU to load the cache line holding `address` into the second
/// level cache (and its page's translation into the TLB).
#[inline(always)]
pub(crate) fn prefetch_line_outer(address: usize) {
    #[cfg(target_arch = "x86_64")]
    prefetch_with_hint::<{ std::arch::x86_64::_MM_HINT_T1 }>(address);
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

/// Asks the CPU to load the cache line holding `address`.
#[inline(always)]
pub(crate) fn prefetch_line(address: usize) {
    #[cfg(target_arch = "x86_64")]
    prefetch_with_hint::<{ std::arch::x86_64::_MM_HINT_T0 }>(address);
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

/// Issues a prefetch of `address` with one of the `_MM_HINT_*` levels.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn prefetch_with_hint<const HINT: i32>(address: usize) {
    // SAFETY: a prefetch is only a hint: it never faults, whatever the
    // address, and changes nothing the program can observe.
    unsafe { std::arch::x86_64::_mm_prefetch::<HINT>(address as *const i8) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coro::layout::CONTROL_BLOCK_ALIGN;

    /// A control block 512 bytes below the top of a stack.
    fn control_block() -> (usize, usize) {
        let top = 64 * CONTROL_BLOCK_ALIGN;
        (top - 512, top)
    }

    #[test]
    fn each_line_of_a_range_is_walked_once_in_order() {
        let lines = |range: std::ops::Range<usize>| {
            let mut lines = Vec::new();
            for_each_line(range, |line| lines.push(line));
            lines
        };
        assert_eq!(lines(0x1000..0x1000), Vec::<usize>::new(), "empty");
        // `prefetched_ranges` may give a range whose end is below its start.
        let (high, low) = (0x1010, 0x1000);
        assert_eq!(lines(high..low), Vec::<usize>::new(), "reversed");
        assert_eq!(lines(0x1000..0x1001), [0x1000]);
        assert_eq!(lines(0x103f..0x1041), [0x1000, 0x1040], "straddles");
        assert_eq!(lines(0x1000..0x1080), [0x1000, 0x1040], "even count");
        assert_eq!(
            lines(0x1001..0x10c0),
            [0x1000, 0x1040, 0x1080],
            "odd count, unaligned start"
        );
        let many = lines(0x2000..0x2000 + 50 * 64 - 1);
        assert_eq!(many, (0..50).map(|i| 0x2000 + i * 64).collect::<Vec<_>>());
        let top_line = usize::MAX & !63;
        assert_eq!(
            lines(usize::MAX - 100..usize::MAX),
            [top_line - 64, top_line],
            "no overflow at the top"
        );
    }

    #[test]
    fn a_parked_stack_is_loaded_down_to_its_switch_frames() {
        let (control_block, top) = control_block();
        // Never suspended: the control block and the line below it.
        assert_eq!(lowest_prefetched(control_block, 0, 0), control_block - 128);
        // Parked 1500 bytes down: the frames of the switch below that too.
        let parked = top - 1500;
        assert_eq!(
            lowest_prefetched(control_block, parked, 0),
            parked - SUSPEND_FRAMES_BELOW
        );
        // Parked deeper than the limit: down to the limit only.
        assert_eq!(
            lowest_prefetched(control_block, top - 6000, 0),
            top - MAX_PREFETCH_DEPTH
        );
    }

    #[test]
    fn the_frames_above_a_marked_loop_are_skipped() {
        let (control_block, top) = control_block();
        let parked = top - 1500;
        let reach = StackReach {
            low: top - 4096,
            high: top - 1200,
        };
        let [frames, block] = prefetched_ranges(control_block, parked, reach);
        assert_eq!(frames, reach.low - REACH_FRAMES_BELOW..reach.high);
        assert_eq!(block, control_block - 128..top, "the saved registers");
        // Unmarked: one range from the park's frames to the top.
        let [frames, block] = prefetched_ranges(control_block, parked, StackReach::default());
        assert_eq!(frames, parked - SUSPEND_FRAMES_BELOW..control_block - 128);
        assert_eq!(frames.end, block.start);
        // Not started yet: the control block alone, whatever was marked.
        let [frames, _] = prefetched_ranges(control_block, 0, reach);
        assert!(frames.is_empty());
        // A loop top marked above the control block, or below the lowest
        // frame, leaves the ranges well-formed.
        let high = StackReach {
            high: top + 64,
            ..reach
        };
        let [frames, _] = prefetched_ranges(control_block, parked, high);
        assert_eq!(frames.end, control_block - 128);
        let low = StackReach {
            high: top - 8000,
            ..reach
        };
        let [frames, _] = prefetched_ranges(control_block, parked, low);
        assert!(frames.is_empty());
    }

    #[test]
    fn a_marked_reach_below_the_park_is_loaded_too() {
        let (control_block, top) = control_block();
        let parked = top - 1500;
        // Work between suspensions reaching 4 KB down: loaded to there and
        // the calls made there, past the limit for unmarked stacks.
        let reach = top - 4096;
        let lowest = lowest_prefetched(control_block, parked, reach);
        assert_eq!(lowest, reach - REACH_FRAMES_BELOW);
        assert!(lowest < top - MAX_PREFETCH_DEPTH);
        // A reach above the park changes nothing.
        assert_eq!(
            lowest_prefetched(control_block, parked, top - 1000),
            parked - SUSPEND_FRAMES_BELOW
        );
        // A reach far down: bounded all the same.
        assert_eq!(
            lowest_prefetched(control_block, parked, top - 100_000),
            top - MAX_MARKED_PREFETCH_DEPTH
        );
        // Not started yet: the reach is not used.
        assert_eq!(
            lowest_prefetched(control_block, 0, reach),
            control_block - 128
        );
    }
}
