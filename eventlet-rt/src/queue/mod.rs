//! Queues between green threads: [`Queue`] (first in, first out),
//! [`LifoQueue`] and [`PriorityQueue`], like Eventlet's `eventlet.queue`.
//!
//! All three are the one [`GenericQueue`] with a different [`Storage`]: the
//! blocking, hand-off and fairness logic is shared, only the order differs.
//! A queue is unbounded ([`new`](GenericQueue::new)) or holds at most `n`
//! items ([`bounded`](GenericQueue::bounded)); `bounded(0)` is a rendezvous
//! channel where `put` waits for a getter to take the item.
//!
//! `get` on an empty queue and `put` on a full one block the calling green
//! thread; the others run meanwhile. Blocked getters and putters are served
//! first come, first served. A waiter that is killed or times out leaves no
//! trace: [`getting`](GenericQueue::getting) and
//! [`putting`](GenericQueue::putting) stay right and no item is lost.
//!
//! ```
//! use eventlet_rt::{spawn, Queue};
//!
//! let jobs = Queue::bounded(2);
//! let results = Queue::new();
//! let worker = {
//!     let (jobs, results) = (jobs.clone(), results.clone());
//!     spawn(move || {
//!         while let Some(n) = jobs.get() {
//!             results.put(n * n);
//!         }
//!     })
//! };
//! for n in 1..=5 {
//!     jobs.put(Some(n)); // blocks while two jobs are waiting
//! }
//! jobs.put(None);
//! worker.wait().unwrap();
//! let squares: Vec<i32> = (0..5).map(|_| results.get()).collect();
//! assert_eq!(squares, [1, 4, 9, 16, 25]);
//! ```

mod inner;
mod storage;

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

pub(crate) use inner::PutError;
pub use storage::{Fifo, Lifo, Priority, Storage};

use inner::Inner;

/// A first in, first out queue.
///
/// ```
/// let q = eventlet_rt::Queue::new();
/// q.put("a");
/// q.put("b");
/// assert_eq!((q.get(), q.get()), ("a", "b"));
/// ```
pub type Queue<T> = GenericQueue<T, Fifo<T>>;

/// A last in, first out queue (a stack).
///
/// ```
/// let q = eventlet_rt::LifoQueue::new();
/// q.put("a");
/// q.put("b");
/// assert_eq!((q.get(), q.get()), ("b", "a"));
/// ```
pub type LifoQueue<T> = GenericQueue<T, Lifo<T>>;

/// A queue that gives its smallest item first.
///
/// ```
/// let q = eventlet_rt::PriorityQueue::new();
/// for n in [3, 1, 2] {
///     q.put(n);
/// }
/// assert_eq!([q.get(), q.get(), q.get()], [1, 2, 3]);
/// ```
pub type PriorityQueue<T> = GenericQueue<T, Priority<T>>;

/// The queue behind [`Queue`], [`LifoQueue`] and [`PriorityQueue`]; `S`
/// decides the order. Use the three aliases unless you bring your own
/// [`Storage`].
///
/// A cheap `Clone` handle to one shared queue; `!Send`.
pub struct GenericQueue<T, S> {
    inner: Rc<RefCell<Inner<T, S>>>,
}

impl<T, S: Storage<T>> GenericQueue<T, S> {
    /// An unbounded queue: `put` never blocks.
    ///
    /// ```
    /// let q = eventlet_rt::Queue::<u8>::new();
    /// assert_eq!(q.capacity(), None);
    /// ```
    pub fn new() -> GenericQueue<T, S> {
        GenericQueue::with_capacity(None)
    }

    /// A queue of at most `capacity` items: `put` blocks while it is full.
    /// `bounded(0)` is a rendezvous channel: `put` blocks until a getter
    /// takes the item.
    ///
    /// ```
    /// let q = eventlet_rt::Queue::bounded(1);
    /// q.put(1);
    /// assert!(q.is_full());
    /// assert_eq!(q.try_put(2), Err(2));
    /// ```
    pub fn bounded(capacity: usize) -> GenericQueue<T, S> {
        GenericQueue::with_capacity(Some(capacity))
    }

    fn with_capacity(capacity: Option<usize>) -> GenericQueue<T, S> {
        GenericQueue {
            inner: Rc::new(RefCell::new(Inner::new(capacity))),
        }
    }

