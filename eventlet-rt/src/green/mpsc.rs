//! A green `std::sync::mpsc`: the same channels, `Send` like std's, whose
//! blocking calls park only the calling green thread.
//!
//! [`channel`] and [`sync_channel`] behave like std's, with std's error
//! types: `recv` on an empty channel and `send` on a full `sync_channel`
//! block only the calling green thread (a plain OS thread, one without a
//! hub, blocks as with std). Disconnection works as in std: `recv` fails
//! once every sender is gone and the channel is empty; `send` fails (giving
//! the value back) once the receiver is gone. `sync_channel(0)` is a
//! rendezvous: `send` returns once `recv` has taken the value.
//!
//! The handles are `Send` (senders are also `Clone`): the two ends can live
//! on different hubs of [`Hubs`](crate::hubs::Hubs), on plain OS threads, or
//! among the green threads of one hub. A wake-up crosses to another hub
//! through that hub's poller (a `mio::Waker`), never by polling. Within one
//! hub, [`Queue`](crate::Queue) is faster: it takes no lock.
//!
//! ```
//! use eventlet_rt::green::mpsc;
//!
//! let (tx, rx) = mpsc::channel();
//! for id in 0..3 {
//!     let tx = tx.clone();
//!     eventlet_rt::spawn_n(move || tx.send(id * 10).unwrap());
//! }
//! drop(tx);
//! let got: Vec<i32> = rx.iter().collect(); // ends when every sender is gone
//! assert_eq!(got, [0, 10, 20]);
//! ```
//!
//! Across OS threads, a green receiver and a plain sender:
//!
//! ```
//! let (tx, rx) = eventlet_rt::green::mpsc::sync_channel(1);
//! let producer = std::thread::spawn(move || (0..100).for_each(|n| tx.send(n).unwrap()));
//! let ticker = eventlet_rt::spawn(|| eventlet_rt::sleep(std::time::Duration::from_millis(1)));
//! assert_eq!(rx.iter().sum::<i32>(), 4950); // the hub runs `ticker` meanwhile
//! producer.join().unwrap();
//! ticker.wait().unwrap();
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

pub use std::sync::mpsc::{RecvError, RecvTimeoutError, SendError, TryRecvError, TrySendError};

use crate::hub::{WaitQueue, wait_on};
use crate::sync::{self, Arc, Mutex, MutexGuard};

struct Channel<T> {
    state: Mutex<State<T>>,
    /// `None`: unbounded; `Some(0)`: rendezvous.
    bound: Option<usize>,
}

struct State<T> {
    queue: VecDeque<T>,
    senders: usize,
    receiver_alive: bool,
    /// Values taken by the receiver so far: a rendezvous sender waits for
    /// this count to pass the number its value got.
    received: u64,
    /// Receivers waiting for a value or for the last sender to go.
    receiving: WaitQueue,
    /// Senders waiting for room, or for their rendezvous value to be taken.
    sending: WaitQueue,
}

impl<T> State<T> {
    /// Takes the next value, telling the senders.
    fn pop(&mut self, bound: Option<usize>) -> Option<T> {
        let value = self.queue.pop_front()?;
        self.received += 1;
        if bound == Some(0) {
            // Both the sender whose value it was and the next one.
            self.sending.wake_all();
        } else {
            self.sending.wake_one();
        }
        Some(value)
    }

    fn push(&mut self, value: T) {
        self.queue.push_back(value);
        self.receiving.wake_one();
    }

    /// Whether a value can go in now. A rendezvous holds one offered value
    /// at a time; one that will not wait for its taker (`try_send`) goes
    /// in only when a receiver is already waiting.
    fn has_room(&self, bound: Option<usize>, wait: bool) -> bool {
        match bound {
            None => true,
            Some(0) => self.queue.is_empty() && (wait || !self.receiving.is_empty()),
            Some(bound) => self.queue.len() < bound,
        }
    }
}

impl<T> Channel<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        sync::lock(&self.state)
    }
}

/// What `Sender` and `SyncSender` share: counting live senders.
struct SenderSide<T> {
    channel: Arc<Channel<T>>,
}

