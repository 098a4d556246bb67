//! What the hub loads into the caches ahead of a switch or a wake-up.
//!
//! Each green thread's stack top is a page of its own, so with many tasks
//! runnable every resume would start with a cache miss and a page-table walk.
//! The hub starts those loads early, while the tasks before run.

use std::collections::VecDeque;
use std::rc::Rc;

use crate::coro;
use crate::task::{Header, TaskRef};

use crate::tuning::{HEADER_LINES, PREFETCH_BATCH};

/// Starts loading what the next tasks to run will touch first.
///
/// Every switch, the stack of the task after the one about to run, into the
/// first-level cache. With fewer than three batches queued, also that task's
/// header, a switch ahead of its stack (the stack's address is in the
/// header). With more, every [`PREFETCH_BATCH`] switches and in two stages,
/// so that the second finds in the cache what it reads: the headers of tasks
/// two batches ahead, and the stacks of tasks one batch ahead (whose headers
/// came a batch ago) into the outer caches and the TLB, far enough ahead to
/// hide a page-table walk, not so far ahead that the first level loses them
/// before they run. The last step into the first level matters even then
/// (see `BENCHMARKS.md`, "Tuning").
#[inline]
pub(super) fn prefetch_ahead(run_queue: &VecDeque<TaskRef>, switch: u32) {
    if run_queue.len() >= 3 * PREFETCH_BATCH {
        if (switch as usize).is_multiple_of(PREFETCH_BATCH) {
            for task in run_queue.range(2 * PREFETCH_BATCH..3 * PREFETCH_BATCH) {
                prefetch_header(task);
            }
            for task in run_queue.range(PREFETCH_BATCH..2 * PREFETCH_BATCH) {
                prefetch_stack(task.header(), coro::Cache::Outer);
            }
        }
    } else if let Some(after_next) = run_queue.get(1) {
        prefetch_header(after_next);
    }
    prefetch_stack(run_queue[0].header(), coro::Cache::Nearest);
}

/// Starts loading the start of a task's allocation: its header.
#[inline]
pub(super) fn prefetch_header(task: &TaskRef) {
    let start = Rc::as_ptr(task).cast::<u8>() as usize;
    for line in 0..HEADER_LINES {
        coro::prefetch_line(start + line * 64);
    }
}

/// Starts loading the top of a task's stack, if it has one: its control
/// block and the frames down to where it last suspended.
#[inline]
fn prefetch_stack(header: &Header, cache: coro::Cache) {
    let coroutine = header.coroutine.take();
    if let Some(coroutine) = &coroutine {
        coroutine.prefetch(header.suspended_at.get(), cache);
    }
    header.coroutine.set(coroutine);
}
