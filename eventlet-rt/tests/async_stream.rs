//! Green TCP streams as async byte streams (tokio's and futures-io's
//! `AsyncRead`/`AsyncWrite`): polled by `block_on` on a green thread, by a
//! `spawn_local` task of the hub's tokio runtime, closed peers, cancelled
//! reads, and the hub running its other green threads meanwhile.

use std::cell::Cell;
use std::pin::Pin;
use std::rc::Rc;
use std::time::{Duration, Instant};

use eventlet_rt::green::net::{Shutdown, TcpListener, TcpStream};
use eventlet_rt::{block_on, hub, sleep, spawn, with_timeout};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A connected pair: the green client end and the green server end.
fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (client, server)
}

/// The blocking-style calls, kept apart: with tokio's extension traits in
/// scope, `read`/`write_all` on a green stream name both traits' methods.
mod blocking {
    use std::io::{Read, Write};

    use eventlet_rt::green::net::TcpStream;

    /// Echoes everything it reads until the peer closes; the bytes echoed.
    pub(crate) fn echo(mut conn: TcpStream) -> usize {
        let mut buf = [0; 4096];
        let mut total = 0;
        loop {
            match conn.read(&mut buf).unwrap() {
                0 => return total,
                n => {
                    conn.write_all(&buf[..n]).unwrap();
                    total += n;
                }
            }
        }
    }

    pub(crate) fn send(conn: &mut TcpStream, bytes: &[u8]) {
        conn.write_all(bytes).unwrap();
    }

    pub(crate) fn receive<const N: usize>(conn: &mut TcpStream) -> std::io::Result<[u8; N]> {
        let mut got = [0; N];
        conn.read_exact(&mut got).map(|()| got)
    }
}

use blocking::{echo, receive, send};

/// Counts its 1 ms ticks until told to stop, and the longest gap seen.
fn ticker(stop: Rc<Cell<bool>>) -> eventlet_rt::GreenThread<(u32, Duration)> {
    spawn(move || {
        let (mut ticks, mut longest) = (0, Duration::ZERO);
        let mut last = Instant::now();
        while !stop.get() {
            sleep(Duration::from_millis(1));
            longest = longest.max(last.elapsed());
            last = Instant::now();
            ticks += 1;
        }
        (ticks, longest)
    })
}

#[test]
fn block_on_round_trips_over_a_green_stream_while_green_threads_run() {
    let (mut client, server) = pair();
    let echoer = spawn(move || echo(server));
    let stop = Rc::new(Cell::new(false));
    let ticks = ticker(stop.clone());
    let sizes = [1, 100, 70_000, 3, 1 << 20];
    let echoed = block_on(async {
        let mut total = 0;
        for size in sizes {
            let message: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            // Written and read at once: a large message fills the socket
            // buffers both ways, so both polls go pending and are woken.
            let mut reply = vec![0; size];
            let (reader, writer) = (&mut client.try_clone().unwrap(), &mut client);
            let (written, read) =
                tokio::join!(writer.write_all(&message), reader.read_exact(&mut reply));
            written.unwrap();
            read.unwrap();
            assert!(reply == message, "the echo of {size} bytes differs");
            total += size;
        }
        AsyncWriteExt::shutdown(&mut client).await.unwrap();
        total
    });
    assert_eq!(echoed, sizes.iter().sum::<usize>());
    assert_eq!(
        echoer.wait().unwrap(),
        echoed,
        "the peer read the end of the stream"
    );
    stop.set(true);
    let (ticks, _) = ticks.wait().unwrap();
    assert!(
        ticks > 0,
        "the hub ran its other green threads while block_on waited"
    );
    assert_eq!(
        hub::stats().io_waiters,
        0,
        "no waker is left with the poller"
    );
}

#[test]
fn a_spawn_local_task_of_the_hub_reads_a_green_stream() {
    let (mut client, mut server) = pair();
    let reader = tokio::task::spawn_local(async move {
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.map(|_| got)
    });
    // The task runs on this hub while this green code writes, pausing so
    // that its reads find nothing and wait with the poller.
    for chunk in [&b"first "[..], b"second ", b"third"] {
        sleep(Duration::from_millis(20));
        send(&mut server, chunk);
    }
    drop(server);
    let got = block_on(reader).unwrap().unwrap();
    assert_eq!(got, b"first second third");
}

