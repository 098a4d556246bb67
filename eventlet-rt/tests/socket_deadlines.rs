//! Socket timeouts: a task keeps one deadline timer across its socket waits
//! (`hub/io_deadline.rs`). These tests check that reusing it never changes
//! what a timeout means: a busy reader never times out early, however long
//! it has been busy; an idle one times out after its own timeout, shorter or
//! longer than the last; and the timer goes away with the reason for it.

mod tcp_pair;

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use eventlet_rt::green::net::TcpStream;
use eventlet_rt::{Event, hub, sleep, spawn};
use tcp_pair::pair;

/// A connected pair whose reader (the accepted side) times out after `timeout`.
fn pair_reading_with(timeout: Duration) -> (TcpStream, TcpStream) {
    let (reader, writer) = pair().unwrap();
    reader.set_read_timeout(Some(timeout)).unwrap();
    (reader, writer)
}

/// Reads one byte; how long the read took.
fn timed_read(stream: &mut TcpStream) -> (io::Result<usize>, Duration) {
    let started = Instant::now();
    let mut byte = [0; 1];
    let read = stream.read(&mut byte);
    (read, started.elapsed())
}

#[test]
fn a_reader_kept_busy_past_its_timeout_never_times_out_then_times_out_when_idle() {
    let timeout = Duration::from_millis(400);
    let (mut reader, writer) = pair_reading_with(timeout);
    let (wrote_all, reader_done) = (Event::new(), Event::new());
    let (wrote_all_in_task, reader_done_in_task) = (wrote_all.clone(), reader_done.clone());
    let writing = spawn(move || {
        let mut writer = writer;
        // Thirty bytes 40 ms apart: 1.2 s of reads, each well in time,
        // three times the timeout in all (the first timer fires mid-run).
        for _ in 0..30 {
            sleep(Duration::from_millis(40));
            writer.write_all(b"x").unwrap();
        }
        wrote_all_in_task.send(());
        // A timeout that never fired would hang the idle read below: this
        // byte ends it as a read that succeeds, which fails the test.
        if reader_done_in_task
            .wait_timeout(Duration::from_secs(20))
            .is_none()
        {
            let _ = writer.write_all(b"!");
        }
        writer
    });
    for n in 0..30 {
        let (read, _) = timed_read(&mut reader);
        assert_eq!(read.unwrap(), 1, "read {n} timed out early");
    }
    wrote_all.wait();
    let (read, took) = timed_read(&mut reader);
    reader_done.send(());
    assert_eq!(
        read.map_err(|e| e.kind()),
        Err(io::ErrorKind::TimedOut),
        "the idle read did not time out ({took:?})"
    );
    assert!(
        took >= timeout,
        "timed out after {took:?}, before {timeout:?}"
    );
    drop(writing.wait().unwrap());
}

#[test]
fn a_shorter_timeout_after_a_longer_one_fires_on_time() {
    let (mut reader, mut writer) = pair_reading_with(Duration::from_secs(3600));
    let echo = spawn(move || {
        sleep(Duration::from_millis(5));
        writer.write_all(b"a").unwrap();
        writer
    });
    // A wait armed an hour-long timer, then the bytes came.
    assert_eq!(timed_read(&mut reader).0.unwrap(), 1);
    let _writer = echo.wait().unwrap();
    let short = Duration::from_millis(100);
    reader.set_read_timeout(Some(short)).unwrap();
    // If the hour-long timer were kept for this wait, the read would hang:
    // a second wait of its own ends the test within seconds either way.
    let (read, took) =
        eventlet_rt::with_timeout(Duration::from_secs(30), || timed_read(&mut reader))
            .expect("the short timeout did not fire: the hour-long timer was kept");
    assert_eq!(read.unwrap_err().kind(), io::ErrorKind::TimedOut);
    assert!(took >= short, "timed out after {took:?}");
}

#[test]
fn a_longer_timeout_after_a_shorter_one_is_not_cut_short() {
    let (mut reader, writer) = pair_reading_with(Duration::from_millis(50));
    assert_eq!(
        timed_read(&mut reader).0.unwrap_err().kind(),
        io::ErrorKind::TimedOut
    );
    reader
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    // A wait that is woken in time leaves its 100 ms timer armed...
    let late = spawn(move || {
        let mut writer = writer;
        writer.write_all(b"1").unwrap();
        sleep(Duration::from_millis(500));
        writer.write_all(b"2").unwrap();
        writer
    });
    assert_eq!(timed_read(&mut reader).0.unwrap(), 1);
    // ...and a 10 s wait that follows must outlast it.
    reader
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let (read, took) = timed_read(&mut reader);
    assert_eq!(read.unwrap(), 1, "cut short after {took:?}");
    let _writer = late.wait().unwrap();
}

