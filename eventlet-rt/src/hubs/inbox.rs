//! What other OS threads send to a hub of [`Hubs`](super::Hubs), and the
//! loop its thread runs to take them.
//!
//! The hub thread's main context sleeps in the hub's poller until a job is
//! posted: the poster wakes it through the hub's `mio::Waker` (a
//! [`RemoteWaker`](crate::hub::RemoteCompletion)), never by polling. Jobs
//! that pile up while the hub is busy are taken in one batch.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::oneshot::{Backstop, Promise};
use crate::GreenThread;
use crate::hub::{self, RemoteCompletion, RemoteWaker};
use crate::sync::{self, Mutex};

/// The body of a green thread to start, built by the poster.
pub(crate) type Body = Box<dyn FnOnce() + Send>;

pub(crate) enum Job {
    /// Start a green thread; `id` names it for a later `Kill`; `backstop`
    /// settles its outcome if teardown abandons it.
    Spawn {
        id: u64,
        body: Body,
        backstop: Backstop,
    },
    /// Kill the green thread started as `id`, if it is still running.
    Kill(u64),
    /// Answer once no green thread is left on the hub.
    Join(Promise<()>),
    /// Leave the loop: the thread exits and its hub is torn down.
    Shutdown,
}

/// A hub's inbox for jobs from any OS thread.
pub(crate) struct Inbox {
    state: Mutex<State>,
    next_id: AtomicU64,
}

struct State {
    jobs: Vec<Job>,
    /// The hub's main context, when it sleeps waiting for jobs.
    sleeper: Option<RemoteWaker>,
    /// Set when the hub thread has left its loop: jobs are refused.
    closed: bool,
}

impl Inbox {
    pub(crate) fn new() -> Inbox {
        Inbox {
            state: Mutex::new(State {
                jobs: Vec::new(),
                sleeper: None,
                closed: false,
            }),
            next_id: AtomicU64::new(0),
        }
    }

    /// A fresh id for a `Spawn`.
    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Posts `job`; when the hub is gone the job is dropped here (a green
    /// thread's promise then says `Killed`).
    pub(crate) fn post(&self, job: Job) {
        let mut state = sync::lock(&self.state);
        if state.closed {
            drop(state);
            drop(job);
            return;
        }
        state.jobs.push(job);
        let sleeper = state.sleeper.take();
        drop(state);
        if let Some(sleeper) = sleeper {
            sleeper.wake();
        }
    }

    /// The jobs posted so far; with none, registers `sleeper` to be woken
    /// by the next post.
    fn take_or_sleep(&self, sleeper: RemoteWaker) -> Vec<Job> {
        let mut state = sync::lock(&self.state);
        if state.jobs.is_empty() {
            state.sleeper = Some(sleeper);
        }
        std::mem::take(&mut state.jobs)
    }

    /// Refuses jobs from now on; gives back those not taken.
    fn close(&self) -> Vec<Job> {
        let mut state = sync::lock(&self.state);
        state.closed = true;
        state.sleeper = None;
        std::mem::take(&mut state.jobs)
    }
}

/// Closes the inbox when the hub thread leaves its loop, even by a panic:
/// jobs left over are dropped, so whoever waits on them hears `Killed`.
struct CloseOnExit<'a>(&'a Inbox);

impl Drop for CloseOnExit<'_> {
    fn drop(&mut self) {
        drop(self.0.close());
    }
}

/// Green threads started from the inbox and not finished, by id.
type Started = Rc<RefCell<HashMap<u64, Entry>>>;

/// A green thread started from the inbox.
struct Entry {
    /// Its handle, until it is killed.
    handle: Option<GreenThread<()>>,
    /// Its outcome's backstop, off its stack: if teardown abandons it, the
    /// promise on its stack never speaks, and this one says `Killed`.
    backstop: Backstop,
}

/// Takes its green thread off [`Started`] when its body ends or is dropped
/// unstarted: its outcome is settled by then.
struct Forget {
    started: Started,
    id: u64,
}

impl Drop for Forget {
    fn drop(&mut self) {
        let handle = self.started.borrow_mut().remove(&self.id);
        drop(handle);
    }
}