#[test]
fn a_spawn_local_task_keeps_running_after_the_green_code_that_started_it_moves_on() {
    let (mut client, server) = pair();
    let echoer = spawn(move || echo(server));
    let task = tokio::task::spawn_local(async move {
        for round in 0..50u32 {
            client.write_all(&round.to_be_bytes()).await?;
            let mut back = [0; 4];
            client.read_exact(&mut back).await?;
            assert_eq!(u32::from_be_bytes(back), round);
        }
        AsyncWriteExt::shutdown(&mut client).await
    });
    // Nothing here waits on the task until it has run alone for a while:
    // the hub drives it while this green thread sleeps.
    sleep(Duration::from_millis(50));
    assert_eq!(echoer.wait().unwrap(), 200);
    block_on(task).unwrap().unwrap();
}

#[test]
fn a_read_sees_the_end_of_the_stream_and_a_write_to_a_closed_peer_fails() {
    let (mut client, server) = pair();
    let closer = spawn(move || {
        sleep(Duration::from_millis(20));
        drop(server);
    });
    let mut buf = [0; 16];
    assert_eq!(block_on(client.read(&mut buf)).unwrap(), 0, "end of stream");
    closer.wait().unwrap();
    let error = block_on(async {
        // The first writes may still be taken by the kernel; the peer's
        // reset then fails the next ones.
        loop {
            if let Err(e) = client.write_all(&[7; 65536]).await {
                return e;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
    assert!(
        matches!(
            error.kind(),
            std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
        ),
        "{error:?}"
    );
}

#[test]
fn a_timed_out_read_leaves_the_stream_usable() {
    let (mut client, mut server) = pair();
    let mut buf = [0; 5];
    let timed_out = block_on(tokio::time::timeout(
        Duration::from_millis(30),
        client.read_exact(&mut buf),
    ));
    assert!(timed_out.is_err(), "nothing was sent, so the read waited");
    // The same through eventlet's own timeout, which unwinds the green thread.
    let outcome = with_timeout(Duration::from_millis(30), || {
        block_on(client.read(&mut buf))
    });
    assert!(outcome.is_err(), "{outcome:?}");
    send(&mut server, b"hello");
    block_on(client.read_exact(&mut buf)).unwrap();
    assert_eq!(&buf, b"hello");
}

#[test]
fn futures_io_reads_and_writes_a_green_stream() {
    use futures_io::{AsyncRead, AsyncWrite};

    let (mut client, server) = pair();
    let echoer = spawn(move || echo(server));
    let message = b"through futures-io";
    let written = block_on(std::future::poll_fn(|cx| {
        Pin::new(&mut client).poll_write(cx, message)
    }))
    .unwrap();
    assert_eq!(written, message.len());
    let mut got = Vec::new();
    while got.len() < message.len() {
        let mut buf = [0; 64];
        let read = block_on(std::future::poll_fn(|cx| {
            Pin::new(&mut client).poll_read(cx, &mut buf)
        }))
        .unwrap();
        got.extend_from_slice(&buf[..read]);
    }
    assert_eq!(got, message);
    block_on(std::future::poll_fn(|cx| {
        Pin::new(&mut client).poll_close(cx)
    }))
    .unwrap();
    assert_eq!(echoer.wait().unwrap(), message.len());
}

#[test]
fn a_blocking_reader_and_an_async_writer_share_one_stream() {
    let (client, server) = pair();
    let mut blocking_reader = client.try_clone().unwrap();
    let reader = spawn(move || receive::<6>(&mut blocking_reader));
    let echoer = spawn(move || echo(server));
    let mut writer = client;
    block_on(writer.write_all(b"shared")).unwrap();
    assert_eq!(&reader.wait().unwrap().unwrap(), b"shared");
    writer.shutdown(Shutdown::Write).unwrap();
    assert_eq!(echoer.wait().unwrap(), 6);
}