impl<T> SenderSide<T> {
    /// Puts `value` in the channel, waiting for room while `wait` allows.
    fn send(&self, value: T, wait: bool) -> Result<(), TrySendError<T>> {
        let bound = self.channel.bound;
        let mut value = Some(value);
        let mut put = |state: &mut State<T>| {
            if !state.receiver_alive {
                return Some(Err(TrySendError::Disconnected(value.take()?)));
            }
            if state.has_room(bound, wait) {
                let seq = state.received + state.queue.len() as u64;
                state.push(value.take()?);
                return Some(Ok(seq));
            }
            if wait {
                None
            } else {
                Some(Err(TrySendError::Full(value.take()?)))
            }
        };
        let seq = if wait {
            wait_on(&self.channel.state, |s| &mut s.sending, None, put)
                .expect("eventlet-rt: a wait without a deadline ended without its value")
        } else {
            put(&mut self.channel.lock()).expect("a non-blocking send always decides")
        }?;
        if bound == Some(0) && wait {
            self.await_rendezvous(seq)?;
        }
        Ok(())
    }

    /// A rendezvous send waits until its value (number `seq`) is taken; if
    /// the receiver goes first, or the wait unwinds, the value is taken back.
    fn await_rendezvous(&self, seq: u64) -> Result<(), TrySendError<T>> {
        let offer = Offer {
            channel: &self.channel,
            seq,
        };
        let outcome = wait_on(
            &self.channel.state,
            |s| &mut s.sending,
            None,
            |state| {
                if state.received > seq {
                    Some(Ok(()))
                } else if !state.receiver_alive {
                    Some(Err(state.queue.pop_front()))
                } else {
                    None
                }
            },
        )
        .expect("eventlet-rt: a wait without a deadline ended without its value");
        std::mem::forget(offer);
        match outcome {
            Ok(()) => Ok(()),
            Err(value) => Err(TrySendError::Disconnected(
                value.expect("a rendezvous value not taken is still in the channel"),
            )),
        }
    }
}

/// A rendezvous value in the channel whose sender is waiting: if the wait
/// unwinds (a kill, a timeout), the value is taken back, never delivered.
struct Offer<'a, T> {
    channel: &'a Channel<T>,
    seq: u64,
}

impl<T> Drop for Offer<'_, T> {
    fn drop(&mut self) {
        let mut state = self.channel.lock();
        let withdrawn = (state.received <= self.seq)
            .then(|| state.queue.pop_front())
            .flatten();
        if withdrawn.is_some() {
            state.sending.wake_one();
        }
        drop(state);
        drop(withdrawn); // its destructor may use the channel
    }
}

impl<T> Clone for SenderSide<T> {
    fn clone(&self) -> SenderSide<T> {
        self.channel.lock().senders += 1;
        SenderSide {
            channel: self.channel.clone(),
        }
    }
}

impl<T> Drop for SenderSide<T> {
    fn drop(&mut self) {
        let mut state = self.channel.lock();
        state.senders -= 1;
        if state.senders == 0 {
            state.receiving.wake_all();
        }
    }
}

fn new_channel<T>(bound: Option<usize>) -> (SenderSide<T>, Receiver<T>) {
    let channel = Arc::new(Channel {
        state: Mutex::new(State {
            queue: VecDeque::new(),
            senders: 1,
            receiver_alive: true,
            received: 0,
            receiving: WaitQueue::new(),
            sending: WaitQueue::new(),
        }),
        bound,
    });
    let receiver = Receiver {
        channel: channel.clone(),
    };
    (SenderSide { channel }, receiver)
}

/// An unbounded channel: `send` never blocks.
///
/// ```
/// let (tx, rx) = eventlet_rt::green::mpsc::channel();
/// tx.send("hi").unwrap();
/// assert_eq!(rx.recv(), Ok("hi"));
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let (side, receiver) = new_channel(None);
    (Sender { side }, receiver)
}

