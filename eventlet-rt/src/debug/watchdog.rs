//! The watchdog thread and the probes it reads from each watched hub.

use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use super::reporter::Stall;
use crate::hub::SwitchObserver;

/// What a watched hub publishes for the watchdog at each switch.
pub(crate) struct HubProbe {
    /// The hub's OS thread, to be interrupted for a backtrace.
    thread: libc::pthread_t,
    threshold_nanos: AtomicU64,
    /// Bumped each time the hub resumes a green thread or gets control back.
    switches: AtomicU64,
    /// Nanoseconds since `epoch()` when the running green thread was resumed; 0 when none runs.
    running_since: AtomicU64,
    spawned_at: AtomicPtr<std::panic::Location<'static>>,
    name: Mutex<Option<Arc<str>>>,
    /// False once the hub's thread is ending: no more signals to it.
    alive: Mutex<bool>,
}

impl HubProbe {
    pub(crate) fn new(threshold: Duration) -> Arc<HubProbe> {
        let probe = Arc::new(HubProbe {
            // SAFETY: pthread_self has no preconditions.
            thread: unsafe { libc::pthread_self() },
            threshold_nanos: AtomicU64::new(nanos(threshold)),
            switches: AtomicU64::new(0),
            running_since: AtomicU64::new(0),
            spawned_at: AtomicPtr::new(std::ptr::null_mut()),
            name: Mutex::new(None),
            alive: Mutex::new(true),
        });
        registry()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Arc::downgrade(&probe));
        start_watchdog();
        probe
    }

    pub(crate) fn set_threshold(&self, threshold: Duration) {
        self.threshold_nanos
            .store(nanos(threshold), Ordering::Relaxed);
    }

    /// The hub is about to resume a green thread.
    fn entering(&self, name: Option<Arc<str>>, spawned_at: &'static std::panic::Location<'static>) {
        *self.name.lock().unwrap_or_else(|p| p.into_inner()) = name;
        self.spawned_at
            .store(std::ptr::from_ref(spawned_at).cast_mut(), Ordering::Relaxed);
        self.switches.fetch_add(1, Ordering::Relaxed);
        self.running_since
            .store(now_nanos().max(1), Ordering::Release);
    }

    /// The running green thread was renamed.
    fn rename(&self, name: Option<Arc<str>>) {
        *self.name.lock().unwrap_or_else(|p| p.into_inner()) = name;
    }

    /// The hub's thread stops being watched (or ends): never signal it again.
    fn retire(&self) {
        *self.alive.lock().unwrap_or_else(|p| p.into_inner()) = false;
    }

    /// The green thread gave the hub back.
    fn left(&self) {
        self.running_since.store(0, Ordering::Release);
        self.switches.fetch_add(1, Ordering::Relaxed);
    }
}

impl SwitchObserver for HubProbe {
    fn entering(&self, name: Option<Arc<str>>, spawned_at: &'static std::panic::Location<'static>) {
        HubProbe::entering(self, name, spawned_at);
    }

    fn left(&self) {
        HubProbe::left(self);
    }

    fn renamed(&self, name: Option<Arc<str>>) {
        self.rename(name);
    }

    fn detached(&self) {
        self.retire();
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_nanos() -> u64 {
    nanos(epoch().elapsed())
}

/// Probes of every watched hub of the process. A hub drops its probe when it
/// stops being watched or its thread ends, and the weak reference dies with it.
fn registry() -> &'static Mutex<Vec<Weak<HubProbe>>> {
    static PROBES: OnceLock<Mutex<Vec<Weak<HubProbe>>>> = OnceLock::new();
    PROBES.get_or_init(|| Mutex::new(Vec::new()))
}

fn start_watchdog() {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        std::thread::Builder::new()
            .name("eventlet-blocking-watchdog".into())
            .spawn(watch)
            .expect("eventlet-rt: cannot start the blocking-detection watchdog thread");
    });
}

/// The watchdog's loop: never ends; sleeps while no hub is watched.
fn watch() {
    // switches value already reported, per probe address
    let mut reported: Vec<(usize, u64)> = Vec::new();
    loop {
        let probes: Vec<Arc<HubProbe>> = {
            let mut registry = registry().lock().unwrap_or_else(|p| p.into_inner());
            registry.retain(|weak| weak.strong_count() > 0);
            registry.iter().filter_map(Weak::upgrade).collect()
        };
        let mut pause = Duration::from_millis(250);
        for probe in &probes {
            let threshold = probe.threshold_nanos.load(Ordering::Relaxed);
            pause = pause.min(Duration::from_nanos(threshold / 4).max(Duration::from_millis(1)));
            check(probe, threshold, &mut reported);
        }
        reported.retain(|(addr, _)| probes.iter().any(|p| Arc::as_ptr(p) as usize == *addr));
        drop(probes);
        std::thread::sleep(pause);
    }
}

/// Held by the watchdog while it checks a hub and hands a stall to the
/// reporter, so that [`flush_reports`] can wait for a check in progress.
static CHECKING: Mutex<()> = Mutex::new(());

/// Returns once every stall the watchdog has seen is reported: naming a
/// stack can take seconds when debug info loads for the first time, and a
/// program that stops watching and then exits must not lose a report.
pub(crate) fn flush_reports() {
    drop(CHECKING.lock().unwrap_or_else(|p| p.into_inner()));
    super::reporter::flush();
}

fn check(probe: &Arc<HubProbe>, threshold: u64, reported: &mut Vec<(usize, u64)>) {
    let _checking = CHECKING.lock().unwrap_or_else(|p| p.into_inner());
    if !*probe.alive.lock().unwrap_or_else(|p| p.into_inner()) {
        return; // no longer watched
    }
    let since = probe.running_since.load(Ordering::Acquire);
    let switches = probe.switches.load(Ordering::Relaxed);
    if since == 0 || now_nanos().saturating_sub(since) < threshold {
        return;
    }
    let key = Arc::as_ptr(probe) as usize;
    if reported.contains(&(key, switches)) {
        return;
    }
    reported.retain(|(addr, _)| *addr != key);
    reported.push((key, switches));
    let held = Duration::from_nanos(now_nanos().saturating_sub(since));
    let frames = super::capture::stack_of(
        || super::capture::interrupt(probe.thread, &probe.alive),
        Duration::from_millis(500),
    );
    let name = probe.name.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let spawned_at = probe.spawned_at.load(Ordering::Relaxed);
    // The green thread may have yielded before its stack and name were
    // recorded; then they may belong to another one.
    if probe.switches.load(Ordering::Relaxed) != switches {
        return;
    }
    // SAFETY: a non-null pointer came from a `&'static Location` in `entering`.
    let spawned_at = unsafe { spawned_at.as_ref() };
    // Naming the stack is slow: the reporter does it, so the watchdog goes
    // on sampling and sees the next stall even while a report is written.
    super::reporter::send(Stall {
        name,
        spawned_at,
        held,
        frames,
    });
}
