//! `green::mpsc` behaves like `std::sync::mpsc`, blocking green threads only.

use std::time::Duration;

use eventlet_rt::green::mpsc::{
    self, RecvError, RecvTimeoutError, SendError, TryRecvError, TrySendError,
};
use eventlet_rt::{TimedOut, spawn, with_timeout, yield_now};

#[test]
fn std_style_producers_and_consumer() {
    let (tx, rx) = mpsc::channel();
    let producers: Vec<_> = (0..3)
        .map(|id| {
            let tx = tx.clone();
            spawn(move || {
                for n in 0..3 {
                    tx.send((id, n)).unwrap();
                    yield_now();
                }
            })
        })
        .collect();
    drop(tx);
    let got: Vec<_> = rx.iter().collect();
    assert_eq!(got.len(), 9);
    for id in 0..3 {
        let mine: Vec<_> = got
            .iter()
            .filter(|(i, _)| *i == id)
            .map(|(_, n)| *n)
            .collect();
        assert_eq!(mine, [0, 1, 2]);
    }
    producers.into_iter().for_each(|p| p.wait().unwrap());
}

#[test]
fn recv_errors_once_every_sender_is_gone_and_the_channel_is_empty() {
    let (tx, rx) = mpsc::channel();
    let tx2 = tx.clone();
    tx.send(1).unwrap();
    drop(tx);
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty)); // tx2 lives
    tx2.send(2).unwrap();
    drop(tx2);
    assert_eq!(rx.recv(), Ok(2));
    assert_eq!(rx.recv(), Err(RecvError));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(1)),
        Err(RecvTimeoutError::Disconnected)
    );
}

#[test]
fn a_blocked_recv_wakes_with_an_error_when_the_last_sender_goes() {
    let (tx, rx) = mpsc::channel::<u8>();
    let receiver = spawn(move || rx.recv());
    yield_now();
    drop(tx);
    assert_eq!(receiver.wait().unwrap(), Err(RecvError));
}

#[test]
fn send_errors_once_the_receiver_is_gone() {
    let (tx, rx) = mpsc::channel();
    tx.send("kept").unwrap();
    drop(rx);
    assert_eq!(tx.send("lost"), Err(SendError("lost")));
    let (stx, srx) = mpsc::sync_channel(1);
    drop(srx);
    assert_eq!(stx.send(1), Err(SendError(1)));
    assert_eq!(stx.try_send(2), Err(TrySendError::Disconnected(2)));
}

#[test]
fn a_blocked_sync_send_gets_its_value_back_when_the_receiver_goes() {
    let (tx, rx) = mpsc::sync_channel(0);
    let sender = spawn(move || tx.send("stuck"));
    yield_now();
    drop(rx);
    assert_eq!(sender.wait().unwrap(), Err(SendError("stuck")));
}

#[test]
fn sync_channel_zero_is_a_rendezvous() {
    let (tx, rx) = mpsc::sync_channel(0);
    let log = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let l = log.clone();
    let sender = spawn(move || {
        tx.send(1).unwrap();
        l.borrow_mut().push("sent");
    });
    yield_now();
    assert!(log.borrow().is_empty()); // no receiver yet: the send waits
    assert_eq!(rx.recv(), Ok(1));
    log.borrow_mut().push("received");
    sender.wait().unwrap();
    assert_eq!(*log.borrow(), ["received", "sent"]);
}

#[test]
fn sync_channel_blocks_while_full_and_try_send_reports_full() {
    let (tx, rx) = mpsc::sync_channel(2);
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)));
    let tx2 = tx.clone();
    let blocked = spawn(move || tx2.send(3));
    yield_now();
    assert!(!blocked.is_finished());
    assert_eq!(rx.recv(), Ok(1));
    blocked.wait().unwrap().unwrap();
    drop(tx);
    assert_eq!(rx.iter().collect::<Vec<_>>(), [2, 3]);
}

#[test]
fn recv_timeout_times_out_and_leaves_no_trace() {
    let (tx, rx) = mpsc::channel();
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(1)),
        Err(RecvTimeoutError::Timeout)
    );
    tx.send(5).unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_millis(1)), Ok(5));
}