/// A channel of at most `bound` values: `send` blocks while it is full.
/// With `bound` 0 it is a rendezvous: `send` blocks until `recv` takes the value.
///
/// ```
/// use eventlet_rt::green::mpsc::{sync_channel, TrySendError};
/// let (tx, rx) = sync_channel(1);
/// tx.send(1).unwrap();
/// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
/// assert_eq!(rx.recv(), Ok(1));
/// ```
pub fn sync_channel<T>(bound: usize) -> (SyncSender<T>, Receiver<T>) {
    let (side, receiver) = new_channel(Some(bound));
    (SyncSender { side }, receiver)
}

/// The sending half of a [`channel`]; clone it for more senders.
///
/// ```
/// let (tx, rx) = eventlet_rt::green::mpsc::channel();
/// let tx2 = tx.clone();
/// tx.send(1).unwrap();
/// tx2.send(2).unwrap();
/// assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2]);
/// ```
pub struct Sender<T> {
    side: SenderSide<T>,
}

impl<T> Sender<T> {
    /// Sends `value` without blocking; gives it back in the error when the
    /// receiver is gone.
    ///
    /// ```
    /// let (tx, rx) = eventlet_rt::green::mpsc::channel();
    /// drop(rx);
    /// assert_eq!(tx.send(5).unwrap_err().0, 5);
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.side.send(value, false).map_err(|error| match error {
            TrySendError::Full(value) | TrySendError::Disconnected(value) => SendError(value),
        })
    }
}

/// The sending half of a [`sync_channel`]; clone it for more senders.
///
/// ```
/// let (tx, rx) = eventlet_rt::green::mpsc::sync_channel(0);
/// let sender = eventlet_rt::spawn(move || tx.send("ping").unwrap());
/// assert_eq!(rx.recv(), Ok("ping"));
/// sender.wait().unwrap();
/// ```
pub struct SyncSender<T> {
    side: SenderSide<T>,
}

impl<T> SyncSender<T> {
    /// Sends `value`, blocking the calling green thread while the channel is
    /// full; gives it back in the error when the receiver is gone (even if it
    /// goes while this send is blocked).
    ///
    /// ```
    /// let (tx, rx) = eventlet_rt::green::mpsc::sync_channel(1);
    /// tx.send(1).unwrap();
    /// let blocked = eventlet_rt::spawn(move || tx.send(2));
    /// eventlet_rt::yield_now();
    /// drop(rx);
    /// assert_eq!(blocked.wait().unwrap().unwrap_err().0, 2);
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.side.send(value, true).map_err(|error| match error {
            TrySendError::Full(value) | TrySendError::Disconnected(value) => SendError(value),
        })
    }

    /// Sends `value` only if that needs no waiting.
    ///
    /// ```
    /// use eventlet_rt::green::mpsc::{sync_channel, TrySendError};
    /// let (tx, rx) = sync_channel(0);
    /// assert_eq!(tx.try_send(1), Err(TrySendError::Full(1)));
    /// drop(rx);
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Disconnected(2)));
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.side.send(value, false)
    }
}

/// The receiving half of a [`channel`] or [`sync_channel`].
///
/// ```
/// let (tx, rx) = eventlet_rt::green::mpsc::channel();
/// eventlet_rt::spawn_n(move || tx.send(42).unwrap());
/// assert_eq!(rx.recv(), Ok(42));
/// assert!(rx.recv().is_err()); // the sender is gone
/// ```
pub struct Receiver<T> {
    channel: Arc<Channel<T>>,
}

impl<T> Receiver<T> {
    /// Takes the next value, blocking the calling green thread while the
    /// channel is empty; `Err(RecvError)` once it is empty and every sender
    /// is gone.
    ///
    /// ```
    /// let (tx, rx) = eventlet_rt::green::mpsc::channel::<u8>();
    /// drop(tx);
    /// assert_eq!(rx.recv(), Err(eventlet_rt::green::mpsc::RecvError));
    /// ```
    pub fn recv(&self) -> Result<T, RecvError> {
        self.receive(None).map_err(|_| RecvError)
    }

