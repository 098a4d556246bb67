//! Which futex waits are std's lock waits: found once, at `monkey_patch()`,
//! by making each of them happen.
//!
//! A futex wait says nothing of the word it waits on: std's `Mutex` and a
//! per-OS-thread parker built on a condvar (tokio's, crossbeam's) look the
//! same to the kernel, and only the first may park per green thread. What
//! tells them apart is the call site: std's `Mutex`, `RwLock` and `Once` wait
//! from their own contended paths (`lock_contended`, `read_contended`,
//! `write_contended`, `Once::call`), one place each in the executable. So
//! each is provoked on scratch OS threads (a lock held by one thread, wanted
//! by another) while the `syscall` hook notes the return address of the wait
//! on that lock's own bytes; only waits from the noted sites are taken over.
//!
//! Fails safe: a site that is not seen within [`LIMIT`] (another std, a
//! libc that std does not reach through `syscall`, a static build) stays
//! unknown, and its waits block the OS thread as before; a debug trace says
//! so.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once, RwLock};
use std::time::{Duration, Instant};

/// How long a provoked wait may take to show before its site is given up.
const LIMIT: Duration = Duration::from_secs(2);

/// The lock waits known: std's `Mutex`, `RwLock` read, `RwLock` write,
/// `Once`; 0 for not found.
static SITES: [AtomicUsize; 4] = [const { AtomicUsize::new(0) }; 4];

/// The bytes of the lock being provoked (start and end; 0 when none).
static PROBE: [AtomicUsize; 2] = [const { AtomicUsize::new(0) }; 2];
/// The return address of the wait seen on the lock being provoked.
static SEEN: AtomicUsize = AtomicUsize::new(0);

/// Whether a futex wait returning to `site` is one of std's lock waits.
#[inline]
pub(super) fn is_lock_wait(site: usize) -> bool {
    site != 0
        && SITES
            .iter()
            .any(|known| known.load(Ordering::Relaxed) == site)
}

/// Notes, while a lock is being provoked, a futex wait on its bytes.
#[inline]
pub(super) fn note_wait(site: usize, address: usize) {
    let start = PROBE[0].load(Ordering::Relaxed);
    if start != 0 && (start..PROBE[1].load(Ordering::Relaxed)).contains(&address) {
        let _ = SEEN.compare_exchange(0, site, Ordering::Release, Ordering::Relaxed);
    }
}

/// Finds the sites, on a scratch OS thread of its own (the caller may be
/// green code: the probes block OS threads).
pub(super) fn calibrate() {
    let found = std::thread::Builder::new()
        .name("eventlet-futex-calibration".into())
        .spawn(find_sites)
        .ok()
        .and_then(|finder| finder.join().ok())
        .unwrap_or_default();
    for (slot, site) in SITES.iter().zip(found) {
        slot.store(site, Ordering::Relaxed);
    }
    let names = ["Mutex", "RwLock::read", "RwLock::write", "Once"];
    let missing: Vec<_> = names
        .iter()
        .zip(found)
        .filter(|(_, site)| *site == 0)
        .map(|(name, _)| *name)
        .collect();
    if missing.is_empty() {
        tracing::debug!(
            target: "eventlet_rt::patch",
            "monkey_patch: std's Mutex, RwLock and Once futex waits park green threads"
        );
    } else {
        tracing::debug!(
            target: "eventlet_rt::patch",
            ?missing,
            "monkey_patch: these std futex waits were not seen through libc's `syscall`; \
             they block the OS thread as before"
        );
    }
}

fn find_sites() -> [usize; 4] {
    let mut sites = [0; 4];
    let mutex = Mutex::new(());
    sites[0] = provoke(
        &mutex,
        |until_seen| {
            let _held = mutex.lock();
            until_seen();
        },
        || drop(mutex.lock()),
    );
    if sites[0] == 0 {
        // Waits do not come through the hook at all: spare the others' time.
        return sites;
    }
    let rwlock = RwLock::new(());
    sites[1] = provoke(
        &rwlock,
        |until_seen| {
            let _held = rwlock.write();
            until_seen();
        },
        || drop(rwlock.read()),
    );
    sites[2] = provoke(
        &rwlock,
        |until_seen| {
            let _held = rwlock.read();
            until_seen();
        },
        || drop(rwlock.write()),
    );
    let once = Once::new();
    sites[3] = provoke(
        &once,
        |until_seen| once.call_once(until_seen),
        || {
            once.call_once(|| {});
        },
    );
    sites
}

/// Holds `lock` (in `hold`, which calls the function it is given while it
/// holds it) while a second thread runs `contend`, which waits for it;
/// returns the site of that wait, or 0.
fn provoke<L>(
    lock: &L,
    hold: impl FnOnce(&mut dyn FnMut()),
    contend: impl FnOnce() + Send,
) -> usize {
    let start = lock as *const L as usize;
    SEEN.store(0, Ordering::Relaxed);
    PROBE[1].store(start + size_of::<L>(), Ordering::Relaxed);
    PROBE[0].store(start, Ordering::Release);
    std::thread::scope(|scope| {
        let mut contend = Some(contend);
        hold(&mut || {
            if let Some(contend) = contend.take() {
                scope.spawn(contend);
            }
            let give_up = Instant::now() + LIMIT;
            while SEEN.load(Ordering::Acquire) == 0 && Instant::now() < give_up {
                std::thread::sleep(Duration::from_millis(1));
            }
        });
    });
    PROBE[0].store(0, Ordering::Relaxed);
    SEEN.load(Ordering::Acquire)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_that_does_not_come_through_the_hook_leaves_its_site_unknown() {
        // No hook is installed in this test binary: the contended wait goes
        // to libc directly, so nothing is noted and no site is taken over.
        let mutex = Mutex::new(());
        let site = provoke(
            &mutex,
            |until_seen| {
                let _held = mutex.lock();
                until_seen();
            },
            || drop(mutex.lock()),
        );
        assert_eq!(site, 0);
        assert!(!is_lock_wait(0));
    }

    #[test]
    fn only_waits_on_the_provoked_lock_are_noted() {
        let lock = [0u32; 4];
        let start = lock.as_ptr() as usize;
        SEEN.store(0, Ordering::Relaxed);
        PROBE[1].store(start + size_of_val(&lock), Ordering::Relaxed);
        PROBE[0].store(start, Ordering::Release);
        note_wait(0x1234, start + size_of_val(&lock));
        assert_eq!(SEEN.load(Ordering::Relaxed), 0, "past the lock's bytes");
        note_wait(0x5678, start + 4);
        note_wait(0x9abc, start + 8);
        assert_eq!(SEEN.load(Ordering::Relaxed), 0x5678, "the first wait seen");
        PROBE[0].store(0, Ordering::Relaxed);
        SEEN.store(0, Ordering::Relaxed);
    }
}
