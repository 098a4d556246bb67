//! Under `monkey_patch()`, std's `Mutex`, `RwLock` and `Once` waits in green
//! code park only the green thread, and the release (from a green thread of
//! any hub, or a plain OS thread) resumes it.
//!
//! Each scenario runs on an OS thread of its own, with its own hub, and a
//! ticker green thread there: a wait that blocks the OS thread shows as no
//! tick between the wait's start and its end, and one that never ends (the
//! holder parked on the same OS thread) as a scenario that does not finish
//! within [`LIMIT`], a failed assert rather than a hung test.

use std::cell::RefCell;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::panic::{self, AssertUnwindSafe};
use std::process::Command;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Once, RwLock, mpsc};
use std::time::Duration;

use eventlet_rt::{monkey_patch, sleep, spawn, with_timeout};

/// How long a scenario may take before its hub counts as frozen.
const LIMIT: Duration = Duration::from_secs(60);

/// How long a holder keeps a lock: long enough for several ticks.
const HOLD: Duration = Duration::from_millis(300);

const TICK: Duration = Duration::from_millis(10);

/// Runs `scenario` on a fresh OS thread (its own hub) after patching;
/// fails if it does not finish within [`LIMIT`].
fn on_own_hub<T: Send + 'static>(scenario: impl FnOnce() -> T + Send + 'static) -> T {
    monkey_patch();
    let (done, outcome) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(panic::catch_unwind(AssertUnwindSafe(scenario)));
    });
    match outcome.recv_timeout(LIMIT) {
        Ok(Ok(value)) => value,
        Ok(Err(payload)) => panic::resume_unwind(payload),
        Err(_) => panic!("the scenario's hub froze: a std lock wait blocked its OS thread"),
    }
}

/// What happened, in order, on one hub.
#[derive(Clone, Default)]
struct Log(Rc<RefCell<Vec<String>>>);

impl Log {
    fn push(&self, event: impl Into<String>) {
        self.0.borrow_mut().push(event.into());
    }

    fn position(&self, event: &str) -> usize {
        self.0
            .borrow()
            .iter()
            .position(|seen| seen == event)
            .unwrap_or_else(|| panic!("no {event:?} in {:?}", self.0.borrow()))
    }

    fn has(&self, event: &str) -> bool {
        self.0.borrow().iter().any(|seen| seen == event)
    }

    /// Ticks logged between two events.
    fn ticks_between(&self, first: &str, last: &str) -> usize {
        let (first, last) = (self.position(first), self.position(last));
        assert!(first < last, "{first} before {last}: {:?}", self.0.borrow());
        self.0.borrow()[first..last]
            .iter()
            .filter(|event| *event == "tick")
            .count()
    }

    /// Starts a green thread that logs a tick every [`TICK`] until `stop`.
    fn ticker(&self, stop: Rc<std::cell::Cell<bool>>) -> eventlet_rt::GreenThread<()> {
        let log = self.clone();
        spawn(move || {
            while !stop.get() {
                log.push("tick");
                sleep(TICK);
            }
        })
    }
}

/// Green A holds a std `Mutex` while it waits for a socket read; green B
/// of the same hub locks it meanwhile and parks; A's release resumes B.
#[test]
fn a_green_thread_waits_for_a_std_mutex_that_a_parked_green_thread_of_its_hub_holds() {
    let log = on_own_hub(|| {
        let log = Log::default();
        let stop = Rc::new(std::cell::Cell::new(false));
        let ticker = log.ticker(stop.clone());
        let lock = Arc::new(Mutex::new(0));
        let (mut reader, mut writer) = UnixStream::pair().unwrap();
        let holder = {
            let (log, lock) = (log.clone(), lock.clone());
            spawn(move || {
                let mut held = lock.lock().unwrap();
                log.push("A locked");
                let mut byte = [0];
                reader.read_exact(&mut byte).unwrap(); // parks A, lock held
                *held += 1;
                log.push("A unlocks");
            })
        };
        let waiter = {
            let (log, lock) = (log.clone(), lock.clone());
            spawn(move || {
                log.push("B wants");
                *lock.lock().unwrap() += 10;
                log.push("B locked");
            })
        };
        sleep(HOLD);
        log.push("releasing A");
        writer.write_all(b"x").unwrap();
        holder.wait().unwrap();
        waiter.wait().unwrap();
        stop.set(true);
        ticker.wait().unwrap();
        assert_eq!(*lock.lock().unwrap(), 11);
        log.0.take()
    });
    let log = Log(Rc::new(RefCell::new(log)));
    assert!(log.position("A locked") < log.position("B wants"));
    assert!(log.position("A unlocks") < log.position("B locked"));
    assert!(
        log.ticks_between("B wants", "releasing A") >= 3,
        "the ticker kept its beat while B waited"
    );
}

