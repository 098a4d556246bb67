//! Every core: one hub per core, green threads that never move, `Send`
//! bridges between the hubs.
//!
//! A hub runs on one OS thread, and its green threads never leave it: that
//! is what keeps `Rc`, `RefCell` and thread-local storage sound inside green
//! threads. To use more than one core, run one hub per core and give each its
//! own work, the thread-per-core design of Seastar, glommio, monoio and
//! TechEmpower's fastest hyper entries. [`Hubs`] starts the threads
//! (`eventlet-hub-0`, `eventlet-hub-1`, ...); a [`HubHandle`] starts green
//! threads on one of them from anywhere, and [`serve`] puts a server on all of
//! them, each hub with its own `SO_REUSEPORT` listener, so the kernel spreads
//! the connections and no lock is shared on the accept path.
//!
//! ```
//! use eventlet_rt::hubs::Hubs;
//!
//! let hubs = Hubs::new(2)?;
//! let squares: Vec<_> = (0..8u64)
//!     .map(|n| hubs.handle(n as usize % hubs.len()).spawn(move || n * n))
//!     .collect();
//! let total: u64 = squares.into_iter().map(|s| s.wait().unwrap()).sum();
//! assert_eq!(total, 140);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # When it is the right model
//! Thread-per-core fits work that splits into many independent pieces that
//! each stay on one core from start to end: connections of a server, shards
//! of a cache, partitions of a stream. Within a hub nothing is shared across
//! threads (no locks, no atomics, `Rc` everywhere) and a connection's data
//! stays in one core's caches. It is the wrong model when one piece is much
//! heavier than the rest, or when pieces need each other's data all the time.
//!
//! # What it costs
//! - **No balancing.** Green threads never migrate: a hub that got the heavy
//!   connections is not helped by the idle ones. `SO_REUSEPORT` spreads
//!   connections by a hash of their addresses, not by load, so a few
//!   long-lived heavy clients can land on the same hub while another core
//!   idles. A work-stealing runtime (tokio's `multi_thread`) balances that
//!   case better; thread-per-core wins when the load is many similar
//!   connections.
//! - **A stall stalls one hub.** A green thread that blocks its OS thread
//!   (a blocking call, a long computation) stops every green thread of its
//!   hub; the other hubs go on serving.
//! - **Crossing costs a wake-up, or a spin.** A [`HubHandle::spawn`] or a
//!   [`green::mpsc`](crate::green::mpsc) message that wakes a green thread
//!   of another hub locks a mutex and posts to that hub's inbox. A hub that
//!   had remote posts lately spins on its inbox for a few microseconds
//!   before it blocks, so a quick back-and-forth costs about a microsecond
//!   per round trip when both hubs have a core. Otherwise the post writes
//!   the hub's eventfd and wakes a sleeping thread: a system call and a
//!   wake-up of the other core, 10 to 60 us per hop on a small VM (more when
//!   the machine is idle and its cores sleep deeply; see `BENCHMARKS.md`),
//!   against well under a microsecond for [`Queue`](crate::Queue) and
//!   [`spawn`](crate::spawn()) within a hub. Spinning costs CPU (at most
//!   one short spin per remote post, backing off when spins find nothing),
//!   and does not help when every core is busy. Cross the hubs with batches
//!   of work, not with every small step.
//! - **A busy hub reads its inbox when it polls**: when it runs out of
//!   runnable green threads, and at least every 61 switches. Remote spawns and
//!   wake-ups wait behind a hub's local work, never ahead of it.
//! - One `epoll` instance, stack pool and run queue per hub: memory grows
//!   with the number of hubs.
//!
//! # Moving work between hubs
//! - [`HubHandle::spawn`] starts a `Send` closure as a green thread on a
//!   given hub; [`RemoteGreenThread::wait`] parks only the calling green
//!   thread (or blocks a plain OS thread) until it ends.
//! - [`green::mpsc`](crate::green::mpsc) channels are `Send`: hand a
//!   `Sender` to each hub to fan messages in, or give each hub a `Receiver`
//!   and keep the `Sender`s to fan out (the `chat_server` example does).
//! - Sockets stay on the hub that opened them: pass work (the bytes, a
//!   request), not the connection.
//! - [`tpool`](crate::tpool) is still the place for blocking calls.

