//! `block_on` without tokio: futures woken from this hub, another hub and
//! plain OS threads; many at once; kills, timeouts and panics while pending.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use eventlet_rt::{GreenError, TimedOut, block_on, hub, spawn, with_timeout};

/// A flag any thread can raise, and a future that is ready once it is.
#[derive(Clone, Default)]
struct Signal {
    state: Arc<Mutex<(bool, Vec<Waker>)>>,
    polls: Arc<AtomicUsize>,
}

impl Signal {
    fn raise(&self) {
        let wakers = {
            let mut state = self.state.lock().unwrap();
            state.0 = true;
            std::mem::take(&mut state.1)
        };
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Wakes the current waiters without raising the flag.
    fn nudge(&self) {
        let wakers = self.state.lock().unwrap().1.clone();
        wakers.into_iter().for_each(Waker::wake);
    }

    fn polls(&self) -> usize {
        self.polls.load(Ordering::SeqCst)
    }

    fn wait(&self) -> SignalWait {
        SignalWait {
            signal: self.clone(),
        }
    }
}

struct SignalWait {
    signal: Signal,
}

impl Future for SignalWait {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.signal.polls.fetch_add(1, Ordering::SeqCst);
        let mut state = self.signal.state.lock().unwrap();
        if state.0 {
            return Poll::Ready(());
        }
        if !state.1.iter().any(|w| w.will_wake(cx.waker())) {
            state.1.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// Sets its flag when dropped.
struct DropFlag(Rc<Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

#[test]
fn a_ready_future_gives_its_output_and_may_borrow_the_stack() {
    let words = [String::from("a"), "bb".into(), "ccc".into()];
    let total = block_on(async { words.iter().map(|w| w.len()).sum::<usize>() });
    assert_eq!(total, 6);
    assert_eq!(block_on(std::future::ready(7)), 7);
    assert_eq!(hub::stats().futures_waiting, 0);
    assert_eq!(
        hub::stats().remote_waits,
        0,
        "a ready future registers no wait"
    );
}

#[test]
fn a_future_woken_by_another_green_thread_parks_only_its_green_thread() {
    let signal = Signal::default();
    let order = Rc::new(std::cell::RefCell::new(Vec::new()));
    let waiter = {
        let (signal, order) = (signal.clone(), order.clone());
        spawn(move || {
            order.borrow_mut().push("waiting");
            block_on(signal.wait());
            order.borrow_mut().push("woken");
        })
    };
    let raiser = {
        let (signal, order) = (signal.clone(), order.clone());
        spawn(move || {
            for _ in 0..3 {
                eventlet_rt::yield_now();
                order.borrow_mut().push("other ran");
            }
            signal.raise();
        })
    };
    waiter.wait().unwrap();
    raiser.wait().unwrap();
    assert_eq!(
        *order.borrow(),
        ["waiting", "other ran", "other ran", "other ran", "woken"]
    );
    assert_eq!(signal.polls(), 2, "polled once pending, once when woken");
    let stats = hub::stats();
    assert_eq!((stats.futures_waiting, stats.remote_waits), (0, 0));
}

#[test]
fn a_future_woken_from_a_plain_os_thread_resumes_the_main_context() {
    let signal = Signal::default();
    let ticks = Rc::new(Cell::new(0));
    let ticker = {
        let ticks = ticks.clone();
        spawn(move || {
            loop {
                eventlet_rt::sleep(Duration::from_millis(2));
                ticks.set(ticks.get() + 1);
            }
        })
    };
    let raiser = {
        let signal = signal.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(60));
            signal.raise();
        })
    };
    block_on(signal.wait());
    assert!(
        ticks.get() >= 3,
        "the hub ran meanwhile: {} ticks",
        ticks.get()
    );
    ticker.kill();
    raiser.join().unwrap();
}

#[test]
fn wake_ups_that_pile_up_before_the_next_poll_cost_one_poll() {
    let signal = Signal::default();
    let waiter = {
        let signal = signal.clone();
        spawn(move || block_on(signal.wait()))
    };
    eventlet_rt::yield_now(); // it polls once and parks
    assert_eq!(signal.polls(), 1);
    for _ in 0..100 {
        signal.nudge();
    }
    eventlet_rt::yield_now(); // it polls again, once, and parks again
    assert_eq!(signal.polls(), 2);
    let other_thread = {
        let signal = signal.clone();
        std::thread::spawn(move || (0..100).for_each(|_| signal.nudge()))
    };
    other_thread.join().unwrap();
    signal.raise();
    waiter.wait().unwrap();
    assert_eq!(
        signal.polls(),
        3,
        "100 remote wake-ups and the raise: one more poll"
    );
}

#[test]
fn ten_thousand_futures_wait_at_once_on_one_hub() {
    const WAITERS: usize = 10_000;
    let signal = Signal::default();
    let done = Rc::new(Cell::new(0));
    let waiters: Vec<_> = (0..WAITERS)
        .map(|_| {
            let (signal, done) = (signal.clone(), done.clone());
            eventlet_rt::Builder::new()
                .stack_size(32 * 1024)
                .spawn(move || {
                    block_on(signal.wait());
                    done.set(done.get() + 1);
                })
        })
        .collect();
    eventlet_rt::yield_now();
    let stats = hub::stats();
    assert_eq!(stats.futures_waiting, WAITERS);
    assert_eq!(stats.remote_waits, WAITERS);
    assert_eq!(done.get(), 0);
    let raiser = {
        let signal = signal.clone();
        std::thread::spawn(move || signal.raise())
    };
    waiters.into_iter().for_each(|w| w.wait().unwrap());
    raiser.join().unwrap();
    assert_eq!(done.get(), WAITERS);
    assert_eq!(signal.polls(), 2 * WAITERS);
    let stats = hub::stats();
    assert_eq!((stats.futures_waiting, stats.remote_waits), (0, 0));
}

#[test]
fn a_kill_drops_the_pending_future_and_a_late_wake_up_finds_nobody() {
    let signal = Signal::default();
    let dropped = Rc::new(Cell::new(false));
    let waiter = {
        let (signal, dropped) = (signal.clone(), dropped.clone());
        spawn(move || {
            let flag = DropFlag(dropped);
            block_on(async move {
                let _flag = flag;
                signal.wait().await;
            });
            unreachable!("a killed block_on does not return");
        })
    };
    eventlet_rt::yield_now();
    assert!(!dropped.get());
    waiter.kill();
    assert!(matches!(waiter.wait(), Err(GreenError::Killed)));
    assert!(dropped.get(), "the future was dropped by the unwind");
    signal.raise(); // the kept waker is stale now
    let after = spawn(|| block_on(async { 5 }));
    assert_eq!(after.wait().unwrap(), 5);
    assert_eq!(hub::stats().futures_waiting, 0);
}

#[test]
fn with_timeout_around_a_pending_future_times_out_and_drops_it() {
    let signal = Signal::default();
    let dropped = Rc::new(Cell::new(false));
    let start = Instant::now();
    let outcome = with_timeout(Duration::from_millis(50), || {
        let flag = DropFlag(dropped.clone());
        block_on(async {
            let _flag = flag;
            signal.wait().await;
        })
    });
    assert_eq!(outcome, Err(TimedOut));
    assert!(dropped.get());
    assert!(start.elapsed() >= Duration::from_millis(50));
    assert!(start.elapsed() < Duration::from_secs(5));
    // The same signal can be waited on again, and works.
    let waiter = {
        let signal = signal.clone();
        spawn(move || block_on(signal.wait()))
    };
    eventlet_rt::yield_now();
    signal.raise();
    waiter.wait().unwrap();
}

#[test]
fn a_panic_inside_the_future_is_the_green_threads_panic() {
    let signal = Signal::default();
    let waiter = {
        let signal = signal.clone();
        spawn(move || {
            block_on(async {
                signal.wait().await;
                panic!("inside the future");
            })
        })
    };
    eventlet_rt::yield_now();
    signal.raise();
    let error = waiter.wait().unwrap_err();
    assert_eq!(error.panic_message(), Some("inside the future"));
    assert_eq!(hub::stats().futures_waiting, 0);
}

#[test]
fn a_future_that_wakes_itself_lets_the_others_run_first() {
    let order = Rc::new(std::cell::RefCell::new(Vec::new()));
    let yielder = {
        let order = order.clone();
        spawn(move || {
            let mut yielded = false;
            block_on(std::future::poll_fn(|cx| {
                if yielded {
                    order.borrow_mut().push("yielder done");
                    return Poll::Ready(());
                }
                yielded = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            }));
        })
    };
    let other = {
        let order = order.clone();
        spawn(move || order.borrow_mut().push("other"))
    };
    yielder.wait().unwrap();
    other.wait().unwrap();
    assert_eq!(*order.borrow(), ["other", "yielder done"]);
}

#[test]
fn a_future_on_one_hub_is_woken_from_another_hub() {
    let hubs = eventlet_rt::hubs::Hubs::new(2).unwrap();
    let signal = Signal::default();
    let waiter = {
        let signal = signal.clone();
        hubs.handle(0).spawn(move || {
            block_on(signal.wait());
            std::thread::current().name().map(str::to_owned)
        })
    };
    let raiser = {
        let signal = signal.clone();
        hubs.handle(1).spawn(move || {
            while signal.polls() == 0 {
                eventlet_rt::sleep(Duration::from_millis(1));
            }
            signal.raise();
        })
    };
    raiser.wait().unwrap();
    assert_eq!(waiter.wait().unwrap().as_deref(), Some("eventlet-hub-0"));
}

#[test]
fn a_plain_thread_without_a_hub_can_block_on() {
    let signal = Signal::default();
    let raiser = {
        let signal = signal.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            signal.raise();
        })
    };
    let value = std::thread::spawn(move || {
        block_on(signal.wait());
        "done"
    })
    .join()
    .unwrap();
    assert_eq!(value, "done");
    raiser.join().unwrap();
}
