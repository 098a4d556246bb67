//! Socket timeouts: a task keeps one deadline timer across its socket waits
//! (`hub/io_deadline.rs`). These tests check that reusing it never changes
//! what a timeout means: a busy reader never times out early, however long
//! it has been busy; an idle one times out after its own timeout, shorter or
//! longer than the last; and the timer goes away with the reason for it.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use eventlet_rt::green::net::{TcpListener, TcpStream};
use eventlet_rt::{Event, hub, sleep, spawn};

/// A connected pair: (the accepted side, the connecting side).
fn pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let client = TcpStream::connect(listener.local_addr()?)?;
    let (server, _) = listener.accept()?;
    Ok((server, client))
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
    let (mut reader, writer) = pair().unwrap();
    let timeout = Duration::from_millis(150);
    reader.set_read_timeout(Some(timeout)).unwrap();
    let writing = spawn(move || {
        let mut writer = writer;
        // Twelve bytes 50 ms apart: 600 ms of reads, each well in time,
        // four times the timeout in all (the first timer fires mid-run).
        for _ in 0..12 {
            sleep(Duration::from_millis(50));
            writer.write_all(b"x").unwrap();
        }
        writer
    });
    for n in 0..12 {
        let (read, _) = timed_read(&mut reader);
        assert_eq!(read.unwrap(), 1, "read {n} timed out early");
    }
    let _writer = writing.wait().unwrap();
    let (read, took) = timed_read(&mut reader);
    assert_eq!(read.unwrap_err().kind(), io::ErrorKind::TimedOut);
    assert!(
        took >= timeout,
        "timed out after {took:?}, before {timeout:?}"
    );
    // The wait is over and the task waits for nothing: no timer is left.
    sleep(Duration::ZERO);
    assert_eq!(hub::stats().timers, 0);
}

#[test]
fn a_shorter_timeout_after_a_longer_one_fires_on_time() {
    let (mut reader, mut writer) = pair().unwrap();
    reader
        .set_read_timeout(Some(Duration::from_secs(3600)))
        .unwrap();
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
    let (read, took) = timed_read(&mut reader);
    assert_eq!(read.unwrap_err().kind(), io::ErrorKind::TimedOut);
    assert!(took >= short, "timed out after {took:?}");
    assert!(
        took < Duration::from_secs(60),
        "the hour-long timer was kept for the short wait: {took:?}"
    );
}

#[test]
fn a_longer_timeout_after_a_shorter_one_is_not_cut_short() {
    let (mut reader, writer) = pair().unwrap();
    reader
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    assert_eq!(
        timed_read(&mut reader).0.unwrap_err().kind(),
        io::ErrorKind::TimedOut
    );
    reader
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    // A wait that is woken in time leaves its 20 ms timer armed...
    let late = spawn(move || {
        let mut writer = writer;
        writer.write_all(b"1").unwrap();
        sleep(Duration::from_millis(200));
        writer.write_all(b"2").unwrap();
        writer
    });
    assert_eq!(timed_read(&mut reader).0.unwrap(), 1);
    // ...and a 2 s wait that follows must outlast it.
    reader
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let (read, took) = timed_read(&mut reader);
    assert_eq!(read.unwrap(), 1, "cut short after {took:?}");
    let _writer = late.wait().unwrap();
}

#[test]
fn parking_on_something_else_or_ending_drops_the_timer() {
    let (mut reader, mut writer) = pair().unwrap();
    reader
        .set_read_timeout(Some(Duration::from_secs(3600)))
        .unwrap();
    let go = Event::new();
    let go_in_task = go.clone();
    let task = spawn(move || {
        let mut byte = [0; 1];
        reader.read_exact(&mut byte).unwrap();
        // Parked on an event now: its socket timer must not stay behind.
        go_in_task.wait();
        byte[0]
    });
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
    sleep(Duration::from_millis(5));
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
