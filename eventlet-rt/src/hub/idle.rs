//! Green threads that stay parked give their stack memory back: the policy.
//!
//! A parked green thread keeps every stack page it touched at its deepest,
//! and a green thread waiting for a client may wait for minutes. So, when
//! the hub is about to wait anyway, it passes over its live green threads,
//! once per interval and a bounded number at a time, and counts for each
//! parked one the passes in a row that found it parked: that many intervals
//! it has been parked, at least. Past [`IDLE_STACK_RELEASE_AFTER`] (per hub:
//! [`set_idle_stack_release`]) it gives back the pages below its frames
//! (`Coroutine::release_unused_pages`, cheap both ways); past
//! [`IDLE_STACK_STOW_AFTER`] ([`set_idle_stack_stow`]) its whole stack is
//! stowed (`Coroutine::stow`: its frames compressed to the heap, every page
//! given back, the range kept reserved and sealed), which costs tens of
//! microseconds at the stow and at the next resume, so only threads that
//! wait long pay it.
//!
//! The hot path pays two stores per park (a mark in the task's header, a
//! flag here) and no system call. While parked threads wait to be released,
//! an idle hub wakes once per interval to pass over them; once all are
//! released, it sleeps until something happens.

use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant};

use slab::Slab;

use crate::coro::Stower;
use crate::task::{Header, IdleMark, IdleRelease, State, TaskRef};
use crate::tuning::{
    IDLE_STACK_RELEASE_AFTER, IDLE_STACK_STOW_AFTER, IDLE_SWEEP_RELEASES, IDLE_SWEEP_VISITS,
};

/// A hub's passes over its parked green threads.
pub(crate) struct IdleSweep {
    /// How long a green thread stays parked before the pages below its
    /// frames go; `None`: never.
    release_after: Cell<Option<Duration>>,
    /// How long before its whole stack is stowed; `None`: never.
    stow_after: Cell<Option<Duration>>,
    /// When the next pass may start, and the time between passes it was
    /// scheduled with.
    next_pass: Cell<Option<Instant>>,
    interval: Cell<Duration>,
    /// The slot of the live table where the pass in progress goes on.
    cursor: Cell<Option<usize>>,
    /// A green thread parked since the pass in progress (or the last) began.
    parked_since_pass: Cell<bool>,
    /// The pass in progress (or the last) saw parked threads that later
    /// passes may release more of.
    pending: Cell<bool>,
    stower: Stower,
}

impl IdleSweep {
    pub(crate) fn new() -> IdleSweep {
        IdleSweep {
            release_after: Cell::new(Some(IDLE_STACK_RELEASE_AFTER)),
            stow_after: Cell::new(Some(IDLE_STACK_STOW_AFTER)),
            next_pass: Cell::new(None),
            interval: Cell::new(IDLE_STACK_RELEASE_AFTER),
            cursor: Cell::new(None),
            parked_since_pass: Cell::new(false),
            pending: Cell::new(false),
            stower: Stower::new(),
        }
    }

    /// The running green thread parks: a new park, not seen by any pass yet.
    #[inline(always)]
    pub(crate) fn parking(&self, header: &Header) {
        header.idle.set(IdleMark::FRESH);
        self.parked_since_pass.set(true);
    }