    /// Puts `item`, blocking the calling green thread while the queue is full.
    ///
    /// A green thread blocked in `get` receives the item directly. On a
    /// rendezvous queue (`bounded(0)`) `put` returns once a getter has it.
    ///
    /// ```
    /// let q = eventlet_rt::Queue::bounded(0);
    /// let getter = { let q = q.clone(); eventlet_rt::spawn(move || q.get()) };
    /// q.put("hand-off");
    /// assert_eq!(getter.wait().unwrap(), "hand-off");
    /// ```
    pub fn put(&self, item: T) {
        if Inner::put_until(&self.inner, item, None).is_err() {
            unreachable!("a queue without deadline nor receiver to close it accepts every put")
        }
    }

    /// Takes the next item, blocking the calling green thread while the
    /// queue is empty.
    ///
    /// ```
    /// let q = eventlet_rt::Queue::new();
    /// let q2 = q.clone();
    /// eventlet_rt::spawn_n(move || q2.put(7));
    /// assert_eq!(q.get(), 7);
    /// ```
    pub fn get(&self) -> T {
        match Inner::get_until(&self.inner, None) {
            Ok(item) => item,
            Err(_) => unreachable!("a queue without deadline nor senders to close it yields items"),
        }
    }

    /// Puts `item` if there is room (or a waiting getter) right now; gives
    /// it back otherwise.
    ///
    /// ```
    /// let q = eventlet_rt::Queue::bounded(1);
    /// assert_eq!(q.try_put('a'), Ok(()));
    /// assert_eq!(q.try_put('b'), Err('b'));
    /// ```
    pub fn try_put(&self, item: T) -> Result<(), T> {
        Inner::try_put(&self.inner, item).map_err(PutError::into_item)
    }

    /// Takes an item if one is there (or a putter is waiting) right now.
    ///
    /// ```
    /// let q = eventlet_rt::Queue::new();
    /// assert_eq!(q.try_get(), None);
    /// q.put(1);
    /// assert_eq!(q.try_get(), Some(1));
    /// ```
    pub fn try_get(&self) -> Option<T> {
        Inner::try_take(&self.inner).ok()
    }

    /// Like [`put`](GenericQueue::put), giving the item back if the queue is
    /// still full after `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let q = eventlet_rt::Queue::bounded(0);
    /// assert_eq!(q.put_timeout("hi", Duration::from_millis(1)), Err("hi"));
    /// assert_eq!(q.putting(), 0);
    /// ```
    pub fn put_timeout(&self, item: T, timeout: Duration) -> Result<(), T> {
        Inner::put_until(&self.inner, item, Some(Instant::now() + timeout))
            .map_err(PutError::into_item)
    }

    /// Like [`get`](GenericQueue::get), giving up with `None` after `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let q = eventlet_rt::Queue::<u8>::new();
    /// assert_eq!(q.get_timeout(Duration::from_millis(1)), None);
    /// assert_eq!(q.getting(), 0);
    /// ```
    pub fn get_timeout(&self, timeout: Duration) -> Option<T> {
        Inner::get_until(&self.inner, Some(Instant::now() + timeout)).ok()
    }