/// The hub thread's life: serves the inbox until `Shutdown`, closes it, then
/// tears the hub down (the green threads left are killed, their destructors
/// run) and settles the outcome of those that teardown abandoned.
pub(crate) fn run(inbox: &Inbox) {
    let started: Started = Rc::default();
    {
        let _close = CloseOnExit(inbox);
        serve(inbox, &started);
    }
    let left: Vec<Entry> = started
        .borrow_mut()
        .drain()
        .map(|(_, entry)| entry)
        .collect();
    let (handles, backstops): (Vec<_>, Vec<_>) = left
        .into_iter()
        .map(|entry| (entry.handle, entry.backstop))
        .unzip();
    drop(handles);
    hub::tear_down();
    drop(backstops);
}

/// The hub thread's loop: starts posted green threads, kills, answers joins,
/// until `Shutdown`.
fn serve(inbox: &Inbox, started: &Started) {
    let mut joins: Vec<Promise<()>> = Vec::new();
    loop {
        let (completion, sleeper) = RemoteCompletion::new();
        let jobs = inbox.take_or_sleep(sleeper);
        if jobs.is_empty() {
            if !joins.is_empty() {
                let stats = hub::stats();
                if stats.live_green_threads == 0 && stats.queued == 0 {
                    joins.drain(..).for_each(|join| join.set(Ok(())));
                } else if stats.live_green_threads == 0 {
                    // Only unstarted green threads: let them run.
                    crate::yield_now();
                    continue;
                } else {
                    hub::current().watch_idle();
                }
            }
            completion.park_once();
            continue;
        }
        drop(completion);
        for job in jobs {
            match job {
                Job::Spawn { id, body, backstop } => {
                    let forget = Forget {
                        started: started.clone(),
                        id,
                    };
                    let green_thread = crate::spawn(move || {
                        let _forget = forget;
                        body();
                    });
                    let entry = Entry {
                        handle: Some(green_thread),
                        backstop,
                    };
                    started.borrow_mut().insert(id, entry);
                }
                Job::Kill(id) => {
                    // Out of the map first: killing an unstarted green
                    // thread drops its body, whose `Forget` borrows the map.
                    let green_thread = started
                        .borrow_mut()
                        .get_mut(&id)
                        .and_then(|entry| entry.handle.take());
                    if let Some(green_thread) = green_thread {
                        green_thread.kill();
                    }
                }
                Job::Join(promise) => joins.push(promise),
                Job::Shutdown => return,
            }
        }
    }
}

/// The loom model of the job inbox: posters on other threads against the hub
/// thread's loop, which registers its sleeper when it finds no job and then
/// waits in its poller for that sleeper's wake-up.
#[cfg(all(test, loom))]
mod loom_models {
    use super::{Inbox, Job};
    use crate::hub::{RemoteInbox, RemoteWaker, loom_hub_takes};
    use crate::sync::{Arc, model};

    #[test]
    fn loom_job_inbox_every_posted_job_reaches_the_hub_loop() {
        model(|| {
            let inbox = Arc::new(Inbox::new());
            let hub = std::sync::Arc::new(RemoteInbox::new(Default::default()));
            let posters: Vec<_> = (1..=2)
                .map(|id| {
                    let inbox = inbox.clone();
                    loom::thread::spawn(move || inbox.post(Job::Kill(id)))
                })
                .collect();
            let mut killed = Vec::new();
            // A new remote wait (slot 0, sequence `round`) each round, as
            // `RemoteCompletion::new` makes.
            for round in 0.. {
                let sleeper = RemoteWaker::for_model(0, round, hub.clone());
                let jobs = inbox.take_or_sleep(sleeper);
                if jobs.is_empty() {
                    loom_hub_takes(&hub, false, |posted| posted.contains(&(0, round)));
                }
                killed.extend(jobs.into_iter().map(|job| match job {
                    Job::Kill(id) => id,
                    _ => unreachable!("only kills are posted"),
                }));
                if killed.len() == 2 {
                    break;
                }
            }
            killed.sort_unstable();
            assert_eq!(killed, [1, 2]);
            posters.into_iter().for_each(|p| p.join().unwrap());
        });
    }
}