mod handle;
mod inbox;
mod oneshot;
mod serve;

use std::fmt;
use std::io;
use std::sync::Arc;
use std::thread::JoinHandle;

pub use handle::{HubHandle, RemoteGreenThread, RemoteJoin};
pub(crate) use serve::reuseport_listeners;
pub use serve::{serve, serve_on, serve_on_with_pool};

use inbox::{Inbox, Job};
use oneshot::Promise;

/// One hub per OS thread, several threads: see the [module docs](self).
///
/// Dropping `Hubs` shuts every hub down the way a thread's exit does: green
/// threads still running are killed (their destructors run), and every hub
/// thread has ended when the drop returns. A hub stuck in a blocking call
/// delays the drop until the call returns. A green thread that teardown
/// abandons (its destructor still blocked after the grace period, see
/// [`hub::set_teardown_grace_period`](crate::hub::set_teardown_grace_period))
/// ends with [`GreenError::Killed`](crate::GreenError::Killed) for
/// [`RemoteGreenThread::wait`].
///
/// Dropped on one of its own hubs (the last `Arc<Hubs>` held by a green
/// thread there, or by a handler that a kill unwinds), the drop cannot wait
/// for that hub's thread, which is the caller: it shuts the other hubs down
/// and waits for them as above, and leaves its own hub to shut down as soon
/// as that hub's loop regains control, once the calling green thread yields
/// or ends (the calling green thread is then killed like the others). The
/// drop never joins its own thread, so it neither panics nor aborts there.
///
/// ```
/// use std::time::Duration;
///
/// struct Noisy;
/// impl Drop for Noisy {
///     fn drop(&mut self) {
///         println!("cleaned up");
///     }
/// }
///
/// let hubs = eventlet_rt::hubs::Hubs::new(2)?;
/// let sleeper = hubs.handle(0).spawn(|| {
///     let _guard = Noisy;
///     eventlet_rt::sleep(Duration::from_secs(3600));
/// });
/// drop(hubs); // the sleeper is killed; "cleaned up" is printed
/// assert!(sleeper.wait().unwrap_err().is_killed());
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Hubs {
    hubs: Vec<HubThread>,
}

struct HubThread {
    handle: HubHandle,
    thread: Option<JoinHandle<()>>,
}

impl Hubs {
    /// Starts `threads` hubs, each on its own OS thread named
    /// `eventlet-hub-{i}`; see [`Hubs::builder`] for more settings.
    ///
    /// # Errors
    /// When an OS thread or a hub's poller cannot be created.
    ///
    /// # Panics
    /// If `threads` is 0.
    ///
    /// ```
    /// let hubs = eventlet_rt::hubs::Hubs::new(3)?;
    /// assert_eq!(hubs.len(), 3);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(threads: usize) -> io::Result<Hubs> {
        Hubs::builder().threads(threads).build()
    }

    /// A [`Builder`] with the defaults: one hub per available core, not
    /// pinned, the default green stack size.
    ///
    /// ```
    /// let hubs = eventlet_rt::hubs::Hubs::builder().build()?;
    /// assert_eq!(
    ///     hubs.len(),
    ///     std::thread::available_parallelism().map_or(1, |n| n.get())
    /// );
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// How many hubs there are.
    ///
    /// ```
    /// assert_eq!(eventlet_rt::hubs::Hubs::new(2)?.len(), 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.hubs.len()
    }

    /// Always false: there is at least one hub.
    ///
    /// ```
    /// assert!(!eventlet_rt::hubs::Hubs::new(1)?.is_empty());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.hubs.is_empty()
    }

    /// A handle to hub `index`, to start green threads there.
    ///
    /// # Panics
    /// If `index` is not below [`len`](Hubs::len).
    ///
    /// ```
    /// let hubs = eventlet_rt::hubs::Hubs::new(2)?;
    /// let on_1 = hubs.handle(1).spawn(|| std::thread::current().name().unwrap().to_owned());
    /// assert_eq!(on_1.wait().unwrap(), "eventlet-hub-1");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn handle(&self, index: usize) -> HubHandle {
        match self.hubs.get(index) {
            Some(hub) => hub.handle.clone(),
            None => panic!(
                "eventlet-rt: Hubs::handle({index}) with {} hubs: use an index below Hubs::len()",
                self.hubs.len()
            ),
        }
    }

    /// Waits until no green thread is left on any hub: those started with
    /// [`HubHandle::spawn`] and every green thread they spawned. Green
    /// threads that `spawn_after` has not started yet do not count.
    ///
    /// Parks only the calling green thread (or blocks a plain OS thread).
    /// Called from a green thread of one of these hubs it never returns, as
    /// that green thread itself is left: call it from outside.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// use std::time::Duration;
    ///
    /// let hubs = eventlet_rt::hubs::Hubs::new(2)?;
    /// let done = Arc::new(AtomicUsize::new(0));
    /// for i in 0..4 {
    ///     let done = done.clone();
    ///     hubs.handle(i % 2).spawn(move || {
    ///         // A local green thread, spawned on the hub: joined too.
    ///         eventlet_rt::spawn_n(move || {
    ///             eventlet_rt::sleep(Duration::from_millis(10));
    ///             done.fetch_add(1, Ordering::SeqCst);
    ///         });
    ///     });
    /// }
    /// hubs.join();
    /// assert_eq!(done.load(Ordering::SeqCst), 4);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn join(&self) {
        let answers: Vec<_> = self
            .hubs
            .iter()
            .map(|hub| {
                let (promise, answer) = Promise::new();
                hub.handle.inbox.post(Job::Join(promise));
                answer
            })
            .collect();
        for answer in answers {
            // A hub that died has no green thread left either.
            let _ = answer.take();
        }
    }
}