/// A plain OS thread holds the lock; the green waiter parks, and the OS
/// thread's release (a `FUTEX_WAKE` from a thread without a hub) resumes it.
#[test]
fn a_std_mutex_released_by_a_plain_os_thread_resumes_its_green_waiter() {
    let lock = Arc::new(Mutex::new(Vec::new()));
    let held = lock.clone();
    let (locked, is_locked) = mpsc::channel();
    let holder = std::thread::spawn(move || {
        let mut guard = held.lock().unwrap();
        locked.send(()).unwrap();
        std::thread::sleep(HOLD);
        guard.push("holder");
    });
    is_locked.recv().unwrap();
    let log = on_own_hub(move || {
        let log = Log::default();
        let stop = Rc::new(std::cell::Cell::new(false));
        let ticker = log.ticker(stop.clone());
        sleep(TICK);
        log.push("wants");
        lock.lock().unwrap().push("green");
        log.push("locked");
        stop.set(true);
        ticker.wait().unwrap();
        assert_eq!(*lock.lock().unwrap(), ["holder", "green"]);
        log.0.take()
    });
    holder.join().unwrap();
    let log = Log(Rc::new(RefCell::new(log)));
    assert!(
        log.ticks_between("wants", "locked") >= 3,
        "the hub ran while its main context waited: {:?}",
        log.0.borrow()
    );
}

/// A green writer holds a std `RwLock` while parked: two green readers
/// park, and both resume at its release; then readers hold it and a green
/// writer parks until the last one leaves.
#[test]
fn std_rwlock_readers_and_writers_park_green_and_resume() {
    let log = on_own_hub(|| {
        let log = Log::default();
        let stop = Rc::new(std::cell::Cell::new(false));
        let ticker = log.ticker(stop.clone());
        let lock = Arc::new(RwLock::new(0));
        let writer = {
            let (log, lock) = (log.clone(), lock.clone());
            spawn(move || {
                let mut held = lock.write().unwrap();
                log.push("W locked");
                sleep(HOLD);
                *held = 1;
                log.push("W unlocks");
            })
        };
        let readers: Vec<_> = (0..2)
            .map(|i| {
                let (log, lock) = (log.clone(), lock.clone());
                spawn(move || {
                    log.push(format!("R{i} wants"));
                    let value = *lock.read().unwrap();
                    log.push(format!("R{i} read {value}"));
                })
            })
            .collect();
        writer.wait().unwrap();
        for reader in readers {
            reader.wait().unwrap();
        }
        let holders: Vec<_> = (0..2)
            .map(|i| {
                let (log, lock) = (log.clone(), lock.clone());
                spawn(move || {
                    let _held = lock.read().unwrap();
                    log.push(format!("H{i} reads"));
                    sleep(HOLD);
                    log.push(format!("H{i} leaves"));
                })
            })
            .collect();
        let second_writer = {
            let (log, lock) = (log.clone(), lock.clone());
            spawn(move || {
                log.push("V wants");
                *lock.write().unwrap() = 2;
                log.push("V wrote");
            })
        };
        for holder in holders {
            holder.wait().unwrap();
        }
        second_writer.wait().unwrap();
        stop.set(true);
        ticker.wait().unwrap();
        assert_eq!(*lock.read().unwrap(), 2);
        log.0.take()
    });
    let log = Log(Rc::new(RefCell::new(log)));
    for i in 0..2 {
        assert!(log.position("W unlocks") < log.position(&format!("R{i} read 1")));
        assert!(log.position(&format!("H{i} leaves")) < log.position("V wrote"));
    }
    assert!(log.ticks_between("R1 wants", "W unlocks") >= 3);
    assert!(log.ticks_between("V wants", "H1 leaves") >= 3);
}

