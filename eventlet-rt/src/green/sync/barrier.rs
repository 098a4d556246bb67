//! Green `Barrier`: green threads wait until all of them have arrived.

use std::cell::RefCell;
use std::fmt;

use crate::waiters::{self, WaitList};

struct State {
    /// Arrived in this round and still waiting.
    arrived: usize,
    /// Rounds passed so far: a waiter that unwinds out of its wait counts
    /// itself out only if its round has not passed meanwhile.
    round: u64,
    waiters: WaitList<()>,
}

/// Lets `n` green threads wait until all `n` have called [`wait`](Barrier::wait), with
/// `std::sync::Barrier`'s API; then all go on and the barrier is ready for the next round.
/// One of each round is the leader.
///
/// ```
/// use std::{cell::RefCell, rc::Rc};
/// use eventlet_rt::green::sync::Barrier;
///
/// let barrier = Rc::new(Barrier::new(3));
/// let log = Rc::new(RefCell::new(Vec::new()));
/// let threads: Vec<_> = (0..3)
///     .map(|i| {
///         let (barrier, log) = (barrier.clone(), log.clone());
///         eventlet_rt::spawn(move || {
///             log.borrow_mut().push(format!("before {i}"));
///             barrier.wait();
///             log.borrow_mut().push(format!("after {i}"));
///         })
///     })
///     .collect();
/// threads.into_iter().for_each(|t| t.wait().unwrap());
/// assert!(log.borrow()[..3].iter().all(|entry| entry.starts_with("before")));
/// ```
pub struct Barrier {
    n: usize,
    state: RefCell<State>,
}

/// What [`Barrier::wait`] tells each green thread of a round.
///
/// ```
/// let result = eventlet_rt::green::sync::Barrier::new(1).wait();
/// assert!(result.is_leader());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// True for exactly one green thread of each round: the last to arrive.
    ///
    /// ```
    /// assert!(eventlet_rt::green::sync::Barrier::new(0).wait().is_leader());
    /// ```
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

impl Barrier {
    /// A barrier for rounds of `n` green threads (`0` and `1` never block).
    ///
    /// ```
    /// let barrier = eventlet_rt::green::sync::Barrier::new(1);
    /// assert!(barrier.wait().is_leader());
    /// ```
    pub fn new(n: usize) -> Barrier {
        Barrier {
            n,
            state: RefCell::new(State {
                arrived: 0,
                round: 0,
                waiters: WaitList::new(),
            }),
        }
    }

    /// Blocks the calling green thread until `n` green threads have called `wait` in this
    /// round. A green thread killed while waiting leaves the round: it no longer counts.
    /// One killed after the last arrival released it (before it ran again) had passed:
    /// the next round is not touched.
    ///
    /// ```
    /// use std::rc::Rc;
    /// let barrier = Rc::new(eventlet_rt::green::sync::Barrier::new(2));
    /// let other = barrier.clone();
    /// let helper = eventlet_rt::spawn(move || other.wait().is_leader());
    /// let me = barrier.wait().is_leader();
    /// assert!(me ^ helper.wait().unwrap()); // one leader per round
    /// ```
    pub fn wait(&self) -> BarrierWaitResult {
        let round = {
            let mut state = self.state.borrow_mut();
            if state.arrived + 1 >= self.n {
                state.arrived = 0;
                state.round += 1;
                state.waiters.wake_all_with(|slot| *slot = Some(()));
                return BarrierWaitResult(true);
            }
            state.arrived += 1;
            state.round
        };
        let leave = Leave {
            state: &self.state,
            round,
        };
        waiters::wait(
            &self.state,
            |state| &mut state.waiters,
            None,
            None,
            |_, ()| {},
        );
        std::mem::forget(leave);
        BarrierWaitResult(false)
    }
}

/// Takes a waiter that unwinds out of [`Barrier::wait`] out of the count of its round,
/// unless that round has passed (the last arrival released it, and reset the count).
struct Leave<'a> {
    state: &'a RefCell<State>,
    round: u64,
}

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        let mut state = self.state.borrow_mut();
        if state.round == self.round {
            state.arrived -= 1;
        }
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("n", &self.n)
            .field("arrived", &self.state.borrow().arrived)
            .finish()
    }
}
