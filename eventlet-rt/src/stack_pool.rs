//! Reuse of green thread stacks.
//!
//! Mapping a stack costs two system calls (`mmap`, then `mprotect` for the guard
//! page) and about 11 us here; re-arming a finished one costs about 30 ns. So a
//! finished green thread's stack goes back to this pool and the next green
//! thread of the same stack size runs on it.
//!
//! The pool keeps what the workload needed: every finished stack of the
//! default size goes back to it, and the hub trims it lazily. Stacks that sat
//! unused in the pool through a whole [`TRIM_INTERVAL`] are unmapped, down to
//! the pool's capacity, which it keeps for good. A burst of 100,000 sleepers
//! thus maps its stacks once, not once per burst, and their memory goes back
//! to the kernel a second or two after the bursts stop.

use std::cell::{Cell, RefCell};
use std::time::Instant;

use crate::coro::Coroutine;

/// The stack size of a green thread unless set otherwise: 128 KiB.
///
/// Only the pages a green thread touches become resident memory; the rest of
/// the mapping is address space. Change it per OS thread with
/// [`hub::set_default_stack_size`](crate::hub::set_default_stack_size) or per
/// green thread with [`Builder::stack_size`](crate::Builder::stack_size).
///
/// ```
/// assert_eq!(eventlet_rt::hub::default_stack_size(), eventlet_rt::DEFAULT_STACK_SIZE);
/// ```
pub const DEFAULT_STACK_SIZE: usize = 128 * 1024;

/// How many finished stacks a hub keeps for reuse for good unless set otherwise.
///
/// More are kept while the workload keeps needing them; see
/// [`hub::set_stack_pool_capacity`](crate::hub::set_stack_pool_capacity).
///
/// ```
/// eventlet_rt::hub::set_stack_pool_capacity(eventlet_rt::DEFAULT_STACK_POOL_CAPACITY / 4);
/// ```
pub const DEFAULT_STACK_POOL_CAPACITY: usize = 1024;

use crate::tuning::{PREFETCH_BATCH, STACK_TRIM_INTERVAL as TRIM_INTERVAL, prefetching};

/// The smallest stack a green thread may ask for: 16 KiB.
///
/// ```
/// let gt = eventlet_rt::Builder::new()
///     .stack_size(eventlet_rt::MIN_STACK_SIZE)
///     .spawn(|| 1 + 1);
/// assert_eq!(gt.wait().unwrap(), 2);
/// ```
pub const MIN_STACK_SIZE: usize = 16 * 1024;

/// Finished coroutines of the default stack size, ready to be re-armed.
pub(crate) struct StackPool {
    free: RefCell<Vec<Coroutine>>,
    default_stack_size: Cell<usize>,
    capacity: Cell<usize>,
    /// Coroutines that exist right now: running, suspended or pooled.
    mapped: Cell<usize>,
    /// The fewest stacks pooled since the last trim: that many sat unused
    /// through the whole interval.
    low_water: Cell<usize>,
    next_trim: Cell<Option<Instant>>,
    /// False when prefetching is switched off (`tuning::prefetching`).
    prefetch: bool,
}

impl StackPool {
    pub(crate) fn new() -> StackPool {
        StackPool {
            free: RefCell::new(Vec::new()),
            default_stack_size: Cell::new(DEFAULT_STACK_SIZE),
            capacity: Cell::new(DEFAULT_STACK_POOL_CAPACITY),
            mapped: Cell::new(0),
            low_water: Cell::new(0),
            next_trim: Cell::new(None),
            prefetch: prefetching(),
        }
    }

    pub(crate) fn default_stack_size(&self) -> usize {
        self.default_stack_size.get()
    }

    pub(crate) fn set_default_stack_size(&self, bytes: usize) {
        self.default_stack_size.set(checked_stack_size(bytes));
        // Pooled stacks have the old size: let them go.
        let old = std::mem::take(&mut *self.free.borrow_mut());
        self.mapped.set(self.mapped.get() - old.len());
        self.low_water.set(0);
        drop(old);
    }

    pub(crate) fn set_capacity(&self, capacity: usize) {
        self.capacity.set(capacity);
        let mut free = self.free.borrow_mut();
        if free.len() > capacity {
            let extra = free.len() - capacity;
            free.truncate(capacity);
            self.mapped.set(self.mapped.get() - extra);
        }
        self.low_water.set(self.low_water.get().min(free.len()));
    }

