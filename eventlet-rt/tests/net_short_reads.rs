//! A stream read that returns fewer bytes than it asked for tells the hub the
//! receive buffer is empty, and the next read waits for the poller's next
//! readable edge instead of trying `recv` first. These tests check that no
//! byte and no end of file is ever missed that way: data that arrives between
//! two reads, before the reader comes back, in many small pieces, through
//! `read_vectored`, through a second handle, and a peer that closes.

mod lcg;
mod tcp_pair;

use std::cell::{Cell, RefCell};
use std::io::{self, IoSliceMut, Read, Write};
use std::rc::Rc;
use std::time::Duration;

use eventlet_rt::green::net::Shutdown;
use eventlet_rt::{hub, sleep, spawn, yield_now};
use lcg::Lcg;
use tcp_pair::pair;

#[test]
fn data_written_while_the_reader_is_away_is_read_after_a_short_read() {
    let (mut reader, mut writer) = pair().unwrap();
    writer.write_all(b"first").unwrap();
    let mut buf = [0; 64];
    assert_eq!(reader.read(&mut buf).unwrap(), 5, "a short read");
    // More arrives before the reader asks again: its edge is pending in the
    // poller, and the next read must see it.
    writer.write_all(b"second").unwrap();
    sleep(Duration::from_millis(5));
    assert_eq!(reader.read(&mut buf).unwrap(), 6);
    assert_eq!(&buf[..6], b"second");
}

#[test]
fn a_reader_parked_after_a_short_read_wakes_for_later_data() {
    let (mut reader, writer) = pair().unwrap();
    let log = Rc::new(RefCell::new(Vec::new()));
    let writer_log = log.clone();
    let writing = spawn(move || {
        let mut writer = writer;
        for piece in [&b"a"[..], b"bc", b"def"] {
            writer_log
                .borrow_mut()
                .push(format!("write {}", piece.len()));
            writer.write_all(piece).unwrap();
            sleep(Duration::from_millis(2));
        }
    });
    let mut buf = [0; 16];
    for expected in [&b"a"[..], b"bc", b"def"] {
        let n = reader.read(&mut buf).unwrap();
        log.borrow_mut().push(format!("read {n}"));
        assert_eq!(&buf[..n], expected);
    }
    writing.wait().unwrap();
    assert_eq!(
        *log.borrow(),
        [
            "write 1", "read 1", "write 2", "read 2", "write 3", "read 3"
        ]
    );
}

#[test]
fn end_of_file_after_a_short_read_is_seen_even_when_it_came_with_the_data() {
    let (mut reader, mut writer) = pair().unwrap();
    writer.write_all(b"last words").unwrap();
    writer.shutdown(Shutdown::Write).unwrap();
    // Let the poller see the readable and closed edge before the reads.
    sleep(Duration::from_millis(5));
    let mut buf = [0; 64];
    assert_eq!(reader.read(&mut buf).unwrap(), 10, "a short read");
    // No edge follows the FIN that already came: the read must not wait.
    assert_eq!(reader.read(&mut buf).unwrap(), 0);
    assert_eq!(reader.read(&mut buf).unwrap(), 0);
}

#[test]
fn end_of_file_arriving_after_a_short_read_wakes_the_reader() {
    let (mut reader, writer) = pair().unwrap();
    let closing = spawn(move || {
        let mut writer = writer;
        writer.write_all(b"bye").unwrap();
        sleep(Duration::from_millis(5));
        drop(writer);
    });
    let mut buf = [0; 64];
    assert_eq!(reader.read(&mut buf).unwrap(), 3);
    assert_eq!(reader.read(&mut buf).unwrap(), 0);
    closing.wait().unwrap();
}

#[test]
fn a_reset_after_a_short_read_is_reported() {
    let (mut reader, writer) = pair().unwrap();
    let mut writer = writer;
    writer.write_all(b"x").unwrap();
    let mut buf = [0; 64];
    assert_eq!(reader.read(&mut buf).unwrap(), 1);
    // An RST: linger 0, then close with unread data on the writer's side.
    let socket = socket2::SockRef::from(&writer);
    socket.set_linger(Some(Duration::ZERO)).unwrap();
    reader.write_all(b"unread").unwrap();
    sleep(Duration::from_millis(5));
    drop(writer);
    let error = reader.read(&mut buf).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::ConnectionReset);
}

#[test]
fn shutting_down_the_read_side_after_a_short_read_reads_end_of_file_at_once() {
    let (mut reader, mut writer) = pair().unwrap();
    writer.write_all(b"abc").unwrap();
    let mut buf = [0; 64];
    assert_eq!(reader.read(&mut buf).unwrap(), 3);
    reader.shutdown(Shutdown::Read).unwrap();
    assert_eq!(reader.read(&mut buf).unwrap(), 0);
}

