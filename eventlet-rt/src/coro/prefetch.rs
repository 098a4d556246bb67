//! Loading a stack into the cache ahead of its resume.

use super::Coroutine;
use super::layout::{BOOKKEEPING_BYTES, stack_top};
use crate::tuning::{MAX_PREFETCH_DEPTH, START_FRAMES_DEPTH, SUSPEND_FRAMES_BELOW};

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
    /// are loaded too, as far as [`MAX_PREFETCH_DEPTH`] below the top. So is
    /// the generator's bookkeeping of the stack, on the heap (see
    /// [`stack_bookkeeping`](super::layout::stack_bookkeeping)).
    #[inline]
    pub(crate) fn prefetch(&self, suspended_at: usize, cache: Cache) {
        // The control block (registers, state, the body's slot) up to the
        // top of the stack, and the frames below it.
        let top = stack_top(self.control_block);
        let below_control_block = self.control_block - 2 * 64;
        let lowest = if suspended_at == 0 {
            below_control_block
        } else {
            below_control_block.min(
                suspended_at
                    .saturating_sub(SUSPEND_FRAMES_BELOW)
                    .max(top - MAX_PREFETCH_DEPTH),
            )
        };
        let mut line = lowest & !63;
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
            Cache::Nearest,
        );
    }
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
