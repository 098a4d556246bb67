//! Green threads that stay parked give their stack memory back: the policy.
//!
//! A parked green thread keeps every stack page it touched at its deepest,
//! and a green thread waiting for a client may wait for minutes. So, when
//! the hub is about to wait anyway, it passes over its live green threads,
//! once per [`IDLE_STACK_RELEASE_AFTER`] (per hub:
//! [`set_idle_stack_release`]) and a bounded number at a time; one it finds
//! parked on two passes in a row has been parked about that long, and gives
//! its memory back: its stack is stowed (`Coroutine::stow`: its frames
//! copied to the heap, every page given back, the range kept reserved and
//! sealed), or only its pages below its frames go (`release_unused_pages`)
//! where stowing is switched off ([`set_idle_stack_copy`]) or not supported.
//!
//! The hot path pays two stores per park (a mark in the task's header, a
//! flag here) and no system call: only a thread parked long meets one, and
//! its next resume puts its stack back. While parked threads wait to be
//! released, an idle hub wakes once per interval to pass over them; once
//! all are released, it sleeps until something happens.

use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant};

use slab::Slab;

use crate::coro::Stower;
use crate::task::{Header, IdleMark, State, TaskRef};
use crate::tuning::{IDLE_STACK_RELEASE_AFTER, IDLE_SWEEP_RELEASES, IDLE_SWEEP_VISITS};

/// A hub's passes over its parked green threads.
pub(crate) struct IdleSweep {
    /// How long a green thread stays parked before it gives memory back;
    /// `None`: never.
    after: Cell<Option<Duration>>,
    /// Stow stacks (else only give back the pages below the frames).
    copy: Cell<bool>,
    /// When the next pass may start.
    next_pass: Cell<Option<Instant>>,
    /// The slot of the live table where the pass in progress goes on.
    cursor: Cell<Option<usize>>,
    /// A green thread parked since the pass in progress (or the last) began.
    parked_since_pass: Cell<bool>,
    /// The pass in progress (or the last) saw parked threads not released yet.
    pending: Cell<bool>,
    stower: Stower,
}

impl IdleSweep {
    pub(crate) fn new() -> IdleSweep {
        IdleSweep {
            after: Cell::new(Some(IDLE_STACK_RELEASE_AFTER)),
            copy: Cell::new(true),
            next_pass: Cell::new(None),
            cursor: Cell::new(None),
            parked_since_pass: Cell::new(false),
            pending: Cell::new(false),
            stower: Stower::new(),
        }
    }

    /// The running green thread parks: a new park, not seen by any pass yet.
    #[inline(always)]
    pub(crate) fn parking(&self, header: &Header) {
        header.idle.set(IdleMark::Fresh);
        self.parked_since_pass.set(true);
    }

    /// The hub is about to wait: goes on with the pass in progress, or starts
    /// one when it is due, for a bounded while. Returns when the hub should
    /// come back (`now` while a pass is unfinished), or `None` when nothing
    /// parked waits to be released.
    pub(crate) fn before_wait(
        &self,
        now: Instant,
        live: &RefCell<Slab<TaskRef>>,
    ) -> Option<Instant> {
        let after = self.after.get()?;
        if self.cursor.get().is_none() {
            let waiting = self.parked_since_pass.get() || self.pending.get();
            match self.next_pass.get() {
                _ if !waiting => return None,
                Some(due) if now < due => return Some(due),
                _ => {}
            }
            self.cursor.set(Some(0));
            self.next_pass.set(Some(now + after));
            self.parked_since_pass.set(false);
            self.pending.set(false);
        }
        if !self.sweep_some(live) {
            return Some(now);
        }
        self.cursor.set(None);
        let waiting = self.parked_since_pass.get() || self.pending.get();
        waiting.then(|| self.next_pass.get()).flatten()
    }

    /// Passes over up to [`IDLE_SWEEP_VISITS`] live green threads from the
    /// cursor on, releasing at most [`IDLE_SWEEP_RELEASES`]; true when the
    /// pass reached the end of the table.
    fn sweep_some(&self, live: &RefCell<Slab<TaskRef>>) -> bool {
        let live = live.borrow();
        let end = live.capacity();
        let mut slot = self.cursor.get().unwrap_or(0);
        let (mut visits, mut releases) = (0, 0);
        while slot < end && visits < IDLE_SWEEP_VISITS && releases < IDLE_SWEEP_RELEASES {
            if let Some(task) = live.get(slot) {
                visits += 1;
                let header = task.header();
                if header.state.get() == State::Parked {
                    match header.idle.get() {
                        IdleMark::Fresh => {
                            header.idle.set(IdleMark::Seen);
                            self.pending.set(true);
                        }
                        IdleMark::Seen => {
                            self.release(header);
                            releases += 1;
                        }
                        IdleMark::Released => {}
                    }
                }
            }
            slot += 1;
        }
        self.cursor.set(Some(slot));
        slot >= end
    }