    /// Items in the queue (not counting those of blocked putters).
    ///
    /// ```
    /// let q = eventlet_rt::Queue::new();
    /// q.put(());
    /// assert_eq!(q.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.inner.borrow().len()
    }

    /// True when the queue holds no item.
    ///
    /// ```
    /// assert!(eventlet_rt::Queue::<u8>::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when a `put` would block: the queue holds `capacity` items or
    /// more. A rendezvous queue is always full (and always empty).
    ///
    /// ```
    /// let q = eventlet_rt::Queue::<u8>::bounded(0);
    /// assert!(q.is_full() && q.is_empty());
    /// ```
    pub fn is_full(&self) -> bool {
        let inner = self.inner.borrow();
        inner
            .capacity
            .is_some_and(|capacity| inner.len() >= capacity)
    }

    /// The most items the queue holds; `None` when unbounded.
    ///
    /// ```
    /// assert_eq!(eventlet_rt::Queue::<u8>::bounded(3).capacity(), Some(3));
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        self.inner.borrow().capacity
    }

    /// Green threads blocked in `get` or `get_timeout`.
    ///
    /// ```
    /// let q = eventlet_rt::Queue::<u8>::new();
    /// let q2 = q.clone();
    /// let getter = eventlet_rt::spawn(move || q2.get());
    /// eventlet_rt::yield_now();
    /// assert_eq!(q.getting(), 1);
    /// q.put(1);
    /// assert_eq!(q.getting(), 0);
    /// assert_eq!(getter.wait().unwrap(), 1);
    /// ```
    pub fn getting(&self) -> usize {
        self.inner.borrow().getters.len()
    }

    /// Green threads blocked in `put` or `put_timeout`.
    ///
    /// ```
    /// let q = eventlet_rt::Queue::bounded(0);
    /// let q2 = q.clone();
    /// let putter = eventlet_rt::spawn(move || q2.put(1));
    /// eventlet_rt::yield_now();
    /// assert_eq!(q.putting(), 1);
    /// assert_eq!(q.get(), 1);
    /// assert_eq!(q.putting(), 0);
    /// putter.wait().unwrap();
    /// ```
    pub fn putting(&self) -> usize {
        self.inner.borrow().putters.len()
    }

    /// Changes the capacity; `None` makes the queue unbounded.
    ///
    /// Growing lets blocked putters in at once, oldest first. Shrinking keeps
    /// the items already there: `put` blocks until enough are taken.
    ///
    /// ```
    /// let q = eventlet_rt::Queue::bounded(1);
    /// q.put(1);
    /// q.resize(Some(2));
    /// assert_eq!(q.try_put(2), Ok(()));
    /// q.resize(Some(0));
    /// assert_eq!(q.len(), 2);
    /// ```
    pub fn resize(&self, capacity: Option<usize>) {
        let mut inner = self.inner.borrow_mut();
        inner.capacity = capacity;
        inner.admit_putters();
    }

    /// Marks one item taken with `get` as processed, for [`join`](GenericQueue::join).
    ///
    /// Every successful put counts one unfinished task; `task_done` counts
    /// one down. When the count reaches zero, green threads blocked in
    /// `join` wake up.
    ///
    /// # Panics
    /// If called more times than items were put.
    ///
    /// ```
    /// let q = eventlet_rt::Queue::new();
    /// q.put("job");
    /// assert_eq!(q.unfinished_tasks(), 1);
    /// q.get();
    /// q.task_done();
    /// assert_eq!(q.unfinished_tasks(), 0);
    /// ```
    pub fn task_done(&self) {
        self.inner.borrow_mut().task_done();
    }

    /// Blocks the calling green thread until every item put has been marked
    /// done with [`task_done`](GenericQueue::task_done). Returns at once when
    /// nothing is unfinished.
    ///
    /// ```
    /// let q = eventlet_rt::Queue::new();
    /// let worker = {
    ///     let q = q.clone();
    ///     eventlet_rt::spawn(move || loop {
    ///         let _job: u32 = q.get();
    ///         q.task_done();
    ///     })
    /// };
    /// for job in 0..3 {
    ///     q.put(job);
    /// }
    /// q.join();
    /// assert!(q.is_empty());
    /// worker.kill();
    /// ```
    pub fn join(&self) {
        Inner::wait_until_done(&self.inner);
    }

    /// Items put and not yet marked done with [`task_done`](GenericQueue::task_done).
    ///
    /// ```
    /// let q = eventlet_rt::Queue::new();
    /// q.put(1);
    /// q.put(2);
    /// assert_eq!(q.unfinished_tasks(), 2);
    /// ```
    pub fn unfinished_tasks(&self) -> usize {
        self.inner.borrow().unfinished
    }
}

impl<T> PutError<T> {
    fn into_item(self) -> T {
        match self {
            PutError::Full(item) => item,
        }
    }
}

impl<T, S: Storage<T>> Default for GenericQueue<T, S> {
    fn default() -> GenericQueue<T, S> {
        GenericQueue::new()
    }
}

impl<T, S> Clone for GenericQueue<T, S> {
    fn clone(&self) -> GenericQueue<T, S> {
        GenericQueue {
            inner: self.inner.clone(),
        }
    }
}

impl<T, S: Storage<T>> fmt::Debug for GenericQueue<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.inner.borrow();
        f.debug_struct("Queue")
            .field("len", &inner.len())
            .field("capacity", &inner.capacity)
            .field("getting", &inner.getters.len())
            .field("putting", &inner.putters.len())
            .field("unfinished_tasks", &inner.unfinished)
            .finish()
    }
}
