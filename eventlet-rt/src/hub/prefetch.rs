//! What the hub loads into the caches ahead of a switch or a wake-up.
//!
//! Each green thread's stack top is a page of its own, so with many tasks
//! runnable every resume would start with a cache miss and a page-table walk.
//! The hub starts those loads early, while the tasks before run.

use std::collections::VecDeque;
use std::rc::Rc;

use crate::coro::{self, StackReach};
use crate::task::{Header, HotObject, TaskRef};

use crate::tuning::{HEADER_LINES, MAX_HOT_OBJECT_LINES, PREFETCH_BATCH};

/// Starts loading what the next tasks to run will touch first.
///
/// Every switch, the stack of the task after the one about to run, into the
/// first-level cache, and the header of the task after that, a switch ahead
/// of its stack (the stack's address is in the header). With three batches
/// queued or more, also every [`PREFETCH_BATCH`] switches and in two stages,
/// so that the second finds in the cache what it reads: the headers of tasks
/// two batches ahead, and the stacks of tasks one batch ahead (whose headers
/// came a batch ago), into the outer caches and the TLB, far enough ahead to
/// hide a page-table walk. Not into the first level: a busy task (an HTTP
/// exchange touches about 80 lines) would push them out of it long before
/// their turn. The last step into the first level matters even then (see
/// `BENCHMARKS.md`, "Tuning").
#[inline]
pub(super) fn prefetch_ahead(run_queue: &VecDeque<TaskRef>, switch: u32) {
    if run_queue.len() >= 3 * PREFETCH_BATCH && (switch as usize).is_multiple_of(PREFETCH_BATCH) {
        for task in run_queue.range(2 * PREFETCH_BATCH..3 * PREFETCH_BATCH) {
            prefetch_header_into(task, coro::Cache::Outer);
        }
        for task in run_queue.range(PREFETCH_BATCH..2 * PREFETCH_BATCH) {
            prefetch_stack(task.header(), coro::Cache::Outer);
        }
    }
    if let Some(after_next) = run_queue.get(1) {
        prefetch_header(after_next);
    }
    prefetch_stack(run_queue[0].header(), coro::Cache::Nearest);
}

/// Starts loading the start of a task's allocation: its header.
#[inline]
pub(super) fn prefetch_header(task: &TaskRef) {
    prefetch_header_into(task, coro::Cache::Nearest);
}

#[inline]
fn prefetch_header_into(task: &TaskRef, cache: coro::Cache) {
    let start = Rc::as_ptr(task).cast::<u8>() as usize;
    for line in 0..HEADER_LINES {
        cache.prefetch(start + line * 64);
    }
}

/// Starts loading the top of a task's stack, if it has one: its control
/// block and the frames down to where it last suspended, or down to the
/// reach it marked ([`mark_stack_reach`]); and the hot object it marked
/// ([`mark_hot_objects`]).
#[inline]
fn prefetch_stack(header: &Header, cache: coro::Cache) {
    let coroutine = header.coroutine.take();
    if let Some(coroutine) = &coroutine {
        coroutine.prefetch(header.suspended_at.get(), header.stack_reach.get(), cache);
        for object in header.hot_objects.get() {
            cache.prefetch_range(hot_lines(object));
        }
    }
    header.coroutine.set(coroutine);
}

/// The addresses of `object` to prefetch: those in its first
/// [`MAX_HOT_OBJECT_LINES`] cache lines.
#[inline]
fn hot_lines(object: HotObject) -> std::ops::Range<usize> {
    let first = object.start & !63;
    let end = object
        .start
        .saturating_add(object.len)
        .min(first.saturating_add(MAX_HOT_OBJECT_LINES * 64));
    object.start..end
}

/// Marks the calling green thread's stack as reaching down to about here
/// (and [`REACH_FRAMES_BELOW`](crate::tuning::REACH_FRAMES_BELOW) further)
/// between its suspensions: the prefetch before each of its resumes then
/// loads its frames down to here, not only down to where it parked. For a
/// loop whose every turn calls deeper than where it waits (an HTTP
/// connection parses each request below the frames of its socket wait);
/// called from that deepest common call. Nothing on the main context or on
/// a thread without a hub.
#[inline(never)]
pub(crate) fn mark_stack_reach() {
    let low = coro::stack_position();
    mark(|reach| StackReach { low, ..reach });
}

/// Marks the calling green thread's frames above about here (its start-up
/// and the caller of this) as left alone until the loop it is about to call
/// returns: the prefetch before each of its resumes skips them (the saved
/// registers at the top of the stack still load). Called right before the
/// call to the loop; nothing on the main context or without a hub.
#[inline(never)]
pub(crate) fn mark_stack_loop() {
    // This call's own frame and return address lie where the loop's frame
    // will start: a line above the position covers them.
    let high = coro::stack_position() + 64;
    mark(|reach| StackReach { high, ..reach });
}