    /// Unmaps the pooled stacks beyond the capacity that no spawn needed
    /// since the last trim, once every [`TRIM_INTERVAL`]; the hub calls it
    /// when it is about to wait for events.
    pub(crate) fn trim_idle(&self, now: Instant) {
        match self.next_trim.get() {
            Some(due) if now < due => return,
            _ => self.next_trim.set(Some(now + TRIM_INTERVAL)),
        }
        let mut free = self.free.borrow_mut();
        let excess = free.len().saturating_sub(self.capacity.get());
        let idle = self.low_water.get().min(excess);
        if idle > 0 {
            // The oldest returns sit at the front: they are the coldest.
            let released: Vec<Coroutine> = free.drain(..idle).collect();
            self.mapped.set(self.mapped.get() - idle);
            self.low_water.set(free.len());
            drop(free);
            drop(released);
        } else {
            self.low_water.set(free.len());
        }
    }

    /// Stacks mapped right now, pooled ones included.
    pub(crate) fn mapped(&self) -> usize {
        self.mapped.get()
    }

    /// Stacks waiting in the pool.
    pub(crate) fn pooled(&self) -> usize {
        self.free.borrow().len()
    }

    /// A coroutine running `body`: a pooled stack when one fits, else a new mapping.
    ///
    /// `live_green_threads` only feeds the error message when the kernel refuses a stack.
    pub(crate) fn take(
        &self,
        stack_bytes: Option<usize>,
        live_green_threads: usize,
        body: impl FnOnce() + 'static,
    ) -> Result<Coroutine, StackRefused> {
        let bytes = stack_bytes.unwrap_or(self.default_stack_size.get());
        if bytes == self.default_stack_size.get() {
            let pooled = {
                let mut free = self.free.borrow_mut();
                let pooled = free.pop();
                if free.len() < self.low_water.get() {
                    self.low_water.set(free.len());
                }
                if self.prefetch {
                    prefetch_next_rearms(&free);
                }
                pooled
            };
            if let Some(mut coroutine) = pooled {
                coroutine.rearm(body);
                return Ok(coroutine);
            }
        }
        let coroutine = map_new_stack(bytes, body).map_err(|os_error| StackRefused {
            stack_bytes: bytes,
            live_green_threads,
            os_error,
        })?;
        self.mapped.set(self.mapped.get() + 1);
        Ok(coroutine)
    }

    /// Takes back a finished coroutine of the default stack size for reuse;
    /// unmaps one of any other size.
    pub(crate) fn give_back(&self, coroutine: Coroutine) {
        let mut free = self.free.borrow_mut();
        if coroutine.stack_bytes() == self.default_stack_size.get() {
            free.push(coroutine);
        } else {
            drop(free);
            self.mapped.set(self.mapped.get() - 1);
            drop(coroutine);
        }
    }

    /// Unmaps every pooled stack.
    pub(crate) fn clear(&self) {
        let old = std::mem::take(&mut *self.free.borrow_mut());
        self.mapped.set(self.mapped.get() - old.len());
        self.low_water.set(0);
    }
}

/// Rounds a requested stack size to whole pages and checks the minimum.
pub(crate) fn checked_stack_size(bytes: usize) -> usize {
    assert!(
        bytes >= MIN_STACK_SIZE,
        "a green thread stack of {bytes} bytes is too small: ask for at least {MIN_STACK_SIZE} \
         bytes (eventlet_rt::MIN_STACK_SIZE)"
    );
    bytes.div_ceil(4096) * 4096
}

/// The next spawns re-arm the stacks on top of the pool: starts their loads
/// early, so their cache misses overlap with the runs before them.
fn prefetch_next_rearms(free: &[Coroutine]) {
    let left = free.len();
    if left.is_multiple_of(PREFETCH_BATCH) && left >= 2 * PREFETCH_BATCH {
        for later in &free[left - 2 * PREFETCH_BATCH..left - PREFETCH_BATCH] {
            later.prefetch_for_start();
        }
    } else if left < 2 * PREFETCH_BATCH
        && let Some(following) = free.last()
    {
        following.prefetch_for_start();
    }
}

