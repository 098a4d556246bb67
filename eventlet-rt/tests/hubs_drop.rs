//! The ends of `Hubs` that used to go wrong: a remote green thread that
//! teardown abandons, and `Hubs` dropped on one of its own hubs (by a green
//! thread there, or in the unwind of one being killed).

use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use eventlet_rt::hubs::{HubHandle, Hubs};
use eventlet_rt::{GreenError, sleep};

/// Waits for `wait` on another OS thread, at most `limit`: `None` when it
/// had not returned by then (the thread is left blocked).
fn within<T: Send + 'static>(
    limit: Duration,
    wait: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (tx, rx) = std_mpsc::channel();
    std::thread::spawn(move || tx.send(wait()));
    rx.recv_timeout(limit).ok()
}

fn is_killed<T>(outcome: Result<T, GreenError>) -> bool {
    matches!(outcome, Err(GreenError::Killed))
}

/// Blocks in its destructor far longer than any grace period.
struct Stubborn;

impl Drop for Stubborn {
    fn drop(&mut self) {
        sleep(Duration::from_secs(3600));
    }
}

#[test]
fn a_remote_green_thread_that_teardown_abandons_ends_killed() {
    let hubs = Hubs::new(1).unwrap();
    let hub = hubs.handle(0);
    hub.spawn(|| eventlet_rt::hub::set_teardown_grace_period(Duration::from_millis(50)))
        .wait()
        .unwrap();
    let (started_tx, started_rx) = std_mpsc::channel();
    let stubborn = hub.spawn(move || {
        let _stubborn = Stubborn;
        started_tx.send(()).unwrap();
        sleep(Duration::from_secs(3600));
    });
    started_rx.recv().unwrap();
    drop(hubs); // kills it; its destructor outlives the grace period: abandoned
    let outcome = within(Duration::from_secs(30), move || is_killed(stubborn.wait()));
    assert_eq!(outcome, Some(true), "wait() must end Killed, not block");
}

/// Green threads of hub `hub` that block until killed, and what their wait says.
fn sleeper(hub: &HubHandle) -> impl FnOnce() -> bool + Send + 'static {
    let sleeping = hub.spawn(|| sleep(Duration::from_secs(3600)));
    move || is_killed(sleeping.wait())
}

/// After `Hubs` was dropped on hub 0: every hub shut down, hub 0 too.
fn assert_all_shut_down(hub_0: HubHandle, sleepers: Vec<Box<dyn FnOnce() -> bool + Send>>) {
    for (i, sleeper) in sleepers.into_iter().enumerate() {
        let killed = within(Duration::from_secs(30), sleeper);
        assert_eq!(killed, Some(true), "the sleeper on hub {i} was not killed");
    }
    let late = within(Duration::from_secs(30), move || {
        is_killed(hub_0.spawn(|| ()).wait())
    });
    assert_eq!(late, Some(true), "hub 0 still runs new green threads");
}

#[test]
fn hubs_dropped_by_a_green_thread_of_their_own_shut_down_without_joining_themselves() {
    let hubs = Arc::new(Hubs::new(2).unwrap());
    let hub_0 = hubs.handle(0);
    let sleepers: Vec<Box<dyn FnOnce() -> bool + Send>> = vec![
        Box::new(sleeper(&hubs.handle(0))),
        Box::new(sleeper(&hubs.handle(1))),
    ];
    let dropper = hub_0.spawn(move || {
        drop(hubs); // the last reference, on hub 0
        "dropped"
    });
    let dropped = within(Duration::from_secs(30), move || dropper.wait().ok());
    assert_eq!(dropped, Some(Some("dropped")), "the drop panicked or hung");
    assert_all_shut_down(hub_0, sleepers);
}

#[test]
fn hubs_dropped_in_the_unwind_of_a_killed_green_thread_of_their_own_shut_down() {
    let hubs = Arc::new(Hubs::new(2).unwrap());
    let hub_0 = hubs.handle(0);
    let sleepers: Vec<Box<dyn FnOnce() -> bool + Send>> = vec![
        Box::new(sleeper(&hubs.handle(0))),
        Box::new(sleeper(&hubs.handle(1))),
    ];
    let (holding_tx, holding_rx) = std_mpsc::channel();
    let holder = hub_0.spawn(move || {
        let _hubs = hubs; // the last reference, dropped as the kill unwinds
        holding_tx.send(()).unwrap();
        sleep(Duration::from_secs(3600));
    });
    holding_rx.recv().unwrap();
    holder.kill();
    let killed = within(Duration::from_secs(30), move || is_killed(holder.wait()));
    assert_eq!(killed, Some(true));
    assert_all_shut_down(hub_0, sleepers);
}