#[test]
fn kill_and_timeout_while_blocked_leave_the_channel_working() {
    let (tx, rx) = mpsc::channel::<u32>();
    let rx = std::rc::Rc::new(rx);
    let r = rx.clone();
    let receiver = spawn(move || r.recv());
    yield_now();
    receiver.kill();
    assert!(receiver.wait().unwrap_err().is_killed());
    assert_eq!(
        with_timeout(Duration::from_millis(1), || rx.recv()),
        Err(TimedOut)
    );
    tx.send(9).unwrap();
    assert_eq!(rx.recv(), Ok(9));

    let (stx, srx) = mpsc::sync_channel(0);
    let s = stx.clone();
    let sender = spawn(move || s.send("dropped"));
    yield_now();
    sender.kill();
    assert!(sender.wait().unwrap_err().is_killed());
    assert_eq!(srx.try_recv(), Err(TryRecvError::Empty));
    let late = spawn(move || stx.send("kept"));
    assert_eq!(srx.recv(), Ok("kept"));
    late.wait().unwrap().unwrap();
}

#[test]
fn iterators() {
    let (tx, rx) = mpsc::channel();
    for n in 0..3 {
        tx.send(n).unwrap();
    }
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [0, 1, 2]);
    tx.send(3).unwrap();
    drop(tx);
    assert_eq!((&rx).into_iter().collect::<Vec<_>>(), [3]);
    let (tx, rx) = mpsc::channel();
    tx.send('z').unwrap();
    drop(tx);
    assert_eq!(rx.into_iter().collect::<String>(), "z");
}

#[test]
fn debug_is_opaque_like_std() {
    let (tx, rx) = mpsc::channel::<u8>();
    assert_eq!(format!("{tx:?} {rx:?}"), "Sender { .. } Receiver { .. }");
}

fn assert_send<T: Send>() {}
fn assert_clone<T: Clone>() {}

#[test]
fn the_handles_are_send_like_std() {
    assert_send::<mpsc::Sender<String>>();
    assert_send::<mpsc::SyncSender<String>>();
    assert_send::<mpsc::Receiver<String>>();
    assert_clone::<mpsc::Sender<String>>();
    assert_clone::<mpsc::SyncSender<String>>();
}

#[test]
fn values_cross_hubs_and_plain_threads_in_order_per_sender() {
    let hubs = eventlet_rt::hubs::Hubs::new(2).unwrap();
    let (tx, rx) = mpsc::channel();
    let from_hub = tx.clone();
    let on_hub = hubs.handle(1).spawn(move || {
        for n in 0..1000 {
            from_hub.send(("hub", n)).unwrap();
            if n % 100 == 0 {
                yield_now();
            }
        }
    });
    let plain = std::thread::spawn(move || {
        for n in 0..1000 {
            tx.send(("plain", n)).unwrap();
        }
    });
    // The receiver on hub 0; the channel ends when both senders are gone.
    let received = hubs.handle(0).spawn(move || rx.iter().collect::<Vec<_>>());
    let received = received.wait().unwrap();
    on_hub.wait().unwrap();
    plain.join().unwrap();
    for who in ["hub", "plain"] {
        let mine: Vec<i32> = received
            .iter()
            .filter(|(w, _)| *w == who)
            .map(|(_, n)| *n)
            .collect();
        assert_eq!(mine, (0..1000).collect::<Vec<_>>());
    }
}

#[test]
fn a_recv_blocked_on_another_hubs_sender_parks_only_its_green_thread() {
    let hubs = eventlet_rt::hubs::Hubs::new(2).unwrap();
    let (tx, rx) = mpsc::channel();
    let (ticks_tx, ticks_rx) = mpsc::channel();
    let waiting = hubs.handle(0).spawn(move || {
        let ticker = spawn(move || {
            for tick in 0..3 {
                eventlet_rt::sleep(Duration::from_millis(1));
                ticks_tx.send(tick).unwrap();
            }
        });
        let value = rx.recv().unwrap(); // the ticker runs meanwhile
        ticker.wait().unwrap();
        value
    });
    // Three ticks arrive while the receiver waits: its hub is not blocked.
    assert_eq!(ticks_rx.iter().collect::<Vec<_>>(), [0, 1, 2]);
    assert!(!waiting.is_finished());
    hubs.handle(1)
        .spawn(move || tx.send("from hub 1").unwrap())
        .wait()
        .unwrap();
    assert_eq!(waiting.wait().unwrap(), "from hub 1");
}