#[test]
fn a_read_timeout_after_a_short_read_still_fires_and_later_data_still_arrives() {
    let (mut reader, mut writer) = pair().unwrap();
    reader
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    writer.write_all(b"one").unwrap();
    let mut buf = [0; 64];
    assert_eq!(reader.read(&mut buf).unwrap(), 3);
    let error = reader.read(&mut buf).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    writer.write_all(b"two").unwrap();
    assert_eq!(reader.read(&mut buf).unwrap(), 3);
    assert_eq!(&buf[..3], b"two");
    assert_eq!(hub::stats().io_waiters, 0);
}

#[test]
fn read_vectored_short_reads_lose_nothing() {
    let (mut reader, mut writer) = pair().unwrap();
    writer.write_all(b"hello").unwrap();
    let (mut head, mut tail) = ([0; 4], [0; 60]);
    let n = reader
        .read_vectored(&mut [IoSliceMut::new(&mut head), IoSliceMut::new(&mut tail)])
        .unwrap();
    assert_eq!(n, 5, "short: 64 bytes were offered");
    assert_eq!((&head, &tail[..1]), (b"hell", &b"o"[..]));
    writer.write_all(b" world").unwrap();
    let n = reader
        .read_vectored(&mut [IoSliceMut::new(&mut head), IoSliceMut::new(&mut tail)])
        .unwrap();
    assert_eq!(n, 6);
    assert_eq!((&head, &tail[..2]), (b" wor", &b"ld"[..]));
}

#[test]
fn a_short_read_through_one_handle_does_not_strand_a_reader_on_a_clone() {
    let (reader, mut writer) = pair().unwrap();
    let clone = reader.try_clone().unwrap();
    writer.write_all(b"12").unwrap();
    let mut first = reader;
    let mut buf = [0; 64];
    assert_eq!(
        first.read(&mut buf).unwrap(),
        2,
        "short: the socket is drained"
    );
    // The clone shares the registration, so it waits for the next edge too.
    let got = Rc::new(Cell::new(0));
    let got_by_clone = got.clone();
    let reading = spawn(move || {
        let mut clone = clone;
        let mut buf = [0; 64];
        let n = clone.read(&mut buf).unwrap();
        got_by_clone.set(n);
        buf[..n].to_vec()
    });
    yield_now();
    assert_eq!(got.get(), 0, "nothing was written: the clone waits");
    writer.write_all(b"345").unwrap();
    assert_eq!(reading.wait().unwrap(), b"345");
}

#[test]
fn random_sizes_in_both_directions_arrive_whole_and_in_order() {
    const MESSAGES: usize = 2_000;
    let (server, client) = pair().unwrap();
    let sizes = Lcg(Cell::new(7));
    let plan: Vec<usize> = (0..MESSAGES)
        .map(|_| 1 + sizes.below(9_000) as usize)
        .collect();
    let total: usize = plan.iter().sum();
    // The server echoes with a 4 KiB buffer: some reads fill it, most are
    // short, and many find the socket drained.
    let echo = spawn(move || -> io::Result<usize> {
        let mut server = server;
        let mut buf = [0; 4096];
        let mut echoed = 0;
        loop {
            match server.read(&mut buf)? {
                0 => return Ok(echoed),
                n => {
                    server.write_all(&buf[..n])?;
                    echoed += n;
                }
            }
        }
    });
    let reader = client.try_clone().unwrap();
    let expected = total;
    let checking = spawn(move || -> io::Result<usize> {
        let mut reader = reader;
        let mut buf = vec![0; 3000];
        let mut position = 0;
        while position < expected {
            let n = reader.read(&mut buf)?;
            assert_ne!(n, 0, "end of file after {position} of {expected} bytes");
            for (offset, byte) in buf[..n].iter().enumerate() {
                assert_eq!(*byte, ((position + offset) % 251) as u8);
            }
            position += n;
        }
        Ok(position)
    });
    let mut writer = client;
    let mut position = 0;
    for size in plan {
        let message: Vec<u8> = (position..position + size)
            .map(|i| (i % 251) as u8)
            .collect();
        writer.write_all(&message).unwrap();
        position += size;
        if size % 3 == 0 {
            yield_now();
        }
    }
    assert_eq!(checking.wait().unwrap().unwrap(), total);
    writer.shutdown(Shutdown::Write).unwrap();
    assert_eq!(echo.wait().unwrap().unwrap(), total);
    assert_eq!(hub::stats().io_waiters, 0);
}
