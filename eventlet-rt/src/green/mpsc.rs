//! A green `std::sync::mpsc`: the same channels, on green queues.
//!
//! [`channel`] and [`sync_channel`] behave like std's, with std's error
//! types, except that blocking (`recv` on an empty channel, `send` on a full
//! `sync_channel`) blocks only the calling green thread. Disconnection works
//! as in std: `recv` fails once every sender is gone and the channel is
//! empty; `send` fails (giving the value back) once the receiver is gone.
//! The handles are `!Send`: both ends live on one OS thread, among its green
//! threads.
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

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

pub use std::sync::mpsc::{RecvError, RecvTimeoutError, SendError, TryRecvError, TrySendError};

use crate::queue::{GetError, PutError, Queue};

struct Channel<T> {
    queue: Queue<T>,
    senders: Cell<usize>,
}

/// What `Sender` and `SyncSender` share: counting live senders.
struct SenderSide<T> {
    channel: Rc<Channel<T>>,
}

impl<T> Clone for SenderSide<T> {
    fn clone(&self) -> SenderSide<T> {
        self.channel.senders.set(self.channel.senders.get() + 1);
        SenderSide {
            channel: self.channel.clone(),
        }
    }
}

impl<T> Drop for SenderSide<T> {
    fn drop(&mut self) {
        let senders = self.channel.senders.get() - 1;
        self.channel.senders.set(senders);
        if senders == 0 {
            self.channel.queue.close_for_get();
        }
    }
}

fn new_channel<T>(queue: Queue<T>) -> (SenderSide<T>, Receiver<T>) {
    let channel = Rc::new(Channel {
        queue,
        senders: Cell::new(1),
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
    let (side, receiver) = new_channel(Queue::new());
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
    let (side, receiver) = new_channel(Queue::bounded(bound));
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
        self.side
            .channel
            .queue
            .offer(value)
            .map_err(|error| SendError(put_error_item(error)))
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
        self.side
            .channel
            .queue
            .put_until(value, None)
            .map_err(|error| SendError(put_error_item(error)))
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
        self.side
            .channel
            .queue
            .offer(value)
            .map_err(|error| match error {
                PutError::Full(value) => TrySendError::Full(value),
                PutError::Closed(value) => TrySendError::Disconnected(value),
            })
    }
}

fn put_error_item<T>(error: PutError<T>) -> T {
    match error {
        PutError::Full(value) | PutError::Closed(value) => value,
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
    channel: Rc<Channel<T>>,
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
        self.channel.queue.get_until(None).map_err(|_| RecvError)
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
        self.channel.queue.poll().map_err(|error| match error {
            GetError::Empty => TryRecvError::Empty,
            GetError::Closed => TryRecvError::Disconnected,
        })
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
        let deadline = Instant::now() + timeout;
        self.channel
            .queue
            .get_until(Some(deadline))
            .map_err(|error| match error {
                GetError::Empty => RecvTimeoutError::Timeout,
                GetError::Closed => RecvTimeoutError::Disconnected,
            })
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
        self.channel.queue.close_for_put();
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