/// A std `Once` whose initialiser parks (a green sleep) in one green thread:
/// a second green thread's `call_once` parks until it is done.
#[test]
fn a_std_once_initialised_by_a_parked_green_thread_parks_its_other_callers() {
    let log = on_own_hub(|| {
        let log = Log::default();
        let stop = Rc::new(std::cell::Cell::new(false));
        let ticker = log.ticker(stop.clone());
        let once = Arc::new(Once::new());
        let value = Arc::new(AtomicU32::new(0));
        let initialiser = {
            let (log, once, value) = (log.clone(), once.clone(), value.clone());
            spawn(move || {
                once.call_once(|| {
                    log.push("init starts");
                    sleep(HOLD);
                    value.store(7, Ordering::Relaxed);
                    log.push("init ends");
                });
            })
        };
        let caller = {
            let (log, once, value) = (log.clone(), once.clone(), value.clone());
            spawn(move || {
                log.push("caller wants");
                once.call_once(|| unreachable!("initialised twice"));
                log.push(format!("caller sees {}", value.load(Ordering::Relaxed)));
            })
        };
        initialiser.wait().unwrap();
        caller.wait().unwrap();
        stop.set(true);
        ticker.wait().unwrap();
        log.0.take()
    });
    let log = Log(Rc::new(RefCell::new(log)));
    assert!(log.position("init starts") < log.position("caller wants"));
    assert!(log.position("init ends") < log.position("caller sees 7"));
    assert!(log.ticks_between("caller wants", "init ends") >= 3);
}

/// A green thread holding the lock parks for [`HOLD`]; returns the lock,
/// the log and the holder, once the holder has the lock.
fn held_by_a_parked_green_thread(log: &Log) -> (Arc<Mutex<()>>, eventlet_rt::GreenThread<()>) {
    let lock = Arc::new(Mutex::new(()));
    let holder = {
        let (log, lock) = (log.clone(), lock.clone());
        spawn(move || {
            let _held = lock.lock().unwrap();
            log.push("holder locked");
            sleep(HOLD);
            log.push("holder unlocks");
        })
    };
    eventlet_rt::yield_now();
    assert!(log.has("holder locked"));
    (lock, holder)
}

/// A kill of a green thread parked in a std lock wait cannot unwind it out
/// of std's `lock` (which cannot fail): it gets the lock when the holder
/// releases it, and unwinds at its next green blocking point.
#[test]
fn a_killed_waiter_takes_the_lock_and_unwinds_at_its_next_green_block() {
    let log = on_own_hub(|| {
        let log = Log::default();
        let stop = Rc::new(std::cell::Cell::new(false));
        let ticker = log.ticker(stop.clone());
        let (lock, holder) = held_by_a_parked_green_thread(&log);
        let waiter = {
            let (log, lock) = (log.clone(), lock.clone());
            spawn(move || {
                log.push("waiter wants");
                drop(lock.lock().unwrap());
                log.push("waiter locked");
                sleep(TICK); // the pending kill unwinds here
                log.push("waiter went on");
            })
        };
        sleep(HOLD / 3);
        log.push("kill");
        waiter.kill();
        let killed = waiter.wait().unwrap_err().is_killed();
        holder.wait().unwrap();
        stop.set(true);
        ticker.wait().unwrap();
        assert!(killed);
        assert!(!lock.is_poisoned());
        log.0.take()
    });
    let log = Log(Rc::new(RefCell::new(log)));
    assert!(log.position("kill") < log.position("holder unlocks"));
    assert!(log.position("holder unlocks") < log.position("waiter locked"));
    assert!(!log.has("waiter went on"));
    assert!(log.ticks_between("kill", "holder unlocks") >= 3);
}

/// A `with_timeout` that runs out while its green thread waits for a std
/// lock: the lock is taken when released, and the timeout unwinds the scope
/// at its next green blocking point.
#[test]
fn a_timeout_of_a_parked_waiter_lands_at_its_next_green_block() {
    let log = on_own_hub(|| {
        let log = Log::default();
        let stop = Rc::new(std::cell::Cell::new(false));
        let ticker = log.ticker(stop.clone());
        let (lock, holder) = held_by_a_parked_green_thread(&log);
        let waiter = {
            let (log, lock) = (log.clone(), lock.clone());
            spawn(move || {
                log.push("waiter wants");
                with_timeout(HOLD / 3, || {
                    drop(lock.lock().unwrap());
                    log.push("waiter locked");
                    sleep(TICK);
                    log.push("scope went on");
                })
            })
        };
        let outcome = waiter.wait().unwrap();
        holder.wait().unwrap();
        stop.set(true);
        ticker.wait().unwrap();
        assert_eq!(outcome, Err(eventlet_rt::TimedOut));
        log.0.take()
    });
    let log = Log(Rc::new(RefCell::new(log)));
    assert!(log.position("holder unlocks") < log.position("waiter locked"));
    assert!(!log.has("scope went on"));
    assert!(log.ticks_between("waiter wants", "holder unlocks") >= 3);
}