    /// Takes a value if one is there, without blocking.
    ///
    /// ```
    /// use eventlet_rt::green::mpsc::{channel, TryRecvError};
    /// let (tx, rx) = channel();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(1).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        let bound = self.channel.bound;
        let mut state = self.channel.lock();
        match state.pop(bound) {
            Some(value) => Ok(value),
            None if state.senders == 0 => Err(TryRecvError::Disconnected),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Like [`recv`](Receiver::recv), giving up after `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use eventlet_rt::green::mpsc::{channel, RecvTimeoutError};
    /// let (_tx, rx) = channel::<u8>();
    /// assert_eq!(rx.recv_timeout(Duration::from_millis(1)), Err(RecvTimeoutError::Timeout));
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.receive(Instant::now().checked_add(timeout))
    }

    /// Takes the next value, waiting until `deadline` (`None`: for ever).
    fn receive(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        let bound = self.channel.bound;
        wait_on(
            &self.channel.state,
            |s| &mut s.receiving,
            deadline,
            |state| match state.pop(bound) {
                Some(value) => Some(Ok(value)),
                None if state.senders == 0 => Some(Err(RecvTimeoutError::Disconnected)),
                None => None,
            },
        )
        .unwrap_or(Err(RecvTimeoutError::Timeout))
    }

    /// An iterator that blocks for each value and ends once every sender is gone.
    ///
    /// ```
    /// let (tx, rx) = eventlet_rt::green::mpsc::channel();
    /// eventlet_rt::spawn_n(move || (1..=3).for_each(|n| tx.send(n).unwrap()));
    /// assert_eq!(rx.iter().sum::<i32>(), 6);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { receiver: self }
    }

    /// An iterator over the values there right now; it never blocks.
    ///
    /// ```
    /// let (tx, rx) = eventlet_rt::green::mpsc::channel();
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// assert_eq!(rx.try_iter().count(), 2);
    /// assert_eq!(rx.try_iter().count(), 0);
    /// ```
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { receiver: self }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut state = self.channel.lock();
        state.receiver_alive = false;
        state.sending.wake_all();
    }
}

/// Blocking iterator over a [`Receiver`]'s values; see [`Receiver::iter`].
///
/// ```
/// let (tx, rx) = eventlet_rt::green::mpsc::channel();
/// tx.send('x').unwrap();
/// drop(tx);
/// let mut values: eventlet_rt::green::mpsc::Iter<'_, char> = rx.iter();
/// assert_eq!(values.next(), Some('x'));
/// assert_eq!(values.next(), None);
/// ```
pub struct Iter<'a, T> {
    receiver: &'a Receiver<T>,
}

/// Non-blocking iterator over a [`Receiver`]'s values; see [`Receiver::try_iter`].
///
/// ```
/// let (tx, rx) = eventlet_rt::green::mpsc::channel::<u8>();
/// let mut now: eventlet_rt::green::mpsc::TryIter<'_, u8> = rx.try_iter();
/// assert_eq!(now.next(), None);
/// # drop(tx);
/// ```
pub struct TryIter<'a, T> {
    receiver: &'a Receiver<T>,
}

/// Blocking iterator that owns its [`Receiver`]; from `rx.into_iter()`.
///
/// ```
/// let (tx, rx) = eventlet_rt::green::mpsc::channel();
/// tx.send(1).unwrap();
/// drop(tx);
/// let all: eventlet_rt::green::mpsc::IntoIter<i32> = rx.into_iter();
/// assert_eq!(all.collect::<Vec<_>>(), [1]);
/// ```
pub struct IntoIter<T> {
    receiver: Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.receiver.recv().ok()
    }
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.receiver.try_recv().ok()
    }
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.receiver.recv().ok()
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        IntoIter { receiver: self }
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        Sender {
            side: self.side.clone(),
        }
    }
}

impl<T> Clone for SyncSender<T> {
    fn clone(&self) -> SyncSender<T> {
        SyncSender {
            side: self.side.clone(),
        }
    }
}

macro_rules! opaque_debug {
    ($($name:ident $(<$lt:lifetime>)?),*) => {$(
        impl<T> fmt::Debug for $name<$($lt,)? T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }
    )*};
}

opaque_debug!(
    Sender,
    SyncSender,
    Receiver,
    Iter<'_>,
    TryIter<'_>,
    IntoIter
);

