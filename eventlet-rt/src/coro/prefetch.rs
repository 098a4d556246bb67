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
    /// with a `reach` (0: none), an address the body's work between two
    /// suspensions goes down to, the frames down to there as well, as far as
    /// [`MAX_MARKED_PREFETCH_DEPTH`]. So is the generator's bookkeeping of
    /// the stack, on the heap (see
    /// [`stack_bookkeeping`](super::layout::stack_bookkeeping)).
    #[inline]
    pub(crate) fn prefetch(&self, suspended_at: usize, reach: usize, cache: Cache) {
        // The control block (registers, state, the body's slot) up to the
        // top of the stack, and the frames below it.
        let top = stack_top(self.control_block);
        let mut line = lowest_prefetched(self.control_block, suspended_at, reach) & !63;
        while line < top {
            cache.prefetch(line);
            line += 64;
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
            0,
            Cache::Nearest,
        );
    }
}

/// The lowest address [`Coroutine::prefetch`] loads of the stack whose
/// control block is at `control_block`: the control block, and the frames
/// below it down to `suspended_at` (and the switch's own frames) or, lower
/// still, to a marked `reach` (and the calls made there); never further
/// than [`MAX_PREFETCH_DEPTH`] below the top, or
/// [`MAX_MARKED_PREFETCH_DEPTH`] with a reach. 0 means unknown for both.
#[inline]
fn lowest_prefetched(control_block: usize, suspended_at: usize, reach: usize) -> usize {
    let below_control_block = control_block - 2 * 64;
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
    fn prefetch(self, address: usize) {
        match self {
            Cache::Nearest => prefetch_line(address),
            Cache::Outer => prefetch_line_outer(address),
        }
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
