//! `Event`: one value sent once, received by every green thread that waits.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::waiters::{self, WaitList, Waited};

/// A value that one green thread sends and any number wait for.
///
/// Until [`send`](Event::send), [`wait`](Event::wait) blocks the calling
/// green thread; afterwards every waiter, present and future, gets a clone of
/// the value, until [`reset`](Event::reset). Waiters wake in the order they
/// started waiting. `Event` is a cheap `Clone` handle to one shared event and
/// is `!Send`.
///
/// ```
/// use eventlet_rt::{spawn, Event};
///
/// let ready: Event<&str> = Event::new();
/// let waiters: Vec<_> = (0..3)
///     .map(|_| {
///         let ready = ready.clone();
///         spawn(move || ready.wait())
///     })
///     .collect();
/// eventlet_rt::yield_now(); // all three block in `wait`
/// ready.send("go");
/// for w in waiters {
///     assert_eq!(w.wait().unwrap(), "go");
/// }
/// ```
pub struct Event<T: Clone> {
    inner: Rc<RefCell<Inner<T>>>,
}

struct Inner<T> {
    value: Option<T>,
    waiters: WaitList<T>,
}

impl<T: Clone> Event<T> {
    /// An event that has not been sent.
    ///
    /// ```
    /// let evt = eventlet_rt::Event::<u32>::new();
    /// assert!(!evt.ready());
    /// ```
    pub fn new() -> Event<T> {
        Event {
            inner: Rc::new(RefCell::new(Inner {
                value: None,
                waiters: WaitList::new(),
            })),
        }
    }

    /// Sends `value`: every green thread blocked in `wait` gets a clone and
    /// becomes runnable (they run once the caller blocks or yields).
    ///
    /// # Panics
    /// If the event was already sent and not [`reset`](Event::reset) since:
    /// an event carries one value at a time.
    ///
    /// ```
    /// let evt = eventlet_rt::Event::new();
    /// evt.send(5);
    /// assert_eq!(evt.wait(), 5);
    /// evt.reset();
    /// evt.send(6);
    /// assert_eq!(evt.wait(), 6);
    /// ```
    pub fn send(&self, value: T) {
        let mut inner = self.inner.borrow_mut();
        assert!(
            inner.value.is_none(),
            "Event::send: this event was already sent; call reset() before sending it again"
        );
        inner
            .waiters
            .wake_all_with(|slot| *slot = Some(value.clone()));
        inner.value = Some(value);
    }

    /// Blocks the calling green thread until the event is sent, then gives a
    /// clone of the value. Returns at once if it was already sent.
    ///
    /// ```
    /// let evt = eventlet_rt::Event::new();
    /// let e = evt.clone();
    /// eventlet_rt::spawn_n(move || e.send("hello"));
    /// assert_eq!(evt.wait(), "hello");
    /// ```
    pub fn wait(&self) -> T {
        self.wait_until(None)
            .expect("a wait without deadline ends with the value")
    }

    /// Like [`wait`](Event::wait), giving up after `timeout` with `None`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let evt = eventlet_rt::Event::<()>::new();
    /// assert_eq!(evt.wait_timeout(Duration::from_millis(5)), None);
    /// evt.send(());
    /// assert_eq!(evt.wait_timeout(Duration::from_millis(5)), Some(()));
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> Option<T> {
        self.wait_until(Some(Instant::now() + timeout))
    }

    fn wait_until(&self, deadline: Option<Instant>) -> Option<T> {
        if let Some(value) = &self.inner.borrow().value {
            return Some(value.clone());
        }
        let waited = waiters::wait(
            &self.inner,
            |inner| &mut inner.waiters,
            None,
            deadline,
            |_, _unused_clone| {},
        );
        match waited {
            Waited::Woken(value) => Some(value.expect("`send` hands every waiter a value")),
            Waited::TimedOut(_) => None,
        }
    }

    /// True once the event has been sent (and not reset since).
    ///
    /// ```
    /// let evt = eventlet_rt::Event::new();
    /// assert!(!evt.ready());
    /// evt.send(1);
    /// assert!(evt.ready());
    /// ```
    pub fn ready(&self) -> bool {
        self.inner.borrow().value.is_some()
    }

    /// Forgets the value so that the event can be sent again; `wait` blocks
    /// again until then. Waiters already woken keep the value they got.
    /// Resetting an event that was not sent does nothing.
    ///
    /// ```
    /// let evt = eventlet_rt::Event::new();
    /// evt.send('a');
    /// evt.reset();
    /// assert!(!evt.ready());
    /// ```
    pub fn reset(&self) {
        let value = self.inner.borrow_mut().value.take();
        drop(value); // after the borrow: dropping `T` may run user code
    }
}

impl<T: Clone> Default for Event<T> {
    fn default() -> Event<T> {
        Event::new()
    }
}

impl<T: Clone> Clone for Event<T> {
    fn clone(&self) -> Event<T> {
        Event {
            inner: self.inner.clone(),
        }
    }
}

impl<T: Clone> fmt::Debug for Event<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.inner.borrow();
        f.debug_struct("Event")
            .field("ready", &inner.value.is_some())
            .field("waiting", &inner.waiters.len())
            .finish()
    }
}
