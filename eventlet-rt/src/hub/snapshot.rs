//! A picture of a hub for debugging: its green threads by state, its timers
//! and its sockets.

use std::fmt;
use std::os::fd::RawFd;
use std::panic::Location;
use std::sync::Arc;

use super::{HubStats, TimerAction, current, stats};
use crate::task::{State, TaskRef};

/// Where a green thread is, as [`snapshot`] sees it.
///
/// ```
/// use eventlet_rt::hub::{self, GreenThreadState};
/// let sleeper = eventlet_rt::spawn(|| eventlet_rt::sleep(std::time::Duration::from_millis(20)));
/// assert_eq!(hub::snapshot().count(GreenThreadState::NotStarted), 1);
/// eventlet_rt::yield_now();
/// assert_eq!(hub::snapshot().count(GreenThreadState::Blocked), 1);
/// sleeper.wait().unwrap();
/// ```
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
///
/// ```
/// let gt = eventlet_rt::Builder::new().name("listed").spawn(|| ());
/// let picture = eventlet_rt::hub::snapshot();
/// let info = picture.green_threads.iter().find(|t| t.name.as_deref() == Some("listed")).unwrap();
/// assert_eq!(info.spawned_at.line(), line!() - 3);
/// gt.wait().unwrap();
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct GreenThreadInfo {
    /// The name given with [`Builder::name`](crate::Builder::name) or
    /// [`GreenThread::set_name`](crate::GreenThread::set_name).
    pub name: Option<Arc<str>>,
    /// Where it was spawned.
    pub spawned_at: &'static Location<'static>,
    /// Where it is.
    pub state: GreenThreadState,
}

/// One socket registered with the hub, in a [`HubSnapshot`].
///
/// ```
/// let listener = eventlet_rt::listen("127.0.0.1:0")?;
/// let picture = eventlet_rt::hub::snapshot();
/// assert!(picture.sockets.iter().any(|s| s.readers == 0 && s.writers == 0));
/// drop(listener);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SocketInfo {
    /// Its descriptor (as `ls -l /proc/<pid>/fd` or `ss -p` show it).
    pub fd: RawFd,
    /// Green threads blocked until it is readable (read, accept, recv).
    pub readers: usize,
    /// Green threads blocked until it is writable (write, connect, send).
    pub writers: usize,
}

/// The green threads, sockets and counters of the calling thread's hub; see
/// [`snapshot`].
///
/// ```
/// let picture = eventlet_rt::hub::snapshot();
/// assert_eq!(picture.stats.live_green_threads, 0);
/// println!("{picture}");
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct HubSnapshot {
    /// Every green thread that has not finished, started or not.
    pub green_threads: Vec<GreenThreadInfo>,
    /// Every green socket open on this thread, by descriptor.
    pub sockets: Vec<SocketInfo>,
    /// The hub's counters.
    pub stats: HubStats,
}

impl HubSnapshot {
    /// How many green threads are in `state`.
    ///
    /// ```
    /// use eventlet_rt::hub::{self, GreenThreadState};
    /// let gt = eventlet_rt::spawn(|| ());
    /// assert_eq!(hub::snapshot().count(GreenThreadState::NotStarted), 1);
    /// gt.wait().unwrap();
    /// ```
    pub fn count(&self, state: GreenThreadState) -> usize {
        self.green_threads
            .iter()
            .filter(|t| t.state == state)
            .count()
    }
}

impl fmt::Display for GreenThreadState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            GreenThreadState::NotStarted => "not started",
            GreenThreadState::Runnable => "runnable",
            GreenThreadState::Running => "running",
            GreenThreadState::Blocked => "blocked",
        })
    }
}

/// A summary line, then one line per green thread and one per socket that a
/// green thread waits on: what to print when a server seems stuck.
///
/// ```
/// let gt = eventlet_rt::Builder::new().name("poller").spawn(|| ());
/// let text = eventlet_rt::hub::snapshot().to_string();
/// assert!(text.starts_with("1 green thread (0 running, 0 runnable, 0 blocked, 1 not started)"));
/// assert!(text.contains("not started  'poller' spawned at "));
/// gt.wait().unwrap();
/// ```
impl fmt::Display for HubSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.green_threads.len();
        write!(
            f,
            "{count} green thread{} ({} running, {} runnable, {} blocked, {} not started), \
             {} timers, {} sockets, {} thread-pool waits",
            if count == 1 { "" } else { "s" },
            self.count(GreenThreadState::Running),
            self.count(GreenThreadState::Runnable),
            self.count(GreenThreadState::Blocked),
            self.count(GreenThreadState::NotStarted),
            self.stats.timers,
            self.stats.io_sources,
            self.stats.remote_waits,
        )?;
        for thread in &self.green_threads {
            let name = match &thread.name {
                Some(name) => format!("'{name}'"),
                None => "<unnamed>".to_string(),
            };
            write!(
                f,
                "\n  {:<11}  {name} spawned at {}",
                thread.state, thread.spawned_at
            )?;
        }
        for socket in &self.sockets {
            if socket.readers + socket.writers > 0 {
                write!(
                    f,
                    "\n  socket fd {}: {} waiting to read, {} waiting to write",
                    socket.fd, socket.readers, socket.writers
                )?;
            }
        }
        Ok(())
    }
}

/// Takes a snapshot of the calling thread's hub: its unfinished green threads
/// (name, spawn site, state), its sockets (descriptor, green threads waiting
/// on it) and its counters. Costs a walk over them all.
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
    let delayed = hub
        .timers
        .borrow()
        .actions()
        .filter_map(|action| match action {
            TimerAction::Schedule(task) if task.header().state.get() == State::New => {
                Some(describe(task))
            }
            _ => None,
        })
        .collect::<Vec<_>>();
    green_threads.extend(delayed);
    let mut sockets: Vec<SocketInfo> = hub
        .poller
        .describe_sources()
        .into_iter()
        .map(|(fd, readers, writers)| SocketInfo {
            fd,
            readers,
            writers,
        })
        .collect();
    sockets.sort_by_key(|socket| socket.fd);
    HubSnapshot {
        green_threads,
        sockets,
        stats: stats(),
    }
}
