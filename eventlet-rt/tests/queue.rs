//! Eventlet's `tests/queue_test.py`, restated, plus the failure paths.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use eventlet_rt::{Event, Queue, TimedOut, spawn, with_timeout, yield_now};

type Log = Rc<RefCell<Vec<&'static str>>>;

fn log() -> Log {
    Rc::new(RefCell::new(Vec::new()))
}

/// Eventlet's `do_bail`: a get with a timeout of zero.
fn do_bail(q: &Queue<&'static str>) -> &'static str {
    match with_timeout(Duration::ZERO, || q.get()) {
        Ok(item) => item,
        Err(TimedOut) => "timed out",
    }
}

#[test]
fn send_first() {
    let q = Queue::new();
    q.put("hi");
    assert_eq!(q.get(), "hi");
}

#[test]
fn send_last() {
    let q = Queue::new();
    let q2 = q.clone();
    let gt = spawn(move || with_timeout(Duration::from_millis(100), || q2.get()));
    yield_now();
    yield_now();
    q.put("hi2");
    assert_eq!(gt.wait().unwrap(), Ok("hi2"));
}

#[test]
fn max_size() {
    let q = Queue::bounded(2);
    let results = log();
    let (q2, r) = (q.clone(), results.clone());
    let gt = spawn(move || {
        for item in ["a", "b", "c"] {
            q2.put(item);
            r.borrow_mut().push(item);
        }
    });
    yield_now();
    assert_eq!(*results.borrow(), ["a", "b"]);
    assert_eq!(q.get(), "a");
    yield_now();
    assert_eq!(*results.borrow(), ["a", "b", "c"]);
    assert_eq!(q.get(), "b");
    assert_eq!(q.get(), "c");
    gt.wait().unwrap();
}

#[test]
fn zero_max_size() {
    let q = Queue::bounded(0);
    let evt = Event::new();
    let (q2, e) = (q.clone(), evt.clone());
    let sender = spawn(move || {
        q2.put("hi");
        e.send("done");
    });
    yield_now();
    assert!(!evt.ready());
    let receiver = spawn(move || q.get());
    assert_eq!(receiver.wait().unwrap(), "hi");
    assert_eq!(evt.wait(), "done");
    sender.wait().unwrap();
}

fn blocked_rendezvous_sender(
    q: &Queue<&'static str>,
) -> (Event<&'static str>, eventlet_rt::GreenThread<()>) {
    let evt = Event::new();
    let (q2, e) = (q.clone(), evt.clone());
    let gt = spawn(move || {
        q2.put("hi");
        e.send("done");
    });
    yield_now();
    assert!(!evt.ready());
    (evt, gt)
}

#[test]
fn resize_up() {
    let q = Queue::bounded(0);
    let (evt, gt) = blocked_rendezvous_sender(&q);
    q.resize(Some(1));
    yield_now();
    assert!(evt.ready());
    gt.wait().unwrap();
    assert_eq!(q.get(), "hi");
}

#[test]
fn resize_down() {
    let q = Queue::bounded(5);
    for i in 0..5 {
        q.put(i);
    }
    q.resize(Some(1));
    yield_now();
    assert_eq!(q.len(), 5);
    assert_eq!((0..5).map(|_| q.get()).collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
}

#[test]
fn resize_to_unlimited() {
    let q = Queue::bounded(0);
    let (evt, gt) = blocked_rendezvous_sender(&q);
    q.resize(None);
    yield_now();
    assert!(evt.ready());
    gt.wait().unwrap();
}

#[test]
fn multiple_waiters_are_served_in_arrival_order() {
    let q = Queue::new();
    let sendings = ["1", "2", "3", "4"];
    let getters: Vec<_> = sendings
        .iter()
        .map(|_| {
            let q = q.clone();
            spawn(move || q.get())
        })
        .collect();
    yield_now(); // get 'em all waiting
    assert_eq!(q.getting(), 4);
    for item in sendings {
        q.put(item);
    }
    let results: Vec<_> = getters.into_iter().map(|gt| gt.wait().unwrap()).collect();
    assert_eq!(results, sendings);
}

#[test]
fn waiters_that_cancel() {
    let q = Queue::new();
    let q2 = q.clone();
    let gt = spawn(move || do_bail(&q2));
    assert_eq!(gt.wait().unwrap(), "timed out");
    assert_eq!(q.getting(), 0);
    q.put("hi");
    assert_eq!(q.get(), "hi");
}

#[test]
fn getting_before_sending() {
    let q = Queue::new();
    let q2 = q.clone();
    let gt = spawn(move || q2.put("sent"));
    assert_eq!(q.get(), "sent");
    gt.wait().unwrap();
}

#[test]
fn two_waiters_one_dies() {
    // Eventlet puts right away and relies on its zero timeout firing first;
    // here the dying getter's timeout is awaited before the put.
    let q = Queue::new();
    let (q1, q2) = (q.clone(), q.clone());
    let dying = spawn(move || do_bail(&q1));
    let waiting = spawn(move || q2.get());
    yield_now();
    assert_eq!(dying.wait().unwrap(), "timed out");
    q.put("hi");
    assert_eq!(waiting.wait().unwrap(), "hi");
    assert_eq!(q.getting(), 0);
}

#[test]
fn two_bogus_waiters() {
    let q = Queue::new();
    let (q1, q2) = (q.clone(), q.clone());
    let gt1 = spawn(move || do_bail(&q1));
    let gt2 = spawn(move || do_bail(&q2));
    yield_now();
    assert_eq!(gt1.wait().unwrap(), "timed out");
    assert_eq!(gt2.wait().unwrap(), "timed out");
    q.put("sent");
    assert_eq!(q.get(), "sent");
    assert_eq!(q.getting(), 0);
}

#[test]
fn waiting() {
    let q = Queue::new();
    let q2 = q.clone();
    let gt1 = spawn(move || q2.get());
    yield_now();
    assert_eq!(q.getting(), 1);
    q.put("hi");
    yield_now();
    assert_eq!(q.getting(), 0);
    assert_eq!(gt1.wait().unwrap(), "hi");
    assert_eq!(q.getting(), 0);
}

#[test]
fn channel_send() {
    let channel = Queue::bounded(0);
    let events = log();
    let (c, ev) = (channel.clone(), events.clone());
    eventlet_rt::spawn_n(move || {
        for _ in 0..2 {
            let item = c.get();
            ev.borrow_mut().push(item);
        }
    });
    events.borrow_mut().push("sending");
    channel.put("hello");
    events.borrow_mut().push("sent hello");
    channel.put("world");
    events.borrow_mut().push("sent world");
    assert_eq!(
        *events.borrow(),
        ["sending", "hello", "sent hello", "world", "sent world"]
    );
}

#[test]
fn channel_wait() {
    let channel = Queue::bounded(0);
    let events = log();
    let (c, ev) = (channel.clone(), events.clone());
    eventlet_rt::spawn_n(move || {
        ev.borrow_mut().push("sending hello");
        c.put("hello");
        ev.borrow_mut().push("sending world");
        c.put("world");
        ev.borrow_mut().push("sent world");
    });
    events.borrow_mut().push("waiting");
    let hello = channel.get();
    events.borrow_mut().push(hello);
    let world = channel.get();
    events.borrow_mut().push(world);
    assert_eq!(
        *events.borrow(),
        [
            "waiting",
            "sending hello",
            "hello",
            "sending world",
            "world"
        ]
    );
    yield_now();
    assert_eq!(
        *events.borrow(),
        [
            "waiting",
            "sending hello",
            "hello",
            "sending world",
            "world",
            "sent world"
        ]
    );
}

#[test]
fn channel_waiters() {
    let c = Queue::bounded(0);
    let getters: Vec<_> = (0..3)
        .map(|_| {
            let c = c.clone();
            spawn(move || c.get())
        })
        .collect();
    yield_now();
    assert_eq!(c.getting(), 3);
    let putters: Vec<_> = (1..=3)
        .map(|n| {
            let c = c.clone();
            spawn(move || c.put(n))
        })
        .collect();
    putters.into_iter().for_each(|p| p.wait().unwrap());
    assert_eq!(c.getting(), 0);
    // Eventlet does not promise the order; this queue serves getters FIFO.
    let results: Vec<_> = getters.into_iter().map(|g| g.wait().unwrap()).collect();
    assert_eq!(results, [1, 2, 3]);
}

#[test]
fn channel_sender_timing_out() {
    let c = Queue::bounded(0);
    assert_eq!(c.put_timeout("hi", Duration::from_millis(1)), Err("hi"));
    assert_eq!(c.try_get(), None);
    assert_eq!(c.putting(), 0);
}

#[test]
fn task_done() {
    let channel = Queue::bounded(0);
    let c = channel.clone();
    let gt = spawn(move || c.put("X"));
    assert_eq!(channel.get(), "X");
    assert_eq!(channel.unfinished_tasks(), 1);
    channel.task_done();
    assert_eq!(channel.unfinished_tasks(), 0);
    gt.wait().unwrap();
}

#[test]
fn join_doesnt_block_when_queue_is_already_empty() {
    Queue::<()>::new().join();
}

#[test]
fn put_nowait_simple() {
    let q = Queue::bounded(1);
    assert_eq!(q.try_put(2), Ok(()));
    assert_eq!(q.try_put(3), Err(3));
}

#[test]
fn get_nowait_simple() {
    let q = Queue::bounded(1);
    q.put(4);
    assert_eq!(q.try_get(), Some(4));
    assert_eq!(q.try_get(), None);
}

#[test]
fn get_nowait_unlock() {
    let q = Queue::bounded(0);
    let q2 = q.clone();
    let p = spawn(move || q2.put(5));
    assert!(q.is_empty() && q.is_full());
    yield_now();
    assert!(q.is_empty() && q.is_full());
    assert_eq!(q.try_get(), Some(5));
    yield_now();
    assert!(q.is_empty() && q.is_full());
    assert!(p.is_finished());
}

#[test]
fn put_nowait_unlock() {
    let q = Queue::bounded(0);
    let q2 = q.clone();
    let getter = spawn(move || q2.get());
    assert!(q.is_empty() && q.is_full());
    yield_now();
    assert_eq!(q.try_put(10), Ok(()));
    yield_now();
    assert!(getter.is_finished());
    assert_eq!(getter.wait().unwrap(), 10);
    assert!(q.is_empty() && q.is_full());
}

#[test]
fn a_getter_that_panics_does_not_disturb_the_putter() {
    // Eventlet's test_wait_except (issue 407).
    let q = Queue::new();
    let q2 = q.clone();
    let getter = spawn(move || {
        q2.get();
        panic!("getter fails after its get");
    });
    yield_now();
    q.put(());
    yield_now();
    assert_eq!(
        getter.wait().unwrap_err().panic_message(),
        Some("getter fails after its get")
    );
}