/// Marks `objects` as what the calling green thread reads first on every
/// resume (an HTTP connection's wire and its socket): the prefetch before
/// each of its resumes loads them with the stack (the first
/// [`MAX_HOT_OBJECT_LINES`] lines of each). A later mark replaces them; an
/// object gone meanwhile costs a wasted prefetch, nothing more (a prefetch
/// of any address is a hint, never a read). Nothing on the main context or
/// on a thread without a hub.
pub(crate) fn mark_hot_objects(objects: [HotObject; 2]) {
    on_green_header(|header| header.hot_objects.set(objects));
}

/// Updates the running green thread's marked stack reach.
fn mark(update: impl FnOnce(StackReach) -> StackReach) {
    on_green_header(|header| header.stack_reach.set(update(header.stack_reach.get())));
}

/// Runs `f` on the running green thread's header: not on the main context,
/// nor on a thread without a hub, where the marks have no prefetch to serve.
fn on_green_header(f: impl FnOnce(&Header)) {
    if let Some(hub) = super::existing() {
        let header = hub.current_header();
        if !header.is_main {
            f(header);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Marks the reach one call down, as the HTTP parser does.
    #[inline(never)]
    fn mark_one_call_down() {
        mark_stack_reach();
    }

    fn current_reach() -> StackReach {
        crate::hub::current().current_header().stack_reach.get()
    }

    #[test]
    fn a_green_thread_marks_its_reach_below_its_frames() {
        let thread = crate::spawn(|| {
            assert_eq!(current_reach(), StackReach::default(), "none before a mark");
            let here = coro::stack_position();
            mark_stack_loop();
            let loop_marked = current_reach();
            mark_one_call_down();
            (here, loop_marked, current_reach())
        });
        let (here, loop_marked, reach) = thread.wait().unwrap();
        assert_eq!(loop_marked.low, 0, "the loop's top alone");
        assert_eq!(reach.high, loop_marked.high, "kept by the later mark");
        assert!(reach.low < reach.high, "{reach:x?}");
        assert!(
            reach.high <= here + 64,
            "{reach:x?} at most a line above {here:#x}"
        );
        assert!(
            here - reach.low < 1024,
            "one call down: {} bytes",
            here - reach.low
        );
    }

    #[test]
    fn the_main_context_marks_nothing() {
        mark_stack_loop();
        mark_one_call_down();
        let object = [0u8; 100];
        mark_hot_objects([HotObject::of(&object), HotObject::NONE]);
        assert_eq!(current_reach(), StackReach::default());
        let header = crate::hub::current().current_header();
        assert_eq!(header.hot_objects.get(), [HotObject::NONE; 2]);
    }

    #[test]
    fn a_green_thread_marks_its_hot_objects_and_a_later_mark_replaces_them() {
        let thread = crate::spawn(|| {
            let hot_objects = || crate::hub::current().current_header().hot_objects.get();
            assert_eq!(hot_objects(), [HotObject::NONE; 2], "none before a mark");
            let wire = Box::new([7u64; 40]);
            let socket = Box::new(1u32);
            mark_hot_objects([HotObject::of(&*wire), HotObject::of(&*socket)]);
            let marked = hot_objects();
            mark_hot_objects([HotObject::of(&*socket), HotObject::NONE]);
            (
                marked,
                hot_objects(),
                &raw const *wire as usize,
                &raw const *socket as usize,
            )
        });
        let (marked, remarked, wire, socket) = thread.wait().unwrap();
        assert_eq!(
            marked[0],
            HotObject {
                start: wire,
                len: 320
            }
        );
        assert_eq!(
            marked[1],
            HotObject {
                start: socket,
                len: 4
            }
        );
        assert_eq!(
            remarked,
            [
                HotObject {
                    start: socket,
                    len: 4
                },
                HotObject::NONE
            ]
        );
    }

    #[test]
    fn hot_lines_cover_an_object_from_its_first_line_up_to_the_cap() {
        let lines = |start, len| {
            let mut lines = Vec::new();
            coro::for_each_line(hot_lines(HotObject { start, len }), |line| lines.push(line));
            lines
        };
        assert_eq!(lines(0, 0), Vec::<usize>::new(), "no object, no line");
        assert_eq!(lines(0x1000, 1), [0x1000]);
        assert_eq!(lines(0x1030, 0x20), [0x1000, 0x1040], "straddles two lines");
        assert_eq!(lines(0x1040, 0x80), [0x1040, 0x1080]);
        let capped = lines(0x2010, 4096);
        assert_eq!(capped.len(), MAX_HOT_OBJECT_LINES);
        assert_eq!(capped[0], 0x2000);
        assert_eq!(
            *capped.last().unwrap(),
            0x2000 + (MAX_HOT_OBJECT_LINES - 1) * 64
        );
        assert_eq!(
            lines(usize::MAX - 10, 100).len(),
            1,
            "no overflow at the top"
        );
    }
}