/// The kernel refused to map a new green thread's stack: the green thread
/// never ran (see [`GreenError::StackRefused`](crate::GreenError::StackRefused)).
///
/// Its `Display` names the limit (`vm.max_map_count`) and the fix. The hub
/// prints that message once per burst of refusals, with a count at the end of
/// the burst, not once per refused green thread.
///
/// ```
/// use eventlet_rt::GreenError;
///
/// // A green thread that ran: no refusal to report.
/// match eventlet_rt::spawn(|| 1).wait() {
///     Ok(n) => assert_eq!(n, 1),
///     Err(GreenError::StackRefused(refused)) => {
///         eprintln!("{refused} ({} live)", refused.live_green_threads())
///     }
///     Err(other) => panic!("{other}"),
/// }
/// ```
#[derive(Debug, Clone)]
pub struct StackRefused {
    stack_bytes: usize,
    live_green_threads: usize,
    os_error: String,
}

impl StackRefused {
    /// The size of the stack that was asked for, in bytes.
    ///
    /// ```
    /// # fn show(refused: &eventlet_rt::StackRefused) {
    /// println!("{} KiB", refused.stack_size() / 1024);
    /// # }
    /// ```
    pub fn stack_size(&self) -> usize {
        self.stack_bytes
    }

    /// How many green threads were live (started, not finished) at the refusal.
    ///
    /// ```
    /// # fn show(refused: &eventlet_rt::StackRefused) {
    /// println!("{} green threads were live", refused.live_green_threads());
    /// # }
    /// ```
    pub fn live_green_threads(&self) -> usize {
        self.live_green_threads
    }
}

impl std::error::Error for StackRefused {}

impl std::fmt::Display for StackRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "eventlet-rt: the kernel refused a {} KiB stack for a new green thread ({}) while {} \
             green threads were live. Each live green thread holds two memory maps (its stack \
             and its guard page), and Linux caps the maps of a process at `vm.max_map_count` \
             (65530 by default, so about 32,000 live green threads). Raise it, as root: \
             `sysctl -w vm.max_map_count=262144` (add `vm.max_map_count=262144` to \
             /etc/sysctl.conf to keep it), or keep fewer green threads alive at once (a smaller \
             GreenPool).",
            self.stack_bytes / 1024,
            self.os_error,
            self.live_green_threads,
        )
    }
}

thread_local! {
    /// Set while this thread maps a stack, so the panic hook stays quiet about
    /// the generator crate's allocation panic that `map_new_stack` turns into an error.
    static MAPPING_STACK: Cell<bool> = const { Cell::new(false) };
}

/// Maps a new stack, turning the generator crate's allocation panic into an error.
fn map_new_stack(bytes: usize, body: impl FnOnce() + 'static) -> Result<Coroutine, String> {
    install_quiet_panic_hook();
    MAPPING_STACK.with(|flag| flag.set(true));
    let result =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Coroutine::new(bytes, body)));
    MAPPING_STACK.with(|flag| flag.set(false));
    result.map_err(|payload| {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "mmap failed".to_string())
    })
}

/// Chains a panic hook that says nothing for a panic raised while mapping a stack.
fn install_quiet_panic_hook() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let mapping = MAPPING_STACK.try_with(|flag| flag.get()).unwrap_or(false);
            if !mapping {
                previous(info);
            }
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished(pool: &StackPool) -> Coroutine {
        let mut coroutine = pool.take(None, 0, || ()).unwrap();
        coroutine.resume();
        coroutine
    }

    #[test]
    fn a_burst_keeps_its_stacks_until_they_sit_idle_then_trims_to_capacity() {
        let pool = StackPool::new();
        pool.set_default_stack_size(MIN_STACK_SIZE);
        pool.set_capacity(2);
        let t0 = Instant::now();
        pool.trim_idle(t0);
        let burst: Vec<_> = (0..10).map(|_| finished(&pool)).collect();
        burst.into_iter().for_each(|c| pool.give_back(c));
        assert_eq!((pool.pooled(), pool.mapped()), (10, 10));
        // The stacks were all in use during this interval: none is idle yet.
        pool.trim_idle(t0 + TRIM_INTERVAL);
        assert_eq!(pool.pooled(), 10);
        // One spawn reuses one of them; the other nine sat idle a whole interval.
        pool.give_back(finished(&pool));
        pool.trim_idle(t0 + 2 * TRIM_INTERVAL);
        assert_eq!((pool.pooled(), pool.mapped()), (2, 2));
    }
}
