//! Queues when waiters are killed or time out, fairness, task_done/join,
//! and the LIFO and priority orders.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use eventlet_rt::{LifoQueue, PriorityQueue, Queue, TimedOut, spawn, with_timeout, yield_now};

#[test]
fn kill_while_blocked_in_get_leaves_no_trace() {
    let q = Queue::new();
    let q2 = q.clone();
    let getter = spawn(move || q2.get());
    yield_now();
    assert_eq!(q.getting(), 1);
    getter.kill();
    assert!(getter.wait().unwrap_err().is_killed());
    assert_eq!(q.getting(), 0);
    q.put(1);
    assert_eq!(q.len(), 1);
    assert_eq!(q.get(), 1);
}

#[test]
fn kill_while_blocked_in_put_drops_only_that_item() {
    let q = Queue::bounded(1);
    q.put("stored");
    let putters: Vec<_> = ["a", "b", "c"]
        .into_iter()
        .map(|item| {
            let q = q.clone();
            spawn(move || q.put(item))
        })
        .collect();
    yield_now();
    assert_eq!(q.putting(), 3);
    putters[1].kill();
    yield_now();
    assert_eq!(q.putting(), 2);
    let got: Vec<_> = (0..3).map(|_| q.get()).collect();
    assert_eq!(got, ["stored", "a", "c"]);
    assert_eq!(q.putting(), 0);
    let outcomes: Vec<_> = putters.into_iter().map(|p| p.wait().is_ok()).collect();
    assert_eq!(outcomes, [true, false, true]);
}

#[test]
fn timeout_while_blocked_in_put_and_get() {
    let q = Queue::bounded(1);
    q.put(1);
    assert_eq!(
        with_timeout(Duration::from_millis(1), || q.put(2)),
        Err(TimedOut)
    );
    assert_eq!(q.putting(), 0);
    assert_eq!(q.len(), 1);
    assert_eq!(q.get(), 1);
    assert_eq!(
        with_timeout(Duration::from_millis(1), || q.get()),
        Err(TimedOut)
    );
    assert_eq!(q.getting(), 0);
    assert_eq!(q.put_timeout(3, Duration::from_millis(1)), Ok(()));
    assert_eq!(q.get_timeout(Duration::from_millis(1)), Some(3));
    assert_eq!(q.get_timeout(Duration::from_millis(1)), None);
}

#[test]
fn an_item_handed_to_a_getter_killed_before_it_ran_goes_to_the_next_getter() {
    let q = Queue::new();
    let (q1, q2) = (q.clone(), q.clone());
    let first = spawn(move || q1.get());
    let second = spawn(move || q2.get());
    yield_now();
    q.put("x"); // handed to `first`, which has not run yet
    first.kill();
    assert!(first.wait().unwrap_err().is_killed());
    assert_eq!(second.wait().unwrap(), "x");
    assert_eq!((q.len(), q.getting()), (0, 0));
}

#[test]
fn an_item_handed_to_a_killed_getter_keeps_its_place_in_line() {
    let q = Queue::new();
    let q1 = q.clone();
    let getter = spawn(move || q1.get());
    yield_now();
    q.put("a"); // handed to the getter
    q.put("b"); // stored
    getter.kill();
    assert!(getter.wait().unwrap_err().is_killed());
    assert_eq!([q.get(), q.get()], ["a", "b"]);
}

#[test]
fn blocked_putters_are_served_in_arrival_order() {
    let q = Queue::bounded(1);
    q.put(0);
    let putters: Vec<_> = (1..=4)
        .map(|n| {
            let q = q.clone();
            spawn(move || q.put(n))
        })
        .collect();
    yield_now();
    // A newcomer cannot overtake the blocked putters.
    assert_eq!(q.try_put(99), Err(99));
    let got: Vec<_> = (0..5).map(|_| q.get()).collect();
    assert_eq!(got, [0, 1, 2, 3, 4]);
    putters.into_iter().for_each(|p| p.wait().unwrap());
}

#[test]
fn resize_up_admits_blocked_putters_oldest_first() {
    let q = Queue::bounded(0);
    let putters: Vec<_> = (1..=3)
        .map(|n| {
            let q = q.clone();
            spawn(move || q.put(n))
        })
        .collect();
    yield_now();
    q.resize(Some(2));
    assert_eq!((q.len(), q.putting()), (2, 1));
    q.resize(None);
    assert_eq!((q.len(), q.putting()), (3, 0));
    assert_eq!([q.get(), q.get(), q.get()], [1, 2, 3]);
    putters.into_iter().for_each(|p| p.wait().unwrap());
}

#[test]
fn join_waits_for_every_task_done() {
    let q = Queue::new();
    let log = Rc::new(RefCell::new(Vec::new()));
    let (q2, l) = (q.clone(), log.clone());
    let worker = spawn(move || {
        for _ in 0..3 {
            let job: u32 = q2.get();
            l.borrow_mut().push(job);
            yield_now();
            q2.task_done();
        }
    });
    for job in 0..3 {
        q.put(job);
    }
    q.join();
    assert_eq!(*log.borrow(), [0, 1, 2]);
    assert_eq!(q.unfinished_tasks(), 0);
    worker.wait().unwrap();
}

#[test]
#[should_panic(expected = "task_done() called more times than there were items put")]
fn task_done_more_times_than_items_panics() {
    let q = Queue::new();
    q.put(1);
    q.get();
    q.task_done();
    q.task_done();
}

#[test]
fn kill_while_blocked_in_join_leaves_the_queue_usable() {
    let q = Queue::new();
    q.put(());
    let q2 = q.clone();
    let joiner = spawn(move || q2.join());
    yield_now();
    joiner.kill();
    assert!(joiner.wait().unwrap_err().is_killed());
    q.get();
    q.task_done();
    q.join();
}

#[test]
fn lifo_queue_gives_the_newest_item_first() {
    let q = LifoQueue::new();
    for n in 1..=3 {
        q.put(n);
    }
    assert_eq!([q.get(), q.get(), q.get()], [3, 2, 1]);
}

#[test]
fn priority_queue_gives_the_smallest_item_first() {
    let q = PriorityQueue::bounded(3);
    for n in [5, 1, 3] {
        q.put(n);
    }
    let q2 = q.clone();
    let putter = spawn(move || q2.put(0)); // blocks: the queue is full
    yield_now();
    assert_eq!(q.get(), 1); // the blocked 0 goes in after the get
    putter.wait().unwrap();
    assert_eq!([q.get(), q.get(), q.get()], [0, 3, 5]);
}

#[test]
fn lifo_and_priority_queues_hand_off_to_blocked_getters_fifo() {
    let lifo = LifoQueue::new();
    let getters: Vec<_> = (0..2)
        .map(|_| {
            let q = lifo.clone();
            spawn(move || q.get())
        })
        .collect();
    yield_now();
    lifo.put('a');
    lifo.put('b');
    let got: Vec<_> = getters.into_iter().map(|g| g.wait().unwrap()).collect();
    assert_eq!(got, ['a', 'b']);

    let prio = PriorityQueue::new();
    let p = prio.clone();
    let getter = spawn(move || p.get());
    yield_now();
    prio.put(9);
    assert_eq!(getter.wait().unwrap(), 9);
}

#[test]
fn debug_shows_the_counters() {
    let q = Queue::bounded(2);
    q.put(1);
    assert_eq!(
        format!("{q:?}"),
        "Queue { len: 1, capacity: Some(2), getting: 0, putting: 0, unfinished_tasks: 1 }"
    );
}
