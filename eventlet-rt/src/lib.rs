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
//!   their destructors run, and keeps driving timers and sockets while those
//!   destructors block (a polite close), for a grace period
//!   ([`hub::set_teardown_grace_period`], 1 s); what is still blocked then is
//!   abandoned and named on stderr.
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
//! [`green`](mod@green) mirrors std's blocking modules (`net`, `thread`, `sync`)
//! with versions that park only the calling green thread; [`tpool`] runs
//! what cannot be made green on OS threads. Two default-on cargo features
//! add TLS and HTTP:
//! - `tls`: [`green::tls`](mod@green::tls), client and server TLS streams on rustls (its
//!   `ring` provider, `webpki-roots` as the default trust store);
//! - `http`: [`http::agent()`], a ready `ureq` agent whose connects, reads,
//!   writes and DNS lookups are green, for `http://` and `https://` alike;
//!   and [`http::Server`], an HTTP/1.1 server whose handler is a plain
//!   blocking function from a request to a response (Eventlet's `wsgi`).
//!
//! # Async crates
//! [`block_on`] waits on any future from a green thread (or the main
//! context), parking only it; `#[green]` writes `.await` as that. The cargo
//! feature `tokio` (off by default) gives every hub a tokio `current_thread`
//! runtime, entered for all green code of its thread and driven by the hub's
//! own loop, so tokio-bound clients (tokio-postgres, sqlx, reqwest...) work
//! from blocking-style code with no runtime to set up, and
//! [`RemoteGreenThread`](hubs::RemoteGreenThread) is a future that async
//! code can await. The README's "Async crates" section has the details and
//! the limits.
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
//! start ends with [`GreenError::StackRefused`], whose message names
//! `vm.max_map_count`, the live count and the fix (as root:
//! `sysctl -w vm.max_map_count=262144`). The hub prints that message once per
//! burst of refusals, then the burst's count.
//!
//! # Debugging
//! Green threads are cooperative, so the usual failures are a green thread
//! that never yields, one that waits for something that never comes, and
//! leaks (sockets, timers, green threads) that pile up over months. The
//! runtime gives Eventlet's aids for each:
//!
//! - **Names.** [`Builder::name`] or, later, [`GreenThread::set_name`] (a
//!   handler can name itself after its client). Names show in `Debug`, in
//!   the snapshot, in blocking reports and in `tracing` spans; unnamed green
//!   threads are known by where they were spawned
//!   ([`GreenThread::spawned_at`]).
//! - **Snapshot.** [`hub::snapshot`] lists the unfinished green threads of
//!   the calling thread's hub with their state (running, runnable, blocked,
//!   not started) and spawn site (for pool and `serve` green threads, the
//!   user's `spawn` or `serve` call), its sockets by descriptor with the
//!   green threads waiting on each, and the hub's counters; its `Display` is
//!   a table to print when a server seems stuck.
//! - **Counters.** [`hub::stats`] is cheap enough for a metrics endpoint:
//!   live green threads, the run queue, armed timers, registered sockets,
//!   green threads blocked on sockets or on the thread pool, stacks. Tests
//!   use it to prove that nothing leaks.
//! - **Blocking detector.** [`debug::blocking_detection`] reports any green
//!   thread that holds the hub longer than a threshold without yielding
//!   (real blocking calls, long computations), with its name, spawn site and
//!   backtrace. Off by default, and free when off.
//! - **`tracing`.** When a subscriber enables them, each green thread runs in
//!   a `green_thread` span (level `DEBUG`, target `eventlet_rt::greenthread`,
//!   fields `name` and `spawned_at`), entered each time it is resumed and
//!   exited each time it blocks, so its events land in its span even while
//!   green threads interleave; [`Builder::span`] picks another span. [`serve`]
//!   runs each handler in a `connection` span (target `eventlet_rt::serve`,
//!   field `peer`). Green threads that end with an error emit a `DEBUG` event
//!   (target `eventlet_rt::greenthread`); a panicking `link` callback an
//!   `ERROR` event (same target); the blocking detector a `WARN` event
//!   (target `eventlet_rt::blocking`). Without a subscriber, reports go to
//!   stderr. Spans cost a check of `tracing`'s level filter per spawn when
//!   no subscriber wants them, and nothing per switch. Do not hold a span
//!   guard of your own across a green blocking call: another green thread
//!   would run inside it; give the green thread its span with
//!   [`Builder::span`] instead.
//!
//! ```
//! use std::time::Duration;
//! use eventlet_rt::hub::{self, GreenThreadState};
//!
//! let before = hub::stats();
//! let worker = eventlet_rt::Builder::new()
//!     .name("fetcher")
//!     .spawn(|| eventlet_rt::sleep(Duration::from_millis(50)));
//! eventlet_rt::yield_now(); // it starts and blocks in sleep
//! let picture = hub::snapshot();
//! assert_eq!(picture.count(GreenThreadState::Blocked), 1);
//! assert_eq!(picture.stats.timers, before.timers + 1);
//! println!("{picture}"); // "1 green thread (0 running, 0 runnable, 1 blocked, ..."
//! worker.wait().unwrap();
//! let after = hub::stats();
//! assert_eq!(after.live_green_threads, before.live_green_threads);
//! assert_eq!(after.timers, before.timers, "no timer left behind");
//! ```
//!
//! ## Where panics go
//! - In a green thread's body: to whoever calls [`GreenThread::wait`]
//!   ([`GreenError::Panicked`] with the payload); a [`spawn_n()`] green
//!   thread's panic is only printed by the panic hook. The hub and the other
//!   green threads go on.
//! - In a [`GreenPool::imap`] function: re-raised by the iterator's `next`,
//!   at the item's position, in the green thread that iterates; the pool
//!   stays usable.
//! - In a [`serve`] handler: its connection closes, the server goes on.
//! - In a [`GreenThread::link`] callback: the outcome is already decided, so
//!   the panic is reported (see `tracing` above) and the other links run. A
//!   link added after the end runs at once and panics in its caller.
//! - In a destructor: when the body returns normally, the destructor's panic
//!   becomes the outcome; when an unstarted green thread is killed, its
//!   closure is dropped in the killer, and a panic there also becomes the
//!   killed green thread's outcome (the killer is not disturbed). But a kill
//!   or a timeout unwinds a started green thread's stack, and Rust aborts the
//!   process when a destructor panics during an unwind ("panic in a
//!   destructor during cleanup"): no runtime can catch that. Destructors must
//!   not panic; one that might should catch its own panic.
//!
//! ## Operating limits
//! - `vm.max_map_count` caps live green threads (see above); raise it for
//!   more than about 32,000 at once.
//! - Every socket is a descriptor: a server with 10,000 connections needs
//!   `RLIMIT_NOFILE` (`ulimit -n`) above that; the default soft limit is
//!   often 1024. A server that runs out anyway keeps its connections and
//!   accepts again once some close ([`AcceptBackoff`], which [`serve`] uses).
//!   The listen backlog of [`listen`] is 1024 (capped by
//!   `net.core.somaxconn`); a server that takes bursts of thousands of
//!   connections can ask for more with [`listen_with_backlog`].
//! - A green TCP read that returns fewer bytes than it asked for is taken to
//!   have emptied the receive buffer, so the next read waits for the poller's
//!   next readable event instead of making a system call that would only say
//!   `WouldBlock` (tokio does the same). TCP urgent data (`MSG_OOB`), which
//!   can cut a read short before the urgent mark, is not supported: a reader
//!   behind an urgent byte waits for the peer's next bytes.
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
#![warn(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    clippy::undocumented_unsafe_blocks
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[doc(hidden)]
#[path = "macro_support.rs"]
pub mod __private;
mod coro;
pub mod debug;
mod event;
mod future;
pub mod green;
mod greenthread;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod http;
pub mod hub;
pub mod hubs;
#[cfg(target_os = "linux")]
mod patch;
mod pile;
mod pool;
pub mod queue;
mod semaphore;
mod serve;
mod signal_chain;
mod sleep;
mod stack_pool;
mod sync;
mod task;
mod timeout;
mod timer;
pub mod tpool;
mod tuning;
mod waiters;

pub use event::Event;
pub use eventlet_macros::{green, pool_imap, spawn, spawn_n};
pub use future::block_on;
pub use greenthread::{
    Builder, GreenError, GreenThread, StackRefused, spawn, spawn_after, spawn_n,
};
#[cfg(target_os = "linux")]
pub use patch::monkey_patch;
pub use pile::GreenPile;
pub use pool::{GreenPool, Imap};
pub use queue::{LifoQueue, PriorityQueue, Queue};
pub use semaphore::{Semaphore, SemaphoreGuard};
pub use serve::{AcceptBackoff, connect, listen, listen_with_backlog, serve, serve_with_pool};
pub use sleep::{sleep, yield_now};
pub use stack_pool::{DEFAULT_STACK_POOL_CAPACITY, DEFAULT_STACK_SIZE, MIN_STACK_SIZE};
pub use timeout::{TimedOut, with_timeout};
