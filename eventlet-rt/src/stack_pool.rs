//! Reuse of green thread stacks.
//!
//! Mapping a stack costs two system calls (`mmap`, then `mprotect` for the guard
//! page) and about 11 us here; re-arming a finished one costs about 30 ns. So a
//! finished green thread's stack goes back to this pool and the next green
//! thread of the same stack size runs on it.

use std::cell::{Cell, RefCell};

use crate::coro::Coroutine;

/// The stack size of a green thread unless set otherwise: 128 KiB.
///
/// Only the pages a green thread touches become resident memory; the rest of
/// the mapping is address space. Change it per OS thread with
/// [`hub::set_default_stack_size`](crate::hub::set_default_stack_size) or per
/// green thread with [`Builder::stack_size`](crate::Builder::stack_size).
pub const DEFAULT_STACK_SIZE: usize = 128 * 1024;

/// How many finished stacks a hub keeps for reuse unless set otherwise.
pub const DEFAULT_STACK_POOL_CAPACITY: usize = 1024;

/// The smallest stack a green thread may ask for: 16 KiB.
pub const MIN_STACK_SIZE: usize = 16 * 1024;

/// Finished coroutines of the default stack size, ready to be re-armed.
pub(crate) struct StackPool {
    free: RefCell<Vec<Coroutine>>,
    default_stack_size: Cell<usize>,
    capacity: Cell<usize>,
    /// Coroutines that exist right now: running, suspended or pooled.
    mapped: Cell<usize>,
}

impl StackPool {
    pub(crate) fn new() -> StackPool {
        StackPool {
            free: RefCell::new(Vec::new()),
            default_stack_size: Cell::new(DEFAULT_STACK_SIZE),
            capacity: Cell::new(DEFAULT_STACK_POOL_CAPACITY),
            mapped: Cell::new(0),
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
            let pooled = self.free.borrow_mut().pop();
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

    /// Takes back a finished coroutine, or unmaps it when the pool is full.
    pub(crate) fn give_back(&self, coroutine: Coroutine) {
        let mut free = self.free.borrow_mut();
        if coroutine.stack_bytes() == self.default_stack_size.get()
            && free.len() < self.capacity.get()
        {
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

/// The kernel refused to map a new stack.
#[derive(Debug)]
pub(crate) struct StackRefused {
    stack_bytes: usize,
    live_green_threads: usize,
    os_error: String,
}

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