    /// The time between passes: the shorter of the two settings.
    fn pass_interval(&self) -> Option<Duration> {
        match (self.release_after.get(), self.stow_after.get()) {
            (Some(release), Some(stow)) => Some(release.min(stow)),
            (release, stow) => release.or(stow),
        }
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
        let interval = self.pass_interval()?;
        if self.cursor.get().is_none() {
            let waiting = self.parked_since_pass.get() || self.pending.get();
            match self.next_pass.get() {
                _ if !waiting => return None,
                Some(due) if now < due => return Some(due),
                _ => {}
            }
            self.cursor.set(Some(0));
            self.next_pass.set(Some(now + interval));
            self.interval.set(interval);
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
    /// cursor on, releasing memory of at most [`IDLE_SWEEP_RELEASES`]; true
    /// when the pass reached the end of the table.
    fn sweep_some(&self, live: &RefCell<Slab<TaskRef>>) -> bool {
        let live = live.borrow();
        let end = live.capacity();
        let mut slot = self.cursor.get().unwrap_or(0);
        let (mut visits, mut releases) = (0, 0);
        while slot < end && visits < IDLE_SWEEP_VISITS && releases < IDLE_SWEEP_RELEASES {
            if let Some(task) = live.get(slot) {
                visits += 1;
                let header = task.header();
                if header.state.get() == State::Parked && self.visit(header) {
                    releases += 1;
                }
            }
            slot += 1;
        }
        self.cursor.set(Some(slot));
        slot >= end
    }

    /// One more pass found `header`'s task parked: releases what it has been
    /// parked long enough for. True when it released anything.
    fn visit(&self, header: &Header) -> bool {
        let mut mark = header.idle.get();
        mark.passes = mark.passes.saturating_add(1);
        // Passes are at least an interval apart: parked at least this long.
        let parked = self.interval.get() * u32::from(mark.passes - 1);
        let due = |after: Option<Duration>| after.is_some_and(|after| parked >= after);
        let release = if mark.released != IdleRelease::Stowed && due(self.stow_after.get()) {
            Some(IdleRelease::Stowed)
        } else if mark.released == IdleRelease::Nothing && due(self.release_after.get()) {
            Some(IdleRelease::PagesBelow)
        } else {
            None
        };
        if let Some(release) = release {
            self.release(header, release);
            mark.released = release;
        }
        header.idle.set(mark);
        let more_to_come = match mark.released {
            IdleRelease::Stowed => false,
            IdleRelease::PagesBelow => self.stow_after.get().is_some(),
            IdleRelease::Nothing => self.pass_interval().is_some(),
        };
        self.pending.set(self.pending.get() || more_to_come);
        release.is_some()
    }

    /// Gives back a parked green thread's stack memory: its whole stack, or
    /// the pages below its frames (also when stowing is refused or not
    /// supported here). True when any went back.
    fn release(&self, header: &Header, release: IdleRelease) -> bool {
        // The hub's loop runs this on the main context, or a green thread
        // does (`release_idle_stacks`) for the others: either way `run_task`
        // borrows no parked thread's coroutine now.
        let Some(mut coroutine) = header.coroutine.take() else {
            return false;
        };
        let stowed = release == IdleRelease::Stowed && coroutine.stow(&self.stower);
        let released = stowed || coroutine.release_unused_pages();
        header.coroutine.set(Some(coroutine));
        released
    }

    /// Releases every parked green thread's stack memory now, as far as the
    /// settings go.
    fn release_all(&self, live: &RefCell<Slab<TaskRef>>) -> usize {
        let release = match (self.stow_after.get(), self.release_after.get()) {
            (Some(_), _) => IdleRelease::Stowed,
            (None, Some(_)) => IdleRelease::PagesBelow,
            (None, None) => return 0,
        };
        let live = live.borrow();
        live.iter()
            .map(|(_, task)| task.header())
            .filter(|header| header.state.get() == State::Parked)
            .filter(|header| {
                let released = self.release(header, release);
                let mut mark = header.idle.get();
                mark.released = release;
                header.idle.set(mark);
                released
            })
            .count()
    }
}

/// Sets after how long parked a green thread of the calling OS thread's hub
/// gives back the pages of its stack below its frames; `None`: never.
///
/// The default is 1 second. Whatever a green thread's deepest calls touched
/// it then holds no more: only the pages from its stack pointer up stay, and
/// the others come back, zeroed, when it grows that deep again. About 5 us
/// once, and half a microsecond more at its next resume. The hub looks at
/// its parked green threads once per this interval (or per the stow
/// interval, the shorter), when it is about to wait; a green thread parked
/// for less costs nothing. See [`set_idle_stack_stow`] for the whole stack.
///
/// ```
/// use std::time::Duration;
///
/// eventlet_rt::hub::set_idle_stack_release(Some(Duration::from_secs(5)));
/// eventlet_rt::hub::set_idle_stack_release(None); // never
/// ```
pub fn set_idle_stack_release(after: Option<Duration>) {
    let idle = &super::current().idle;
    idle.release_after.set(after);
    idle.next_pass.set(None);
}

/// Sets after how long parked a green thread of the calling OS thread's hub
/// has its whole stack stowed; `None`: never.
///
/// The default is 10 seconds. Its frames (the bytes from its stack pointer
/// up) are compressed to the heap, against the first stack the hub stowed
/// of the same size, so green threads parked at the same place keep only
/// what differs; every page of the stack goes back to the kernel, and the
/// address range stays reserved and sealed. Its next resume puts the stack
/// back at the same addresses, so its frames and every pointer into them
/// hold; so does any access to the sealed stack meanwhile, from any thread
/// (it faults, and the fault handler puts the stack back first). An idle
/// connection's green thread then costs a kilobyte or so instead of whole
/// pages; stowing costs about 20 us and the next resume about 30 us.
///
/// One case only `None` serves: a *system call* that another OS thread
/// makes on memory of a parked green thread's stack (a scoped thread reading
/// a file into a buffer on it) fails with `EFAULT` while the stack is
/// stowed, where plain accesses fault and wait. Stowing needs x86_64 Linux;
/// elsewhere only the pages below the frames go.
///
/// ```
/// use std::time::Duration;
///
/// eventlet_rt::hub::set_idle_stack_stow(Some(Duration::from_secs(60)));
/// eventlet_rt::hub::set_idle_stack_stow(None); // never
/// ```
pub fn set_idle_stack_stow(after: Option<Duration>) {
    let idle = &super::current().idle;
    idle.stow_after.set(after);
    idle.next_pass.set(None);
}

/// Gives back now the stack memory of every parked green thread of the
/// calling OS thread's hub, as the hub does by itself for those parked long:
/// their whole stacks, or only the pages below their frames when stowing is
/// off ([`set_idle_stack_stow`]); nothing when both are off. Returns how
/// many gave any back. A green thread's next resume puts its stack back.
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

    fn released(task: &TaskRef) -> IdleRelease {
        task.header().idle.get().released
    }

    /// Settings for these tests: passes an hour apart, so the hub's own waits
    /// never run one; the tests call `before_wait` with times of their own.
    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn pages_below_go_after_one_interval_and_the_stack_after_the_stow_time() {
        let hub = current();
        set_idle_stack_release(Some(HOUR));
        set_idle_stack_stow(Some(3 * HOUR));
        let slot = Rc::new(RefCell::new(None));
        let thread = parked_thread(&slot);
        let task = slot.borrow_mut().take().unwrap();
        let t0 = Instant::now();
        assert_eq!(hub.idle.before_wait(t0, &hub.live), Some(t0 + HOUR));
        assert_eq!(task.header().idle.get().passes, 1);
        assert_eq!(released(&task), IdleRelease::Nothing);
        // Not due yet: nothing happens.
        assert_eq!(
            hub.idle.before_wait(t0 + HOUR / 2, &hub.live),
            Some(t0 + HOUR)
        );
        assert_eq!(task.header().idle.get().passes, 1);
        // Parked an interval: the pages below its frames.
        hub.idle.before_wait(t0 + HOUR, &hub.live);
        assert_eq!(released(&task), IdleRelease::PagesBelow);
        hub.idle.before_wait(t0 + 2 * HOUR, &hub.live);
        assert_eq!(released(&task), IdleRelease::PagesBelow);
        // Parked three intervals: stowed, and nothing is left to wait for.
        assert_eq!(hub.idle.before_wait(t0 + 3 * HOUR, &hub.live), None);
        assert_eq!(released(&task), IdleRelease::Stowed);
        assert_eq!(hub.idle.before_wait(t0 + 9 * HOUR, &hub.live), None);
        hub.unpark(&task);
        thread.wait().unwrap();
    }

    #[test]
    fn a_green_thread_that_parked_again_between_passes_starts_over() {
        let hub = current();
        set_idle_stack_release(Some(HOUR));
        set_idle_stack_stow(Some(HOUR));
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
        assert_eq!(task.header().idle.get().passes, 1);
        hub.unpark(&task);
        crate::yield_now(); // it wakes and parks again
        assert_eq!(task.header().idle.get(), IdleMark::FRESH);
        assert_eq!(
            hub.idle.before_wait(t0 + HOUR, &hub.live),
            Some(t0 + 2 * HOUR)
        );
        assert_eq!(
            released(&task),
            IdleRelease::Nothing,
            "released after a short park"
        );
        hub.unpark(&task);
        thread.wait().unwrap();
    }

    #[test]
    fn a_long_pass_goes_on_in_bounded_steps() {
        let hub = current();
        set_idle_stack_release(None);
        set_idle_stack_stow(Some(HOUR));
        let slot = Rc::new(RefCell::new(None));
        let many = 2 * IDLE_SWEEP_RELEASES + 1;
        let threads: Vec<_> = (0..many).map(|_| parked_thread(&slot)).collect();
        let t0 = Instant::now();
        while hub.idle.before_wait(t0, &hub.live) == Some(t0) {}
        let t1 = t0 + HOUR;
        let mut steps = 0;
        while hub.idle.before_wait(t1, &hub.live) == Some(t1) {
            steps += 1;
        }
        assert!(steps >= 2, "{steps} steps released {many} stacks");
        let stowed = hub
            .live
            .borrow()
            .iter()
            .filter(|(_, task)| released(task) == IdleRelease::Stowed)
            .count();
        assert_eq!(stowed, many);
        drop(threads); // killed at the hub's teardown
    }

    #[test]
    fn with_both_settings_off_the_hub_never_passes() {
        let hub = current();
        set_idle_stack_release(None);
        set_idle_stack_stow(None);
        let slot = Rc::new(RefCell::new(None));
        let thread = parked_thread(&slot);
        let task = slot.borrow_mut().take().unwrap();
        let t0 = Instant::now();
        assert_eq!(hub.idle.before_wait(t0, &hub.live), None);
        assert_eq!(hub.idle.before_wait(t0 + 9 * HOUR, &hub.live), None);
        assert_eq!(task.header().idle.get(), IdleMark::FRESH);
        assert_eq!(release_idle_stacks(), 0);
        hub.unpark(&task);
        thread.wait().unwrap();
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