impl Drop for Hubs {
    fn drop(&mut self) {
        for hub in &self.hubs {
            hub.handle.inbox.post(Job::Shutdown);
        }
        let me = std::thread::current().id();
        for hub in &mut self.hubs {
            match hub.thread.take() {
                // The caller's own hub: it takes its `Shutdown` when its loop
                // runs again; dropping the handle detaches the thread.
                Some(thread) if thread.thread().id() == me => drop(thread),
                // A hub thread that panicked has printed why; it is gone either way.
                Some(thread) => {
                    let _ = thread.join();
                }
                None => {}
            }
        }
    }
}

impl fmt::Debug for Hubs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hubs").field("len", &self.len()).finish()
    }
}

/// Settings for [`Hubs`]: threads, pinning, green stack size.
///
/// ```
/// let hubs = eventlet_rt::hubs::Hubs::builder()
///     .threads(2)
///     .pin_to_cores(true)
///     .stack_size(256 * 1024)
///     .build()?;
/// let stack = hubs.handle(0).spawn(eventlet_rt::hub::default_stack_size);
/// assert_eq!(stack.wait().unwrap(), 256 * 1024);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Builder {
    threads: Option<usize>,
    pin_to_cores: bool,
    stack_size: Option<usize>,
}

impl Builder {
    /// How many hubs (OS threads) to start; the default is
    /// [`std::thread::available_parallelism`].
    ///
    /// # Panics
    /// If `threads` is 0.
    ///
    /// ```
    /// let hubs = eventlet_rt::hubs::Hubs::builder().threads(2).build()?;
    /// assert_eq!(hubs.len(), 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn threads(mut self, threads: usize) -> Builder {
        assert!(
            threads > 0,
            "eventlet-rt: hubs::Builder::threads(0): at least one hub is needed"
        );
        self.threads = Some(threads);
        self
    }

    /// Pins hub `i` to the `i`-th CPU this process may run on (wrapping
    /// around), with `sched_setaffinity`. Off by default: pinning pays when
    /// the machine runs little else, and hurts when other processes need
    /// those cores.
    ///
    /// ```
    /// let hubs = eventlet_rt::hubs::Hubs::builder().threads(1).pin_to_cores(true).build()?;
    /// assert_eq!(hubs.handle(0).spawn(|| 7).wait().unwrap(), 7);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn pin_to_cores(mut self, pin: bool) -> Builder {
        self.pin_to_cores = pin;
        self
    }

    /// The default stack size, in bytes, of green threads on these hubs
    /// (what [`hub::set_default_stack_size`](crate::hub::set_default_stack_size)
    /// sets on each). The hub threads' own stacks keep std's default.
    ///
    /// # Panics
    /// In [`build`](Builder::build), if `bytes` is below
    /// [`MIN_STACK_SIZE`](crate::MIN_STACK_SIZE).
    ///
    /// ```
    /// let hubs = eventlet_rt::hubs::Hubs::builder().threads(1).stack_size(256 * 1024).build()?;
    /// let size = hubs.handle(0).spawn(eventlet_rt::hub::default_stack_size).wait().unwrap();
    /// assert_eq!(size, 256 * 1024);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = Some(bytes);
        self
    }

    /// Starts the hubs; returns once each has its poller and is waiting for
    /// work.
    ///
    /// # Errors
    /// When an OS thread, a hub's poller or the pinning fails; the hubs
    /// started so far are shut down.
    ///
    /// ```
    /// let hubs = eventlet_rt::hubs::Hubs::builder().threads(2).build()?;
    /// hubs.join();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn build(self) -> io::Result<Hubs> {
        if let Some(bytes) = self.stack_size {
            assert!(
                bytes >= crate::MIN_STACK_SIZE,
                "eventlet-rt: hubs::Builder::stack_size({bytes}) is below MIN_STACK_SIZE ({})",
                crate::MIN_STACK_SIZE
            );
        }
        let threads = self.threads.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        });
        let cpus = if self.pin_to_cores {
            allowed_cpus()?
        } else {
            Vec::new()
        };
        let mut hubs = Hubs {
            hubs: Vec::with_capacity(threads),
        };
        for index in 0..threads {
            let cpu = (!cpus.is_empty()).then(|| cpus[index % cpus.len()]);
            hubs.hubs.push(start_hub(index, cpu, self.stack_size)?);
        }
        Ok(hubs)
    }
}

