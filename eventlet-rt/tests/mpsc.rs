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
