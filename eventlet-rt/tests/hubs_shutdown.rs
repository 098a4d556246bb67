//! Dropping `Hubs` while green threads on every hub are blocked in sleeps,
//! queue waits, socket reads, remote waits and channel receives: every
//! destructor runs exactly once and no OS thread is left behind. One test in
//! its own binary: threads are counted for the whole process.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use eventlet_rt::green::mpsc;
use eventlet_rt::hubs::Hubs;
use eventlet_rt::{Queue, sleep, spawn};

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

/// Counts its drops.
struct Guard(Arc<AtomicUsize>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

const HUBS: usize = 3;
/// Green threads per hub: one per way of blocking below.
const BLOCKED_PER_HUB: usize = 5;

#[test]
fn dropping_hubs_with_blocked_green_threads_runs_every_destructor_once_and_ends_every_thread() {
    let before = threads();
    let hubs = Hubs::new(HUBS).unwrap();
    assert_eq!(threads(), before + HUBS);
    let drops = Arc::new(AtomicUsize::new(0));
    let (blocked_tx, blocked_rx) = mpsc::channel();
    // Kept open (never sent to) so receives on every hub stay blocked.
    let (_never_tx, never_rx) = mpsc::channel::<()>();
    let never_rx = Arc::new(std::sync::Mutex::new(Some(never_rx)));
    for index in 0..HUBS {
        let next_hub = hubs.handle((index + 1) % HUBS);
        let (drops, blocked) = (drops.clone(), blocked_tx.clone());
        let never_rx = never_rx.clone();
        hubs.handle(index).spawn(move || {
            let block = |name: &'static str, body: Box<dyn FnOnce()>| {
                let (drops, blocked) = (drops.clone(), blocked.clone());
                spawn(move || {
                    let _guard = Guard(drops);
                    blocked.send(name).unwrap();
                    body();
                    unreachable!("{name} returned: only the shutdown should end it");
                });
            };
            block("sleep", Box::new(|| sleep(Duration::from_secs(3600))));
            let queue = Queue::<u8>::new();
            block(
                "queue",
                Box::new(move || {
                    let _ = queue.get();
                }),
            );
            let listener = eventlet_rt::listen("127.0.0.1:0").unwrap();
            let mut client = eventlet_rt::connect(listener.local_addr().unwrap()).unwrap();
            let (server_side, _) = listener.accept().unwrap();
            block(
                "socket read",
                Box::new(move || {
                    let _keep = server_side;
                    let _ = client.read(&mut [0; 8]);
                }),
            );
            block(
                "remote wait",
                Box::new(move || {
                    let _ = next_hub.spawn(|| sleep(Duration::from_secs(3600))).wait();
                    // Its hub may shut down first, ending the wait with `Killed`.
                    sleep(Duration::from_secs(3600));
                }),
            );
            let receiver = never_rx.lock().unwrap().take();
            block(
                "channel receive",
                Box::new(move || match receiver {
                    Some(receiver) => drop(receiver.recv()),
                    None => sleep(Duration::from_secs(3600)),
                }),
            );
        });
    }
    drop(blocked_tx);
    let started: Vec<_> = blocked_rx.iter().take(HUBS * BLOCKED_PER_HUB).collect();
    assert_eq!(started.len(), HUBS * BLOCKED_PER_HUB);
    // Let every one of them reach its blocking call (one that has not yet is
    // killed all the same: this only makes the test about blocked ones).
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(drops.load(Ordering::SeqCst), 0);

    drop(hubs);
    assert_eq!(drops.load(Ordering::SeqCst), HUBS * BLOCKED_PER_HUB);
    assert_eq!(threads(), before, "a hub thread was left behind");
}