#[test]
fn a_plain_thread_blocked_in_recv_is_woken_by_a_green_sender() {
    let (tx, rx) = mpsc::sync_channel(0);
    let plain = std::thread::spawn(move || (rx.recv(), rx.recv(), rx.recv()));
    let sender = spawn(move || {
        tx.send(1).unwrap();
        tx.send(2).unwrap();
    });
    sender.wait().unwrap();
    assert_eq!(plain.join().unwrap(), (Ok(1), Ok(2), Err(RecvError)));
}

#[test]
fn a_rendezvous_across_threads_returns_only_once_the_value_is_taken() {
    let (tx, rx) = mpsc::sync_channel(0);
    let (log_tx, log_rx) = mpsc::channel();
    let log = log_tx.clone();
    let sender = std::thread::spawn(move || {
        tx.send("value").unwrap();
        log.send("sent").unwrap();
    });
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(
        log_rx.try_recv(),
        Err(TryRecvError::Empty),
        "nobody took it yet"
    );
    assert_eq!(rx.recv(), Ok("value"));
    sender.join().unwrap();
    drop(log_tx);
    assert_eq!(log_rx.iter().collect::<Vec<_>>(), ["sent"]);
}

#[test]
fn recv_timeout_on_a_plain_thread() {
    let (tx, rx) = mpsc::channel::<u8>();
    let plain = std::thread::spawn(move || {
        let first = rx.recv_timeout(Duration::from_millis(10));
        let second = rx.recv_timeout(Duration::from_secs(30));
        (first, second)
    });
    std::thread::sleep(Duration::from_millis(50));
    tx.send(3).unwrap();
    assert_eq!(
        plain.join().unwrap(),
        (Err(RecvTimeoutError::Timeout), Ok(3))
    );
}

#[test]
fn ping_pong_between_hubs_loses_no_wake_up() {
    const ROUNDS: u32 = 20_000;
    let hubs = eventlet_rt::hubs::Hubs::new(2).unwrap();
    for bound in [0, 1, 16] {
        let (ping_tx, ping_rx) = mpsc::sync_channel::<u32>(bound);
        let (pong_tx, pong_rx) = mpsc::channel::<u32>();
        let echo = hubs.handle(1).spawn(move || {
            for n in ping_rx.iter() {
                pong_tx.send(n + 1).unwrap();
            }
        });
        let player = hubs.handle(0).spawn(move || {
            let mut ball = 0;
            for _ in 0..ROUNDS {
                ping_tx.send(ball).unwrap();
                ball = pong_rx.recv().unwrap();
            }
            ball
        });
        assert_eq!(player.wait().unwrap(), ROUNDS, "bound {bound}");
        echo.wait().unwrap();
    }
}

#[test]
fn the_last_sender_going_on_another_hub_wakes_the_receiver() {
    let hubs = eventlet_rt::hubs::Hubs::new(1).unwrap();
    let (tx, rx) = mpsc::channel::<u8>();
    let holder = hubs.handle(0).spawn(move || {
        eventlet_rt::sleep(Duration::from_millis(10));
        drop(tx);
    });
    assert_eq!(rx.recv(), Err(RecvError));
    holder.wait().unwrap();
}

#[test]
fn try_send_on_a_rendezvous_succeeds_only_with_a_receiver_waiting() {
    let (tx, rx) = mpsc::sync_channel(0);
    assert_eq!(tx.try_send(1), Err(TrySendError::Full(1)));
    let receiver = spawn(move || rx.recv());
    yield_now(); // the receiver starts and waits
    assert_eq!(tx.try_send(2), Ok(()));
    assert_eq!(receiver.wait().unwrap(), Ok(2));
}
