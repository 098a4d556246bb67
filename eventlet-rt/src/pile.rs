//! `GreenPile`: results of a bunch of spawned work, in spawn order.

use std::cell::Cell;
use std::fmt;
use std::panic;
use std::rc::Rc;

use crate::{GreenError, GreenPool, GreenThread, Queue};

/// A pile of green threads whose results come back in the order they were
/// spawned, like Eventlet's `GreenPile`.
///
/// Spawn work with [`spawn`](GreenPile::spawn), then iterate: each `next`
/// blocks the calling green thread until the next result (in spawn order) is
/// ready, and a panic of that green thread is re-raised there with its
/// payload. Iteration ends once every spawned result has been yielded; an
/// empty pile ends at once.
///
/// A pile runs its work on its own [`GreenPool`] or on a shared one
/// ([`with_pool`](GreenPile::with_pool)), which bounds the concurrency:
/// `spawn` blocks while the pool is full. `GreenPile` is a cheap `Clone`
/// handle to one shared pile (so green threads can spawn into a pile that
/// another one iterates); it is `!Send`.
///
/// ```
/// use std::time::Duration;
/// use eventlet_rt::{sleep, GreenPile};
///
/// let pile = GreenPile::new(4);
/// for delay in [30, 10, 20] {
///     pile.spawn(move || { sleep(Duration::from_millis(delay)); delay });
/// }
/// // Spawn order, not finishing order.
/// assert_eq!(pile.collect::<Vec<_>>(), [30, 10, 20]);
/// ```
pub struct GreenPile<T> {
    pool: GreenPool,
    /// Spawned green threads in spawn order; `None` marks a spawn that
    /// unwound while it waited for a slot (it wakes a blocked `next`).
    threads: Queue<Option<GreenThread<T>>>,
    /// Spawns in progress: started and not yet in `threads`.
    spawning: Rc<Cell<usize>>,
}

impl<T: 'static> GreenPile<T> {
    /// A pile on a pool of its own of `size` green threads.
    ///
    /// ```
    /// let pile = eventlet_rt::GreenPile::<u8>::new(10);
    /// assert_eq!(pile.pool().size(), 10);
    /// ```
    pub fn new(size: usize) -> GreenPile<T> {
        GreenPile::with_pool(&GreenPool::new(size))
    }

    /// A pile whose work runs in `pool`, shared with whoever else uses it.
    ///
    /// ```
    /// let pool = eventlet_rt::GreenPool::new(2);
    /// let squares = eventlet_rt::GreenPile::with_pool(&pool);
    /// for n in 0..5 {
    ///     squares.spawn(move || n * n);
    /// }
    /// assert_eq!(squares.collect::<Vec<_>>(), [0, 1, 4, 9, 16]);
    /// ```
    pub fn with_pool(pool: &GreenPool) -> GreenPile<T> {
        GreenPile {
            pool: pool.clone(),
            threads: Queue::new(),
            spawning: Rc::new(Cell::new(0)),
        }
    }

    /// Runs `f` in a green thread of the pile's pool; its result comes out
    /// of the iteration in spawn order. Blocks while the pool is full.
    ///
    /// A spawn that ends by an unwind while it waits for a slot (kill,
    /// [`with_timeout`](crate::with_timeout)) adds nothing to the pile.
    ///
    /// ```
    /// let pile = eventlet_rt::GreenPile::new(1);
    /// pile.spawn(|| 'a');
    /// pile.spawn(|| 'b'); // waits for the first one to finish
    /// assert_eq!(pile.collect::<String>(), "ab");
    /// ```
    pub fn spawn<F>(&self, f: F)
    where
        F: FnOnce() -> T + 'static,
    {
        self.spawning.set(self.spawning.get() + 1);
        let mut in_progress = SpawnInProgress {
            pile: self,
            thread: None,
        };
        in_progress.thread = Some(self.pool.spawn(f));
    }

    /// The pool the pile's work runs in.
    ///
    /// ```
    /// let pool = eventlet_rt::GreenPool::new(3);
    /// let pile = eventlet_rt::GreenPile::<()>::with_pool(&pool);
    /// assert_eq!(pile.pool().size(), 3);
    /// ```
    pub fn pool(&self) -> &GreenPool {
        &self.pool
    }
}

/// Ends a spawn: adds its green thread to the pile, or, when the spawn
/// unwound, a marker that lets a blocked `next` re-check.
struct SpawnInProgress<'a, T> {
    pile: &'a GreenPile<T>,
    thread: Option<GreenThread<T>>,
}

impl<T> Drop for SpawnInProgress<'_, T> {
    fn drop(&mut self) {
        let spawning = &self.pile.spawning;
        spawning.set(spawning.get() - 1);
        self.pile.threads.put(self.thread.take());
    }
}

impl<T: 'static> Iterator for GreenPile<T> {
    type Item = T;

    /// The next result in spawn order, blocking until it is ready; `None`
    /// once every spawn's result has been yielded.
    fn next(&mut self) -> Option<T> {
        let thread = loop {
            let next = match self.threads.try_get() {
                Some(next) => next,
                None if self.spawning.get() == 0 => return None,
                // Blocks while the next spawn still waits for a pool slot.
                None => self.threads.get(),
            };
            if let Some(thread) = next {
                break thread;
            }
        };
        match thread.wait() {
            Ok(value) => Some(value),
            Err(GreenError::Panicked(payload)) => panic::resume_unwind(payload),
            Err(GreenError::Killed) => {
                panic!("GreenPile: the green thread computing this result was killed")
            }
            Err(error) => {
                panic!("GreenPile: the green thread computing this result failed: {error}")
            }
        }
    }
}

impl<T: 'static> Default for GreenPile<T> {
    /// A pile on its own pool of 1000, Eventlet's default.
    fn default() -> GreenPile<T> {
        GreenPile::with_pool(&GreenPool::default())
    }
}

impl<T> Clone for GreenPile<T> {
    fn clone(&self) -> GreenPile<T> {
        GreenPile {
            pool: self.pool.clone(),
            threads: self.threads.clone(),
            spawning: self.spawning.clone(),
        }
    }
}

impl<T> fmt::Debug for GreenPile<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GreenPile")
            .field("spawning", &self.spawning.get())
            .field("queued", &self.threads.len())
            .field("pool", &self.pool)
            .finish()
    }
}
