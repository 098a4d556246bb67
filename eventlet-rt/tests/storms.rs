//! Kill storms and timeout storms: 100,000 green threads blocked in `sleep`,
//! `Queue::get`, a socket read and `Semaphore::acquire`, killed or timed out
//! at random while items, permits and bytes arrive. Every destructor runs
//! exactly once, no item or permit is lost or handed out twice, and every
//! counter returns to zero.
//!
//! `EVENTLET_STORM_THREADS` sets the number of green threads (default 100,000).

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::rc::Rc;
use std::time::Duration;

use eventlet_rt::green::net::{TcpListener, TcpStream};
use eventlet_rt::{
    GreenError, GreenThread, Queue, Semaphore, SemaphoreGuard, TimedOut, hub, sleep, spawn,
    with_timeout, yield_now,
};

const DEFAULT_THREADS: usize = 100_000;
/// Socket readers each hold a connected pair of descriptors, so they are far
/// fewer than the others: 2,000 pairs stay well inside a 20,000-descriptor limit.
const SOCKET_READERS: usize = 2_000;
const FOREVER: Duration = Duration::from_secs(3600);

/// A seeded xorshift generator: the storm is random but reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Counts the drops of each green thread's guard, by green thread.
struct Guard {
    id: usize,
    drops: Rc<RefCell<Vec<u8>>>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.drops.borrow_mut()[self.id] += 1;
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Block {
    Sleep,
    QueueGet,
    SocketRead,
    Acquire,
}

/// What the storm does to a green thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    /// Killed before it ever runs.
    KilledUnstarted,
    /// Killed while blocked (or, for a queue or semaphore, served first).
    Killed,
    /// Wrapped in `with_timeout` of 1 to 100 ms.
    TimedOut(Duration),
    /// Its sleep ends, its byte arrives, or an item or permit is offered.
    Served,
}

/// What a green thread that was not killed returns.
#[derive(Debug)]
enum Outcome {
    Slept,
    Got(usize),
    Read(u8),
    /// The permit is kept until the end, where permits are counted.
    Acquired(SemaphoreGuard),
}

struct World {
    queue: Queue<usize>,
    semaphore: Semaphore,
}

fn block(world: &World, what: Block, fate: Fate, socket: Option<TcpStream>) -> Outcome {
    match what {
        Block::Sleep => {
            sleep(if fate == Fate::Served {
                Duration::from_millis(5)
            } else {
                FOREVER
            });
            Outcome::Slept
        }
        Block::QueueGet => Outcome::Got(world.queue.get()),
        Block::SocketRead => {
            let mut byte = [0];
            let n = socket.unwrap().read(&mut byte).unwrap();
            assert_eq!(n, 1);
            Outcome::Read(byte[0])
        }
        Block::Acquire => Outcome::Acquired(world.semaphore.acquire()),
    }
}

/// Raises vm.max_map_count when running as root; returns how many green
/// threads can be live at once (two kernel maps per stack).
fn live_threads_allowed(wanted: usize) -> usize {
    let limit: usize = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(65530);
    let needed = 2 * wanted + 10_000;
    if limit >= needed
        || std::fs::write(
            "/proc/sys/vm/max_map_count",
            needed.max(262_144).to_string(),
        )
        .is_ok()
    {
        return wanted;
    }
    let fits = (limit - 10_000) / 2;
    eprintln!(
        "vm.max_map_count is {limit} and cannot be raised here: storming {fits} green threads \
         instead of {wanted}"
    );
    fits
}

fn socket_pairs(n: usize) -> Vec<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    (0..n)
        .map(|_| {
            let client = TcpStream::connect(addr).unwrap();
            let (server, _) = listener.accept().unwrap();
            (client, server)
        })
        .collect()
}

