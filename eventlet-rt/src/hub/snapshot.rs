//! A picture of a hub for debugging: its green threads by state, its timers
//! and sockets.

use std::panic::Location;
use std::sync::Arc;

use super::{HubStats, current, stats};
use crate::task::{State, TaskRef};

/// Where a green thread is, as [`snapshot`] sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GreenThreadState {
    /// Spawned, waiting for its first run (or for its `spawn_after` delay).
    NotStarted,
    /// Started and waiting in the run queue.
    Runnable,
    /// Running right now (the one that took the snapshot).
    Running,
    /// Blocked in a green primitive: sleep, queue, socket, wait...
    Blocked,
}

/// One green thread in a [`HubSnapshot`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct GreenThreadInfo {
    /// The name given with [`Builder::name`](crate::Builder::name).
    pub name: Option<Arc<str>>,
    /// Where it was spawned.
    pub spawned_at: &'static Location<'static>,
    /// Where it is.
    pub state: GreenThreadState,
}

/// The green threads and counters of the calling thread's hub; see [`snapshot`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct HubSnapshot {
    /// Every green thread that has not finished, started or not.
    pub green_threads: Vec<GreenThreadInfo>,
    /// The hub's counters.
    pub stats: HubStats,
}

impl HubSnapshot {
    /// How many green threads are in `state`.
    pub fn count(&self, state: GreenThreadState) -> usize {
        self.green_threads
            .iter()
            .filter(|t| t.state == state)
            .count()
    }
}

/// Takes a snapshot of the calling thread's hub: its unfinished green threads
/// (name, spawn site, state), timers and sockets. Costs a walk over them all.
///
/// ```
/// use std::time::Duration;
/// use eventlet_rt::hub::{snapshot, GreenThreadState};
///
/// let sleeper = eventlet_rt::Builder::new()
///     .name("sleeper")
///     .spawn(|| eventlet_rt::sleep(Duration::from_millis(20)));
/// let waiting = eventlet_rt::spawn(|| ());
/// eventlet_rt::yield_now(); // both run; the sleeper blocks
/// let picture = snapshot();
/// assert_eq!(picture.count(GreenThreadState::Blocked), 1);
/// assert_eq!(picture.green_threads[0].name.as_deref(), Some("sleeper"));
/// assert!(waiting.is_finished());
/// sleeper.wait().unwrap();
/// ```
pub fn snapshot() -> HubSnapshot {
    let hub = current();
    let describe = |task: &TaskRef| {
        let header = task.header();
        let state = match header.state.get() {
            _ if !header.started.get() => GreenThreadState::NotStarted,
            State::Queued => GreenThreadState::Runnable,
            State::Running => GreenThreadState::Running,
            _ => GreenThreadState::Blocked,
        };
        GreenThreadInfo {
            name: header.name.borrow().clone(),
            spawned_at: header.spawned_at,
            state,
        }
    };
    let mut green_threads: Vec<GreenThreadInfo> = hub
        .live
        .borrow()
        .iter()
        .map(|(_, task)| describe(task))
        .collect();
    green_threads.extend(
        hub.run_queue
            .borrow()
            .iter()
            .filter(|t| !t.header().is_main && !t.header().started.get())
            .filter(|t| t.header().state.get() != State::Done)
            .map(describe),
    );
    HubSnapshot {
        green_threads,
        stats: stats(),
    }
}
