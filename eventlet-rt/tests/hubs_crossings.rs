//! Wake-ups between hubs, hammered: a post to a hub that is running,
//! spinning on its inbox or blocked in its poller is never lost, whatever
//! the timing. Every count is asserted; a lost wake-up hangs a test (and
//! the harness reports it) rather than passing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use eventlet_rt::green::mpsc;
use eventlet_rt::hubs::Hubs;

/// Busy computation for about `micros` microseconds, no system call: long
/// enough to outlast the other hub's spin, so that it blocks for real.
fn busy(micros: u64) {
    let until = std::time::Instant::now() + Duration::from_micros(micros);
    while std::time::Instant::now() < until {
        std::hint::spin_loop();
    }
}

#[test]
fn many_ping_pong_pairs_over_more_hubs_than_cores_lose_no_wake_up() {
    const HUBS: usize = 4;
    const PAIRS: usize = 8;
    const ROUNDS: u64 = 3_000;
    let hubs = Hubs::new(HUBS).unwrap();
    let mut players = Vec::new();
    let mut echoes = Vec::new();
    for pair in 0..PAIRS {
        let (ping_tx, ping_rx) = mpsc::channel::<u64>();
        let (pong_tx, pong_rx) = mpsc::channel::<u64>();
        echoes.push(hubs.handle((pair + 1) % HUBS).spawn(move || {
            let mut seen = 0;
            for n in ping_rx.iter() {
                seen += 1;
                pong_tx.send(n + 1).unwrap();
            }
            seen
        }));
        players.push(hubs.handle(pair % HUBS).spawn(move || {
            let mut ball = 0;
            for _ in 0..ROUNDS {
                ping_tx.send(ball).unwrap();
                ball = pong_rx.recv().unwrap();
            }
            ball
        }));
    }
    for player in players {
        assert_eq!(player.wait().unwrap(), ROUNDS);
    }
    for echo in echoes {
        assert_eq!(echo.wait().unwrap(), ROUNDS);
    }
}

#[test]
fn answers_early_late_and_after_a_sleep_all_arrive() {
    // The echo answers at once (the asker is still spinning), after busy
    // work longer than a spin (the asker has blocked in its poller), or after
    // a green sleep (the echo's own hub blocks on a timer), in a pattern
    // that keeps changing which of the two is parked when the post comes.
    const ROUNDS: u64 = 2_000;
    let hubs = Hubs::new(2).unwrap();
    let (ask_tx, ask_rx) = mpsc::channel::<u64>();
    let (answer_tx, answer_rx) = mpsc::channel::<u64>();
    let echo = hubs.handle(1).spawn(move || {
        for n in ask_rx.iter() {
            match n % 7 {
                0 | 3 => busy(60),
                5 => eventlet_rt::sleep(Duration::from_micros(50)),
                _ => {}
            }
            answer_tx.send(n * 2).unwrap();
        }
    });
    let asker = hubs.handle(0).spawn(move || {
        let mut sum = 0;
        for n in 0..ROUNDS {
            if n % 11 == 4 {
                busy(60);
            }
            ask_tx.send(n).unwrap();
            sum += answer_rx.recv().unwrap();
        }
        sum
    });
    assert_eq!(asker.wait().unwrap(), ROUNDS * (ROUNDS - 1));
    echo.wait().unwrap();
}

#[test]
fn remote_spawn_and_wait_from_hubs_and_plain_threads_all_complete() {
    const PER_CALLER: u64 = 2_000;
    let hubs = Arc::new(Hubs::new(2).unwrap());
    let ran = Arc::new(AtomicU64::new(0));
    let mut callers = Vec::new();
    // From each hub's green threads to the other hub.
    for from in 0..2 {
        let (other, ran) = (hubs.handle(1 - from), ran.clone());
        callers.push(hubs.handle(from).spawn(move || {
            let mut sum = 0;
            for n in 0..PER_CALLER {
                let ran = ran.clone();
                sum += other
                    .spawn(move || {
                        ran.fetch_add(1, Ordering::Relaxed);
                        n
                    })
                    .wait()
                    .unwrap();
            }
            sum
        }));
    }
    // From a plain OS thread to both hubs in turn.
    let plain = {
        let (hubs, ran) = (hubs.clone(), ran.clone());
        std::thread::spawn(move || {
            let mut sum = 0;
            for n in 0..PER_CALLER {
                let ran = ran.clone();
                sum += hubs
                    .handle(n as usize % 2)
                    .spawn(move || {
                        ran.fetch_add(1, Ordering::Relaxed);
                        n
                    })
                    .wait()
                    .unwrap();
            }
            sum
        })
    };
    let expected = PER_CALLER * (PER_CALLER - 1) / 2;
    for caller in callers {
        assert_eq!(caller.wait().unwrap(), expected);
    }
    assert_eq!(plain.join().unwrap(), expected);
    assert_eq!(ran.load(Ordering::Relaxed), 3 * PER_CALLER);
}

#[test]
fn a_hub_busy_with_local_green_threads_still_takes_remote_posts() {
    // Hub 1 never runs out of runnable green threads (two of them yield to
    // each other without end), so it never blocks in its poller and posters
    // never write its eventfd: it must find the posts when it looks around.
    const ROUNDS: u64 = 2_000;
    let hubs = Hubs::new(2).unwrap();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let (ask_tx, ask_rx) = mpsc::channel::<u64>();
    let (answer_tx, answer_rx) = mpsc::channel::<u64>();
    let busy_hub = hubs.handle(1).spawn(move || {
        let spinners: Vec<_> = (0..2)
            .map(|_| {
                eventlet_rt::spawn(|| {
                    for _ in 0..u64::MAX {
                        eventlet_rt::yield_now();
                    }
                })
            })
            .collect();
        for n in ask_rx.iter() {
            answer_tx.send(n + 1).unwrap();
        }
        stop_rx.recv().unwrap();
        spinners.iter().for_each(|s| s.kill());
    });
    let asker = hubs.handle(0).spawn(move || {
        let mut ball = 0;
        for _ in 0..ROUNDS {
            ask_tx.send(ball).unwrap();
            ball = answer_rx.recv().unwrap();
        }
        ball
    });
    assert_eq!(asker.wait().unwrap(), ROUNDS);
    stop_tx.send(()).unwrap();
    busy_hub.wait().unwrap();
}