/// The loom models of the channels, with plain threads on both ends (the
/// lock and the wait queues are the same for green ends; a green end's
/// wake-up then crosses its hub's inbox, modelled in `hub::remote`).
#[cfg(all(test, loom))]
mod loom_models {
    use super::{RecvError, SendError, TrySendError, channel, sync_channel};
    use crate::sync::model;

    #[test]
    fn loom_mpsc_values_from_two_senders_all_arrive_then_disconnect() {
        model(|| {
            let (tx, rx) = channel();
            let senders: Vec<_> = (0..2u8)
                .map(|n| {
                    let tx = tx.clone();
                    loom::thread::spawn(move || tx.send(n).unwrap())
                })
                .collect();
            drop(tx);
            let mut got = [rx.recv().unwrap(), rx.recv().unwrap()];
            got.sort_unstable();
            assert_eq!(got, [0, 1]);
            assert_eq!(rx.recv(), Err(RecvError));
            senders.into_iter().for_each(|s| s.join().unwrap());
        });
    }

    #[test]
    fn loom_mpsc_a_full_sync_channel_blocks_the_sender_until_there_is_room() {
        model(|| {
            let (tx, rx) = sync_channel(1);
            let sender = loom::thread::spawn(move || {
                tx.send(1).unwrap();
                tx.send(2).unwrap();
            });
            assert_eq!(rx.recv(), Ok(1));
            assert_eq!(rx.recv(), Ok(2));
            assert_eq!(rx.recv(), Err(RecvError));
            sender.join().unwrap();
        });
    }

    #[test]
    fn loom_mpsc_a_rendezvous_send_returns_once_its_value_is_taken() {
        model(|| {
            let (tx, rx) = sync_channel(0);
            let channel = tx.side.channel.clone();
            let sender = loom::thread::spawn(move || {
                tx.send(5).unwrap();
                assert_eq!(crate::sync::lock(&channel.state).received, 1);
            });
            assert_eq!(rx.recv(), Ok(5));
            sender.join().unwrap();
        });
    }

    #[test]
    fn loom_mpsc_two_rendezvous_senders_each_return_once_their_value_is_taken() {
        model(|| {
            let (tx, rx) = sync_channel(0);
            let senders: Vec<_> = (1..=2u64)
                .map(|n| {
                    let tx = tx.clone();
                    let channel = tx.side.channel.clone();
                    loom::thread::spawn(move || {
                        tx.send(n).unwrap();
                        let state = crate::sync::lock(&channel.state);
                        assert!(
                            !state.queue.contains(&n),
                            "send returned before {n} was taken"
                        );
                    })
                })
                .collect();
            drop(tx);
            let mut got = [rx.recv().unwrap(), rx.recv().unwrap()];
            got.sort_unstable();
            assert_eq!(got, [1, 2]);
            senders.into_iter().for_each(|s| s.join().unwrap());
        });
    }

    #[test]
    fn loom_mpsc_a_rendezvous_send_gets_its_value_back_when_the_receiver_goes() {
        model(|| {
            let (tx, rx) = sync_channel(0);
            let sender = loom::thread::spawn(move || tx.send(5));
            drop(rx);
            assert_eq!(sender.join().unwrap(), Err(SendError(5)));
        });
    }

    #[test]
    fn loom_mpsc_a_blocked_receiver_hears_the_last_sender_go() {
        model(|| {
            let (tx, rx) = channel::<u8>();
            let dropper = loom::thread::spawn(move || drop(tx));
            assert_eq!(rx.recv(), Err(RecvError));
            dropper.join().unwrap();
        });
    }

    #[test]
    fn loom_mpsc_try_send_on_a_rendezvous_needs_a_waiting_receiver() {
        model(|| {
            let (tx, rx) = sync_channel(0);
            let receiver = loom::thread::spawn(move || rx.recv());
            let sent = loop {
                match tx.try_send(9) {
                    Ok(()) => break true,
                    Err(TrySendError::Full(_)) => loom::thread::yield_now(),
                    Err(TrySendError::Disconnected(_)) => break false,
                }
            };
            assert!(sent);
            assert_eq!(receiver.join().unwrap(), Ok(9));
        });
    }
}
