//! Async code awaiting green work: `RemoteGreenThread` as a future, and
//! `HubHandle::spawn` from tokio tasks, on tokio runtimes the test builds
//! on plain threads (no hub there).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use eventlet_rt::GreenError;
use eventlet_rt::hubs::Hubs;

#[test]
fn a_tokio_program_awaits_green_threads_on_two_hubs() {
    const TASKS: usize = 40;
    let hubs = Hubs::new(2).unwrap();
    let handles: Vec<_> = (0..2).map(|i| hubs.handle(i)).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Each green thread waits until all forty have started: they can only
    // all be in flight at once if no `.await` on one holds up a worker.
    let arrived = Arc::new(AtomicUsize::new(0));
    let outcomes = runtime.block_on(async move {
        let tasks: Vec<_> = (0..TASKS)
            .map(|i| {
                let (hub, arrived) = (handles[i % 2].clone(), arrived.clone());
                tokio::spawn(async move {
                    let green = hub.spawn(move || {
                        arrived.fetch_add(1, Ordering::SeqCst);
                        let deadline = Instant::now() + Duration::from_secs(30);
                        while arrived.load(Ordering::SeqCst) < TASKS && Instant::now() < deadline {
                            eventlet_rt::sleep(Duration::from_millis(5)); // green, on the hub
                        }
                        let all_in_flight = arrived.load(Ordering::SeqCst) == TASKS;
                        (
                            i,
                            std::thread::current().name().map(str::to_owned),
                            all_in_flight,
                        )
                    });
                    green.await
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.unwrap().unwrap());
        }
        outcomes
    });
    for (i, (index, name, all_in_flight)) in outcomes.into_iter().enumerate() {
        assert_eq!(index, i);
        assert_eq!(name, Some(format!("eventlet-hub-{}", i % 2)));
        assert!(
            all_in_flight,
            "green thread {i} never saw all {TASKS} in flight"
        );
    }
}

#[test]
fn an_awaited_remote_green_thread_reports_its_panic_and_its_kill() {
    let hubs = Hubs::new(1).unwrap();
    let hub = hubs.handle(0);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let panicked = hub.spawn(|| -> u32 { panic!("green panic") }).await;
        assert_eq!(panicked.unwrap_err().panic_message(), Some("green panic"));

        let (tx, rx) = eventlet_rt::green::mpsc::channel::<()>();
        let blocked = hub.spawn(move || rx.recv());
        blocked.kill();
        assert!(matches!(blocked.await, Err(GreenError::Killed)));
        drop(tx);

        // A tokio timeout around a slow green thread: the future is dropped,
        // the green thread goes on and its outcome is simply not taken.
        let slow = hub.spawn(|| eventlet_rt::sleep(Duration::from_secs(30)));
        let timed = tokio::time::timeout(Duration::from_millis(20), slow).await;
        assert!(timed.is_err());
    });
}

#[test]
fn green_code_on_another_hub_awaits_a_remote_green_thread() {
    let hubs = Hubs::new(2).unwrap();
    let second = hubs.handle(1);
    let outer = hubs.handle(0).spawn(move || {
        let local = eventlet_rt::spawn(|| "local ran meanwhile");
        let remote = second.spawn(|| {
            eventlet_rt::sleep(Duration::from_millis(20));
            std::thread::current().name().map(str::to_owned)
        });
        let name = eventlet_rt::block_on(remote).unwrap();
        (name, local.wait().unwrap())
    });
    let (name, local) = outer.wait().unwrap();
    assert_eq!(name.as_deref(), Some("eventlet-hub-1"));
    assert_eq!(local, "local ran meanwhile");
}

#[test]
fn a_remote_green_thread_awaited_after_it_ended_is_ready_at_once() {
    let hubs = Hubs::new(1).unwrap();
    let quick = hubs.handle(0).spawn(|| 5);
    hubs.join();
    assert!(quick.is_finished());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(runtime.block_on(async { quick.await }).unwrap(), 5);
}
