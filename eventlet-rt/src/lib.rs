//! Eventlet's green threads for Rust.
//!
//! Write plain blocking-style code — sleep, wait, read a socket — and run
//! thousands of such *green threads* on one OS thread, cooperatively, with no
//! locks.
//!
//! # The model
//! - Every OS thread has its own **hub**, created on first use: an event loop
//!   over `mio` with timers and a FIFO run queue. Green threads never move
//!   between OS threads.
//! - Code outside any green thread is the thread's **main** context. When it
//!   blocks on a green primitive ([`sleep`], [`GreenThread::wait`], a queue, a
//!   socket...), the hub runs the other green threads on its stack until the
//!   main context can go on. A `#[test]` or a plain `fn main` needs no set-up.
//! - Green threads are stackful coroutines (the `generator` crate). They give
//!   the hub up only inside green primitives: nothing is preempted, so shared
//!   data needs no locks (`Rc<RefCell<..>>` is the normal way to share).
//!   Spawned closures need `'static`, not `Send`.
//! - A panic inside a green thread ends that green thread only; it comes back
//!   from [`GreenThread::wait`] as [`GreenError::Panicked`].
//! - [`GreenThread::kill`] and [`with_timeout`] unwind the target's stack from
//!   its blocking point: destructors run, nothing leaks. A kill is sticky:
//!   code that catches the unwind is unwound again at its next blocking point.
//! - When the OS thread ends, its hub kills the green threads still alive so
//!   their destructors run.
//!
//! ```
//! use std::time::Duration;
//! use eventlet_rt::{spawn, sleep};
//!
//! let greeters: Vec<_> = ["Ada", "Grace", "Linus"]
//!     .into_iter()
//!     .map(|name| spawn(move || {
//!         sleep(Duration::from_millis(10));
//!         format!("hello, {name}")
//!     }))
//!     .collect();
//! let greetings: Vec<String> = greeters.into_iter().map(|gt| gt.wait().unwrap()).collect();
//! assert_eq!(greetings, ["hello, Ada", "hello, Grace", "hello, Linus"]);
//! ```
//!
//! # Green I/O
//! [`green`](mod@green) mirrors std's blocking modules (`net`, `thread`, `sync::mpsc`)
//! with versions that park only the calling green thread; [`tpool`] runs
//! what cannot be made green on OS threads. Two default-on cargo features
//! add TLS and HTTP:
//! - `tls`: [`green::tls`](mod@green::tls), client and server TLS streams on rustls (its
//!   `ring` provider, `webpki-roots` as the default trust store);
//! - `http`: [`http::agent()`], a ready `ureq` agent whose connects, reads,
//!   writes and DNS lookups are green, for `http://` and `https://` alike.
//!
//! # Stacks and their limits
//! Each green thread gets a stack of [`DEFAULT_STACK_SIZE`] (128 KiB) when it
//! first runs, with a guard page below it; a green thread spawned but not yet
//! started holds no stack. Finished stacks are pooled and reused, so a spawn
//! in steady state maps nothing. Only touched pages use memory.
//!
//! An overflow hits the guard page and ends the process with a message that
//! names the cause; give such code more stack with [`Builder::stack_size`] or
//! [`hub::set_default_stack_size`].
//!
//! Every live stack is two kernel memory maps (the stack and its guard page),
//! and Linux caps a process at `vm.max_map_count` maps (65530 by default), so
//! about 32,000 green threads can be *live* (started, not finished) at once.
//! Past that the kernel refuses new stacks: the green thread that could not
//! start ends with [`GreenError::Panicked`] and a message naming
//! `vm.max_map_count`, the live count and the fix (as root:
//! `sysctl -w vm.max_map_count=262144`).
//!
//! # What the `generator` crate asks of its users, and how the runtime keeps to it
//! - A suspended coroutine may hold values whose addresses belong to this OS
//!   thread (thread-local storage, `Rc`s): coroutines must never be resumed on
//!   another thread. The hub is thread-local, owns every coroutine, and has no
//!   way to hand one to another thread; green handles are `!Send`.
//! - `generator` bodies are asked to be `Send` only so that a generator could
//!   move between threads; since ours never do, the runtime wraps its non-`Send`
//!   bodies in one audited `unsafe impl Send` (in `coro.rs`).
//! - Dropping a suspended generator cancels it with an unwind that must reach
//!   the bottom of its stack: the runtime's catch at the green thread boundary
//!   re-raises it, and kills use the runtime's own unwind instead.

mod coro;
pub mod debug;
mod event;
pub mod green;
mod greenthread;
#[cfg(feature = "http")]
pub mod http;
pub mod hub;
mod pile;
mod pool;
pub mod queue;
mod semaphore;
mod serve;
mod sleep;
mod stack_pool;
mod task;
mod timeout;
pub mod tpool;
mod waiters;

pub use event::Event;
pub use eventlet_macros::{green, pool_imap, spawn, spawn_n};
pub use greenthread::{Builder, GreenError, GreenThread, spawn, spawn_after, spawn_n};
pub use pile::GreenPile;
pub use pool::{GreenPool, Imap};
pub use queue::{LifoQueue, PriorityQueue, Queue};
pub use semaphore::{Semaphore, SemaphoreGuard};
pub use serve::{connect, listen, serve, serve_with_pool};
pub use sleep::{sleep, yield_now};
pub use stack_pool::{DEFAULT_STACK_POOL_CAPACITY, DEFAULT_STACK_SIZE, MIN_STACK_SIZE};
pub use timeout::{TimedOut, with_timeout};