    /// Gives back the stack memory of a parked green thread; true when any
    /// went back.
    fn release(&self, header: &Header) -> bool {
        header.idle.set(IdleMark::Released);
        // The hub's loop runs this on the main context: no green thread runs,
        // so no coroutine is borrowed by `run_task` now.
        let Some(mut coroutine) = header.coroutine.take() else {
            return false;
        };
        let released =
            (self.copy.get() && coroutine.stow(&self.stower)) || coroutine.release_unused_pages();
        header.coroutine.set(Some(coroutine));
        released
    }

    /// Releases every parked green thread's stack memory now.
    fn release_all(&self, live: &RefCell<Slab<TaskRef>>) -> usize {
        let live = live.borrow();
        live.iter()
            .filter(|(_, task)| task.header().state.get() == State::Parked)
            .filter(|(_, task)| self.release(task.header()))
            .count()
    }
}

/// Sets after how long parked a green thread of the calling OS thread's hub
/// gives back its stack memory; `None` keeps every page.
///
/// The default is 1 second. The hub looks at its parked green threads once
/// per this interval, when it is about to wait, and releases those it finds
/// parked twice in a row: a green thread is released after between one and
/// two intervals parked. A park shorter than that costs nothing; the resume
/// after a release pays about 10-20 us to put the stack back. See
/// [`set_idle_stack_copy`] for what is given back.
///
/// ```
/// use std::time::Duration;
///
/// eventlet_rt::hub::set_idle_stack_release(Some(Duration::from_secs(30)));
/// eventlet_rt::hub::set_idle_stack_release(None); // never
/// ```
pub fn set_idle_stack_release(after: Option<Duration>) {
    let idle = &super::current().idle;
    idle.after.set(after);
    idle.next_pass.set(None);
}

/// Sets what a long-parked green thread of the calling OS thread's hub gives
/// back: with `true` (the default), its whole stack. Its frames (the bytes
/// from its stack pointer up, lines of zeros left out) are copied to the
/// heap, every page of the stack goes back to the kernel, and the address
/// range stays reserved and sealed. The next resume puts the stack back at
/// the same addresses, so its frames and every pointer into them hold; so
/// does any access to the sealed stack meanwhile, from any thread (it faults
/// and the fault handler puts the stack back first). An idle connection's
/// green thread then costs the kilobyte or two its frames hold instead of
/// whole pages. With `false`, only the pages wholly below its frames go
/// (one `madvise`), which nothing can be using.
///
/// One case only the `false` setting serves: a *system call* made by
/// another OS thread on memory of a parked green thread's stack (a scoped
/// thread reading a file into a buffer on it) fails with `EFAULT` while the
/// stack is stowed, where plain accesses fault and wait. Copying needs
/// x86_64 Linux; elsewhere only the pages below the frames go.
///
/// ```
/// eventlet_rt::hub::set_idle_stack_copy(false);
/// ```
pub fn set_idle_stack_copy(copy: bool) {
    super::current().idle.copy.set(copy);
}

/// Gives back now the stack memory of every parked green thread of the
/// calling OS thread's hub, as it does by itself for those parked long (see
/// [`set_idle_stack_copy`]); returns how many gave any back. A green
/// thread's next resume puts its stack back.
///
/// ```
/// use std::io::Read;
///
/// let listener = eventlet_rt::listen("127.0.0.1:0")?;
/// let mut client = eventlet_rt::connect(listener.local_addr()?)?;
/// let (mut conn, _) = listener.accept()?;
/// let reader = eventlet_rt::spawn(move || {
///     let mut buf = [0; 64];
///     conn.read(&mut buf).map(|n| buf[..n].to_vec())
/// });
/// eventlet_rt::yield_now(); // the reader parks in its read
/// assert_eq!(eventlet_rt::hub::release_idle_stacks(), 1);
/// std::io::Write::write_all(&mut client, b"hello")?;
/// assert_eq!(reader.wait().unwrap()?, b"hello");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn release_idle_stacks() -> usize {
    let hub = super::current();
    hub.idle.release_all(&hub.live)
}