/// A child forked (`pre_exec`) while a green thread waits in the table
/// makes futex calls of its own and runs; the waiter still gets its lock.
#[test]
fn a_child_forked_while_green_threads_wait_still_runs() {
    on_own_hub(|| {
        let log = Log::default();
        let (lock, holder) = held_by_a_parked_green_thread(&log);
        let waiter = {
            let lock = lock.clone();
            spawn(move || drop(lock.lock().unwrap()))
        };
        eventlet_rt::yield_now();
        let word = Arc::new(AtomicU32::new(0));
        let child_word = word.clone();
        let child_lock = Arc::new(Mutex::new(0));
        let mut command = Command::new("true");
        // SAFETY: the closure makes system calls only (a futex wake, an
        // uncontended lock), and touches no state another thread held.
        unsafe {
            command.pre_exec(move || {
                libc::syscall(
                    libc::SYS_futex,
                    child_word.as_ptr(),
                    libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                    1,
                );
                *child_lock.lock().unwrap() += 1;
                Ok(())
            })
        };
        let status = command.status().unwrap();
        assert!(status.success(), "{status}");
        waiter.wait().unwrap();
        holder.wait().unwrap();
        assert_eq!(word.load(Ordering::Relaxed), 0);
    });
}

/// Fifty green threads contend for one std `Mutex` whose holder parks each
/// time: each gets it in turn, alone, and the ticker keeps ticking.
#[test]
fn fifty_green_threads_take_turns_at_a_std_mutex_whose_holder_parks() {
    let log = on_own_hub(|| {
        let log = Log::default();
        let stop = Rc::new(std::cell::Cell::new(false));
        let ticker = log.ticker(stop.clone());
        let lock = Arc::new(Mutex::new(0u32));
        let inside = Arc::new(AtomicBool::new(false));
        log.push("start");
        let workers: Vec<_> = (0..50)
            .map(|_| {
                let (lock, inside) = (lock.clone(), inside.clone());
                spawn(move || {
                    let mut held = lock.lock().unwrap();
                    assert!(!inside.swap(true, Ordering::Relaxed), "two holders at once");
                    sleep(Duration::from_millis(2));
                    *held += 1;
                    inside.store(false, Ordering::Relaxed);
                })
            })
            .collect();
        for worker in workers {
            worker.wait().unwrap();
        }
        log.push("end");
        stop.set(true);
        ticker.wait().unwrap();
        assert_eq!(*lock.lock().unwrap(), 50);
        log.0.take()
    });
    let log = Log(Rc::new(RefCell::new(log)));
    assert!(log.ticks_between("start", "end") >= 5);
}