#[test]
fn kill_and_timeout_storms_run_every_destructor_once_and_lose_nothing() {
    let wanted: usize = std::env::var("EVENTLET_STORM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_THREADS);
    let threads = live_threads_allowed(wanted);
    let mut rng = Rng(0x5EED_2026_0006);
    let baseline = hub::stats();

    let world = Rc::new(World {
        queue: Queue::new(),
        semaphore: Semaphore::new(0),
    });
    let readers = SOCKET_READERS.min(threads / 10);
    let mut pairs = socket_pairs(readers).into_iter();
    let sockets_registered = hub::stats().io_sources;
    let drops = Rc::new(RefCell::new(vec![0u8; threads]));

    let mut plan = Vec::with_capacity(threads);
    let mut handles: Vec<GreenThread<Result<Outcome, TimedOut>>> = Vec::with_capacity(threads);
    let mut writers = Vec::new();
    for id in 0..threads {
        let what = match rng.below(3) {
            _ if id % (threads / readers) == 0 && writers.len() < readers => Block::SocketRead,
            0 => Block::Sleep,
            1 => Block::QueueGet,
            _ => Block::Acquire,
        };
        let fate = match rng.below(100) {
            0..=1 => Fate::KilledUnstarted,
            2..=41 => Fate::Killed,
            42..=81 => Fate::TimedOut(Duration::from_millis(1 + rng.below(100))),
            _ => Fate::Served,
        };
        let socket = (what == Block::SocketRead).then(|| {
            let (client, server) = pairs.next().unwrap();
            writers.push((id, client));
            server
        });
        let guard = Guard {
            id,
            drops: drops.clone(),
        };
        let world = world.clone();
        let gt = spawn(move || {
            let _guard = guard;
            match fate {
                Fate::TimedOut(limit) => with_timeout(limit, || block(&world, what, fate, socket)),
                _ => Ok(block(&world, what, fate, socket)),
            }
        });
        if fate == Fate::KilledUnstarted {
            gt.kill();
        }
        plan.push((what, fate));
        handles.push(gt);
    }
    assert_eq!(
        pairs.next().map(|_| ()),
        None,
        "every socket pair has a reader"
    );
    let unstarted = plan
        .iter()
        .filter(|(_, f)| *f == Fate::KilledUnstarted)
        .count();
    assert_eq!(
        drops.borrow().iter().filter(|&&d| d == 1).count(),
        unstarted,
        "killing an unstarted green thread drops its closure at once"
    );
    yield_now(); // every green thread starts and blocks
    let stats = hub::stats();
    assert_eq!(stats.live_green_threads, threads - unstarted, "{stats:?}");
    assert_eq!(
        stats.io_waiters,
        readers
            - count(&plan, |w, f| w == Block::SocketRead
                && f == Fate::KilledUnstarted)
    );

    // The storm: kills, items, permits and bytes in random order, while the
    // timeouts fire on their own.
    let mut actions: Vec<usize> = (0..threads)
        .filter(|&id| matches!(plan[id].1, Fate::Killed | Fate::Served))
        .collect();
    for i in (1..actions.len()).rev() {
        actions.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let mut items_put = 0;
    let mut permits_added = 0;
    let writers: std::collections::HashMap<usize, TcpStream> = writers.into_iter().collect();
    for (step, &id) in actions.iter().enumerate() {
        match plan[id] {
            (_, Fate::Killed) => handles[id].kill(),
            (Block::QueueGet, _) => {
                world.queue.put(items_put);
                items_put += 1;
            }
            (Block::Acquire, _) => {
                world.semaphore.add_permits(1);
                permits_added += 1;
            }
            (Block::SocketRead, _) => (&writers[&id]).write_all(&[id as u8]).unwrap(),
            (Block::Sleep, _) => {}
        }
        if step % 64 == 0 {
            yield_now();
        }
    }

    // The timed ones, the sleepers and the readers end on their own. What is
    // still blocked then (served ones whose item or permit went to a green
    // thread that was killed or timed out first) is swept by a last kill.
    let mut outcomes: Vec<Option<Result<Result<Outcome, TimedOut>, GreenError>>> =
        (0..threads).map(|_| None).collect();
    let mut handles: Vec<Option<_>> = handles.into_iter().map(Some).collect();
    for (id, slot) in handles.iter_mut().enumerate() {
        let ends_alone = match plan[id] {
            (_, Fate::TimedOut(_)) => true,
            (Block::Sleep | Block::SocketRead, fate) => fate == Fate::Served,
            _ => false,
        };
        if ends_alone {
            outcomes[id] = Some(slot.take().unwrap().wait());
        }
    }
    for gt in handles.iter().flatten() {
        gt.kill();
    }
    for (id, slot) in handles.into_iter().enumerate() {
        if let Some(gt) = slot {
            outcomes[id] = Some(gt.wait());
        }
    }
    let mut got = BTreeSet::new();
    let (mut killed, mut timed_out) = (0, 0);
    let mut acquired = Vec::new();
    for (id, outcome) in outcomes.into_iter().enumerate() {
        let (what, fate) = plan[id];
        let outcome = outcome.unwrap();
        let queued_item_or_permit =
            matches!(outcome, Ok(Ok(Outcome::Got(_) | Outcome::Acquired(_))));
        match outcome {
            Err(GreenError::Killed) => {
                killed += 1;
                assert!(
                    matches!(fate, Fate::Killed | Fate::KilledUnstarted)
                        || matches!(what, Block::QueueGet | Block::Acquire),
                    "green thread {id} ({what:?}, {fate:?}) was killed"
                );
            }
            Err(error) => panic!("green thread {id} failed: {error}"),
            Ok(Err(TimedOut)) => {
                timed_out += 1;
                assert!(matches!(fate, Fate::TimedOut(_)), "{id}: {what:?} {fate:?}");
            }
            Ok(Ok(Outcome::Slept)) => assert_eq!(fate, Fate::Served, "{id}"),
            Ok(Ok(Outcome::Read(byte))) => {
                assert_eq!((fate, byte), (Fate::Served, id as u8), "{id}")
            }
            Ok(Ok(Outcome::Got(item))) => assert!(got.insert(item), "item {item} handed out twice"),
            Ok(Ok(Outcome::Acquired(permit))) => acquired.push(permit),
        }
        // A queue or semaphore serves its longest waiter, whatever its fate
        // (but one killed before it started never waited).
        assert!(
            !queued_item_or_permit || fate != Fate::KilledUnstarted,
            "{id} never started yet was served"
        );
    }
    while let Some(item) = world.queue.try_get() {
        assert!(got.insert(item), "item {item} both taken and left");
    }
    assert_eq!(
        got,
        (0..items_put).collect::<BTreeSet<_>>(),
        "an item was lost"
    );
    assert_eq!(
        acquired.len() + world.semaphore.available(),
        permits_added,
        "a permit was lost or doubled"
    );
    let taken = acquired.len();
    drop(acquired);
    assert_eq!(
        world.semaphore.available(),
        permits_added,
        "every permit came back"
    );
    let never_destroyed = drops.borrow().iter().filter(|&&d| d != 1).count();
    assert_eq!(never_destroyed, 0, "guards not dropped exactly once");
    assert!(killed >= count(&plan, |_, f| f == Fate::KilledUnstarted));
    assert!(
        killed > threads / 4 && timed_out > threads / 4,
        "{killed} killed, {timed_out} timed out"
    );

    assert_eq!((world.queue.getting(), world.semaphore.waiting()), (0, 0));
    let stats = hub::stats();
    assert_eq!(stats.live_green_threads, 0, "{stats:?}");
    assert_eq!(stats.queued, 0, "{stats:?}");
    assert_eq!(stats.timers, 0, "{stats:?}");
    assert_eq!(stats.io_waiters, 0, "{stats:?}");
    assert_eq!(
        stats.io_sources,
        sockets_registered - readers,
        "the readers' ends are closed, the writers' still open: {stats:?}"
    );
    drop(writers);
    assert_eq!(hub::stats().io_sources, baseline.io_sources);
    eprintln!(
        "{threads} green threads ({readers} socket readers): {killed} killed, {timed_out} timed \
         out, {} items and {} permits taken, none lost",
        got.len(),
        taken
    );
}

fn count(plan: &[(Block, Fate)], pick: impl Fn(Block, Fate) -> bool) -> usize {
    plan.iter().filter(|&&(w, f)| pick(w, f)).count()
}