/// The sooner of the hub's own timeout and the idle sweep's next look.
pub(crate) fn sooner(
    timeout: Option<Duration>,
    idle_look: Option<Instant>,
    now: Instant,
) -> Option<Duration> {
    match idle_look.map(|at| at.saturating_duration_since(now)) {
        Some(idle) => Some(timeout.map_or(idle, |timeout| timeout.min(idle))),
        None => timeout,
    }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::*;
    use crate::hub::current;

    /// A green thread that parks until unparked, its task kept in `slot`.
    fn parked_thread(slot: &Rc<RefCell<Option<TaskRef>>>) -> crate::GreenThread<()> {
        let slot = slot.clone();
        let thread = crate::spawn(move || {
            *slot.borrow_mut() = Some(current().current_task());
            current().park();
        });
        crate::yield_now();
        thread
    }

    #[test]
    fn a_green_thread_is_released_on_the_second_pass_that_finds_it_parked() {
        let hub = current();
        let after = Duration::from_secs(3600); // the hub's own waits never pass
        set_idle_stack_release(Some(after));
        let slot = Rc::new(RefCell::new(None));
        let thread = parked_thread(&slot);
        let task = slot.borrow_mut().take().unwrap();
        let t0 = Instant::now();
        assert_eq!(hub.idle.before_wait(t0, &hub.live), Some(t0 + after));
        assert_eq!(task.header().idle.get(), IdleMark::Seen);
        // Not due yet: nothing happens.
        assert_eq!(
            hub.idle.before_wait(t0 + after / 2, &hub.live),
            Some(t0 + after)
        );
        assert_eq!(task.header().idle.get(), IdleMark::Seen);
        // Due: released, and nothing is left to wait for.
        assert_eq!(hub.idle.before_wait(t0 + after, &hub.live), None);
        assert_eq!(task.header().idle.get(), IdleMark::Released);
        assert_eq!(hub.idle.before_wait(t0 + 3 * after, &hub.live), None);
        hub.unpark(&task);
        thread.wait().unwrap();
    }

    #[test]
    fn a_green_thread_that_parked_again_between_passes_starts_over() {
        let hub = current();
        let after = Duration::from_secs(3600);
        set_idle_stack_release(Some(after));
        let slot = Rc::new(RefCell::new(None));
        let thread = {
            let slot = slot.clone();
            crate::spawn(move || {
                for _ in 0..2 {
                    *slot.borrow_mut() = Some(current().current_task());
                    current().park();
                }
            })
        };
        crate::yield_now();
        let task = slot.borrow_mut().take().unwrap();
        let t0 = Instant::now();
        hub.idle.before_wait(t0, &hub.live);
        assert_eq!(task.header().idle.get(), IdleMark::Seen);
        hub.unpark(&task);
        crate::yield_now(); // it wakes and parks again
        assert_eq!(task.header().idle.get(), IdleMark::Fresh);
        assert_eq!(
            hub.idle.before_wait(t0 + after, &hub.live),
            Some(t0 + 2 * after)
        );
        assert_eq!(
            task.header().idle.get(),
            IdleMark::Seen,
            "released after a short park"
        );
        hub.unpark(&task);
        thread.wait().unwrap();
    }

    #[test]
    fn a_long_pass_goes_on_in_bounded_steps() {
        let hub = current();
        let after = Duration::from_secs(3600);
        set_idle_stack_release(Some(after));
        let slot = Rc::new(RefCell::new(None));
        let many = 2 * IDLE_SWEEP_RELEASES + 1;
        let threads: Vec<_> = (0..many).map(|_| parked_thread(&slot)).collect();
        let t0 = Instant::now();
        while hub.idle.before_wait(t0, &hub.live) == Some(t0) {}
        let t1 = t0 + after;
        let mut steps = 0;
        while hub.idle.before_wait(t1, &hub.live) == Some(t1) {
            steps += 1;
        }
        assert!(steps >= 2, "{steps} steps released {many} stacks");
        let released = hub
            .live
            .borrow()
            .iter()
            .filter(|(_, task)| task.header().idle.get() == IdleMark::Released)
            .count();
        assert_eq!(released, many);
        drop(threads); // killed at the hub's teardown
    }

    #[test]
    fn sooner_takes_the_earlier_of_the_two() {
        let now = Instant::now();
        let second = Duration::from_secs(1);
        assert_eq!(sooner(None, None, now), None);
        assert_eq!(sooner(Some(second), None, now), Some(second));
        assert_eq!(sooner(None, Some(now + second), now), Some(second));
        assert_eq!(
            sooner(Some(2 * second), Some(now + second), now),
            Some(second)
        );
        assert_eq!(
            sooner(Some(second), Some(now + 2 * second), now),
            Some(second)
        );
    }
}