/// Waits until the OS thread `tid` of this process sleeps in a futex wait
/// (its current system call, as `/proc` shows it, is `futex`).
fn until_in_futex_wait(tid: libc::pid_t) {
    let path = format!("/proc/self/task/{tid}/syscall");
    let futex = format!("{} ", libc::SYS_futex);
    for _ in 0..LIMIT.as_millis() {
        if std::fs::read_to_string(&path).is_ok_and(|now| now.starts_with(&futex)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("thread {tid} never waited on a futex");
}

/// A hub torn down (its thread exits) while one of its green threads waits
/// for a std lock abandons that green thread, never to run again; its place
/// among the lock's waiters goes with it, so the release's wake-up reaches
/// a plain OS thread that waits for the lock in the kernel.
#[test]
fn a_green_waiter_abandoned_by_its_hubs_teardown_takes_no_wake_up() {
    monkey_patch();
    let lock = Arc::new(Mutex::new(0));
    let held = lock.lock().unwrap();
    let hub_thread = {
        let lock = lock.clone();
        std::thread::spawn(move || {
            eventlet_rt::hub::set_teardown_grace_period(Duration::from_millis(50));
            let waiter = spawn(move || *lock.lock().unwrap() += 1);
            eventlet_rt::yield_now();
            assert!(!waiter.is_finished(), "the green waiter parked");
            // Thread exit: teardown kills the waiter, which goes on waiting
            // for the lock, and abandons it after the grace period.
        })
    };
    hub_thread.join().unwrap();
    let (tid_sender, tid) = mpsc::channel();
    let (locked_sender, locked) = mpsc::channel();
    let os_waiter = {
        let lock = lock.clone();
        std::thread::spawn(move || {
            // SAFETY: no preconditions.
            tid_sender.send(unsafe { libc::gettid() }).unwrap();
            *lock.lock().unwrap() += 10;
            locked_sender.send(()).unwrap();
        })
    };
    until_in_futex_wait(tid.recv().unwrap());
    drop(held);
    assert!(
        locked.recv_timeout(LIMIT).is_ok(),
        "the release's wake-up went to the abandoned green waiter"
    );
    os_waiter.join().unwrap();
    assert_eq!(*lock.lock().unwrap(), 10);
}

/// Makes system calls through libc's `syscall` (the hook after patching)
/// that the hook does not take over, with fewer than six arguments, and
/// checks libc's results: 64-bit values, and -1 with `errno`.
fn syscalls_keep_libc_results() {
    let errno = || std::io::Error::last_os_error().raw_os_error();
    let word = AtomicU32::new(1);
    let word = word.as_ptr();
    let private = libc::FUTEX_PRIVATE_FLAG;
    // SAFETY: each call's arguments are valid for it; the mapping is this
    // function's own.
    unsafe {
        assert_eq!(libc::syscall(libc::SYS_getpid), libc::getpid().into());
        let size = 1 << 16;
        let prot = libc::PROT_READ | libc::PROT_WRITE;
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS;
        let mapped = libc::syscall(libc::SYS_mmap, 0, size, prot, flags, -1, 0);
        assert!(
            mapped > i64::from(u32::MAX),
            "a 64-bit address: {mapped:#x}"
        );
        *(mapped as *mut u8) = 7;
        assert_eq!(libc::syscall(libc::SYS_munmap, mapped, size), 0);
        assert_eq!(libc::syscall(libc::SYS_close, -1), -1);
        assert_eq!(errno(), Some(libc::EBADF));
        let wait = libc::FUTEX_WAIT | private;
        assert_eq!(libc::syscall(libc::SYS_futex, word, wait, 0, 0), -1);
        assert_eq!(errno(), Some(libc::EAGAIN), "the word is 1, not 0");
        let soon = libc::timespec {
            tv_sec: 0,
            tv_nsec: 1_000_000,
        };
        assert_eq!(libc::syscall(libc::SYS_futex, word, wait, 1, &soon), -1);
        assert_eq!(errno(), Some(libc::ETIMEDOUT));
        let wake = libc::FUTEX_WAKE | private;
        assert_eq!(
            libc::syscall(libc::SYS_futex, word, wake, 1),
            0,
            "nobody waits"
        );
        let invalid = libc::FUTEX_WAIT_BITSET | private;
        assert_eq!(
            libc::syscall(libc::SYS_futex, word, invalid, 1, 0, 0, 0),
            -1
        );
        assert_eq!(errno(), Some(libc::EINVAL), "a bitset of 0");
    }
}

/// Calls the `syscall` hook does not take over get libc's results, on a
/// plain OS thread and in green code alike.
#[test]
fn other_syscalls_through_the_hook_keep_libc_results_and_errno() {
    monkey_patch();
    syscalls_keep_libc_results();
    on_own_hub(|| {
        spawn(syscalls_keep_libc_results).wait().unwrap();
        syscalls_keep_libc_results();
    });
}

/// A hub torn down while one of its green threads holds a std lock
/// (parked) and another waits for it: the holder, killed, lets the lock go
/// as it unwinds, and the waiter still gets it before the hub is gone.
#[test]
fn at_teardown_a_green_waiter_gets_the_lock_its_killed_green_holder_lets_go() {
    monkey_patch();
    let lock = Arc::new(Mutex::new(()));
    let got_it = Arc::new(AtomicBool::new(false));
    let hub_thread = {
        let (lock, got_it) = (lock.clone(), got_it.clone());
        std::thread::spawn(move || {
            let holder = {
                let lock = lock.clone();
                spawn(move || {
                    let _held = lock.lock().unwrap();
                    sleep(LIMIT);
                })
            };
            let waiter = spawn(move || {
                let _held = lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                got_it.store(true, Ordering::Relaxed);
            });
            eventlet_rt::yield_now();
            assert!(!holder.is_finished() && !waiter.is_finished());
            // Thread exit: teardown kills both.
        })
    };
    hub_thread.join().unwrap();
    assert!(got_it.load(Ordering::Relaxed), "the waiter got the lock");
    assert!(
        lock.try_lock()
            .is_err_and(|error| matches!(error, std::sync::TryLockError::Poisoned(_)))
    );
}