#[test]
fn parking_on_something_else_or_ending_drops_the_timer() {
    let (mut reader, mut writer) = pair_reading_with(Duration::from_secs(3600));
    let go = Event::new();
    let go_in_task = go.clone();
    let task = spawn(move || {
        let mut byte = [0; 1];
        reader.read_exact(&mut byte).unwrap();
        // Parked on an event now: its socket timer must not stay behind.
        go_in_task.wait();
        byte[0]
    });
    // The reader parks in its timed read first: its timer is armed.
    while hub::stats().io_waiters == 0 {
        sleep(Duration::from_millis(1));
    }
    assert_eq!(hub::stats().timers, 1, "the read's deadline");
    writer.write_all(b"z").unwrap();
    while hub::stats().io_waiters > 0 {
        sleep(Duration::from_millis(1));
    }
    sleep(Duration::from_millis(5));
    assert_eq!(hub::stats().timers, 0, "a timer outlived its socket wait");
    go.send(());
    assert_eq!(task.wait().unwrap(), b'z');
    assert_eq!(hub::stats().timers, 0);
}

#[test]
fn a_task_that_ends_right_after_a_timed_read_leaves_no_timer() {
    let (mut reader, mut writer) = pair().unwrap();
    let task = spawn(move || {
        reader
            .set_read_timeout(Some(Duration::from_secs(3600)))
            .unwrap();
        let mut byte = [0; 1];
        reader.read_exact(&mut byte).unwrap();
        byte[0]
    });
    // The task parks in its timed read first: its timer is armed.
    while hub::stats().io_waiters == 0 {
        sleep(Duration::from_millis(1));
    }
    writer.write_all(b"q").unwrap();
    assert_eq!(task.wait().unwrap(), b'q');
    assert_eq!(
        hub::stats().timers,
        0,
        "the ended task's timer stayed armed"
    );
}

#[test]
fn a_killed_reader_leaves_no_timer() {
    let (mut reader, _writer) = pair().unwrap();
    let task = spawn(move || {
        reader
            .set_read_timeout(Some(Duration::from_secs(3600)))
            .unwrap();
        let mut byte = [0; 1];
        let _ = reader.read(&mut byte);
    });
    sleep(Duration::from_millis(5));
    assert_eq!(hub::stats().timers, 1, "the reader's deadline");
    task.kill();
    assert!(task.wait().is_err());
    assert_eq!(hub::stats().timers, 0);
}

#[test]
fn a_with_timeout_scope_ending_a_socket_wait_leaves_the_socket_usable() {
    let (mut reader, mut writer) = pair_reading_with(Duration::from_secs(3600));
    let cut = eventlet_rt::with_timeout(Duration::from_millis(50), || timed_read(&mut reader));
    assert!(cut.is_err(), "the scope's timeout ends the read");
    writer.write_all(b"k").unwrap();
    assert_eq!(timed_read(&mut reader).0.unwrap(), 1);
    reader
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let (read, took) = timed_read(&mut reader);
    assert_eq!(read.unwrap_err().kind(), io::ErrorKind::TimedOut);
    assert!(took >= Duration::from_millis(100), "{took:?}");
}

#[test]
fn a_write_to_a_peer_that_never_reads_times_out() {
    let (writer, _idle_reader) = pair().unwrap();
    let mut writer = writer;
    let timeout = Duration::from_millis(200);
    writer.set_write_timeout(Some(timeout)).unwrap();
    let chunk = vec![7u8; 64 * 1024];
    let started = Instant::now();
    let error = loop {
        if let Err(error) = writer.write_all(&chunk) {
            break error;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the send buffer never filled"
        );
    };
    assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    assert!(started.elapsed() >= timeout);
}

#[test]
fn a_hub_stuck_after_a_timed_read_is_reported_at_once() {
    // On its own OS thread (and hub): the stuck main context panics.
    let outcome = std::thread::spawn(|| {
        let (mut reader, writer) = pair_reading_with(Duration::from_secs(20));
        // The byte comes once main is parked in its timed read.
        let late = spawn(move || {
            let mut writer = writer;
            sleep(Duration::from_millis(20));
            writer.write_all(b"w").unwrap();
            writer
        });
        assert_eq!(timed_read(&mut reader).0.unwrap(), 1);
        let _writer = late.wait().unwrap();
        // Main's 20 s socket timer waits for nothing now: waiting on an
        // event nobody sends must be found stuck at once, not 20 s later.
        let started = Instant::now();
        let never = Event::<()>::new();
        let stuck = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| never.wait()));
        (stuck.is_err(), started.elapsed())
    })
    .join()
    .unwrap();
    assert!(outcome.0, "waiting on an event nobody sends returned");
    assert!(
        outcome.1 < Duration::from_secs(10),
        "found stuck only after {:?}",
        outcome.1
    );
}
