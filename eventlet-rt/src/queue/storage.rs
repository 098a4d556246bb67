//! The order a queue keeps its items in: first in first out, last in first
//! out, or smallest first.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt;

/// How a [`GenericQueue`](super::GenericQueue) stores its items, which decides
/// the order `get` returns them in.
///
/// The queue's blocking, hand-off and fairness logic is the same for every
/// storage; only this order differs. [`Fifo`], [`Lifo`] and [`Priority`] are
/// the storages of [`Queue`](super::Queue), [`LifoQueue`](super::LifoQueue)
/// and [`PriorityQueue`](super::PriorityQueue). Implement it to get a queue
/// with another order.
///
/// ```
/// use std::collections::VecDeque;
/// use eventlet_rt::queue::{GenericQueue, Storage};
///
/// /// Keeps only the newest item: a "latest value" mailbox.
/// struct Latest<T>(Option<T>);
///
/// impl<T> Default for Latest<T> {
///     fn default() -> Self { Latest(None) }
/// }
///
/// impl<T> Storage<T> for Latest<T> {
///     fn push(&mut self, item: T) { self.0 = Some(item); }
///     fn pop(&mut self) -> Option<T> { self.0.take() }
///     fn push_oldest(&mut self, item: T) { self.0.get_or_insert(item); }
///     fn len(&self) -> usize { self.0.is_some() as usize }
/// }
///
/// let mailbox: GenericQueue<u32, Latest<u32>> = GenericQueue::new();
/// mailbox.put(1);
/// mailbox.put(2);
/// assert_eq!(mailbox.get(), 2);
/// assert!(mailbox.is_empty());
/// ```
pub trait Storage<T>: Default {
    /// Stores a new item.
    fn push(&mut self, item: T);
    /// Removes the item `get` returns next.
    fn pop(&mut self) -> Option<T>;
    /// Puts back an item that was handed to a getter who was killed or timed
    /// out before taking it. It is older than every stored item.
    fn push_oldest(&mut self, item: T);
    /// Items stored.
    fn len(&self) -> usize;
    /// True when no item is stored.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// First in, first out: the storage of [`Queue`](super::Queue).
///
/// ```
/// let q = eventlet_rt::Queue::new();
/// q.put(1);
/// q.put(2);
/// assert_eq!(q.get(), 1);
/// ```
pub struct Fifo<T>(VecDeque<T>);

/// Last in, first out: the storage of [`LifoQueue`](super::LifoQueue).
///
/// ```
/// let q = eventlet_rt::LifoQueue::new();
/// q.put(1);
/// q.put(2);
/// assert_eq!(q.get(), 2);
/// ```
pub struct Lifo<T>(VecDeque<T>);

/// Smallest first: the storage of [`PriorityQueue`](super::PriorityQueue).
///
/// ```
/// let q = eventlet_rt::PriorityQueue::new();
/// q.put(2);
/// q.put(1);
/// assert_eq!(q.get(), 1);
/// ```
pub struct Priority<T>(BinaryHeap<Reverse<T>>);

impl<T> Storage<T> for Fifo<T> {
    #[inline]
    fn push(&mut self, item: T) {
        self.0.push_back(item);
    }
    #[inline]
    fn pop(&mut self) -> Option<T> {
        self.0.pop_front()
    }
    fn push_oldest(&mut self, item: T) {
        self.0.push_front(item);
    }
    #[inline]
    fn len(&self) -> usize {
        self.0.len()
    }
}

impl<T> Storage<T> for Lifo<T> {
    #[inline]
    fn push(&mut self, item: T) {
        self.0.push_back(item);
    }
    #[inline]
    fn pop(&mut self) -> Option<T> {
        self.0.pop_back()
    }
    fn push_oldest(&mut self, item: T) {
        self.0.push_front(item);
    }
    #[inline]
    fn len(&self) -> usize {
        self.0.len()
    }
}

impl<T: Ord> Storage<T> for Priority<T> {
    #[inline]
    fn push(&mut self, item: T) {
        self.0.push(Reverse(item));
    }
    #[inline]
    fn pop(&mut self) -> Option<T> {
        self.0.pop().map(|Reverse(item)| item)
    }
    fn push_oldest(&mut self, item: T) {
        self.push(item);
    }
    #[inline]
    fn len(&self) -> usize {
        self.0.len()
    }
}

macro_rules! default_and_debug {
    ($($storage:ident: $order:literal),*) => {$(
        impl<T> Default for $storage<T> {
            fn default() -> $storage<T> {
                $storage(Default::default())
            }
        }

        impl<T> fmt::Debug for $storage<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($storage))
                    .field("order", &$order)
                    .field("len", &self.0.len())
                    .finish()
            }
        }
    )*};
}

default_and_debug!(
    Fifo: "first in, first out",
    Lifo: "last in, first out",
    Priority: "smallest first"
);