/// Starts hub `index` and waits until it is ready (or failed to start).
fn start_hub(index: usize, cpu: Option<usize>, stack_size: Option<usize>) -> io::Result<HubThread> {
    let inbox = Arc::new(Inbox::new());
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let thread_inbox = inbox.clone();
    let thread = std::thread::Builder::new()
        .name(format!("eventlet-hub-{index}"))
        .spawn(move || {
            let ready = set_up_hub(cpu, stack_size);
            let failed = ready.is_err();
            let _ = ready_tx.send(ready);
            if !failed {
                inbox::run(&thread_inbox);
            }
        })?;
    let ready = ready_rx.recv().unwrap_or_else(|_| {
        Err(io::Error::other(
            "eventlet-rt: a hub thread ended before it was ready",
        ))
    });
    let hub = HubThread {
        handle: HubHandle { inbox, index },
        thread: Some(thread),
    };
    match ready {
        Ok(()) => Ok(hub),
        Err(error) => {
            drop(Hubs { hubs: vec![hub] });
            Err(error)
        }
    }
}

/// On the new hub thread: pins it, creates its hub, sets its stack size.
fn set_up_hub(cpu: Option<usize>, stack_size: Option<usize>) -> io::Result<()> {
    if let Some(cpu) = cpu {
        pin_current_thread(cpu)?;
    }
    // Creating the hub creates its poller, which can fail (descriptors).
    std::panic::catch_unwind(|| {
        crate::hub::stats();
        if let Some(bytes) = stack_size {
            crate::hub::set_default_stack_size(bytes);
        }
    })
    .map_err(|payload| {
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_else(|| "eventlet-rt: cannot start a hub".to_owned());
        io::Error::other(message)
    })
}

/// The CPUs this process may run on, in order.
fn allowed_cpus() -> io::Result<Vec<usize>> {
    // SAFETY: a zeroed cpu_set_t is an empty set, a valid value.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid cpu_set_t of the size given.
    if unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) } != 0
    {
        return Err(io::Error::last_os_error());
    }
    Ok((0..libc::CPU_SETSIZE as usize)
        // SAFETY: `cpu` is below CPU_SETSIZE, the set's capacity.
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .collect())
}

/// Binds the calling thread to `cpu`.
fn pin_current_thread(cpu: usize) -> io::Result<()> {
    // SAFETY: a zeroed cpu_set_t is an empty set, a valid value.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `cpu` comes from `allowed_cpus`, so it is below CPU_SETSIZE.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` is a valid cpu_set_t of the size given; pid 0 is the calling thread.
    if unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
