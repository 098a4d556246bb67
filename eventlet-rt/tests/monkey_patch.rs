//! `monkey_patch()` with std's own blocking calls: sleeps, sockets, `poll`,
//! DNS, timeouts, kills, closes, flags, and descriptors shared with plain
//! threads. Patching is process-wide, so every test here patches first; what
//! happens before the patch runs in a child process.

mod child;

use std::cell::Cell;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

use eventlet_rt::{TimedOut, monkey_patch, spawn, with_timeout};

/// Stands for a third-party crate: plain std, no `#[green]`.
mod third_party {
    use std::net::TcpStream;
    use std::time::Duration;

    pub fn nap_then_connect(addr: std::net::SocketAddr) -> std::io::Result<TcpStream> {
        std::thread::sleep(Duration::from_millis(200));
        TcpStream::connect(addr)
    }
}

/// Runs `count` copies of `work` as green threads at once and returns how
/// many of them had started when the first one ended. Copies that park only
/// their own green thread have all started by then (the hub runs every
/// runnable green thread before it looks at its timers and sockets); a copy
/// that blocks the OS thread ends before the next one starts. Unlike a bound
/// on the wall time, this holds however busy the machine is.
fn started_before_the_first_end(count: usize, work: impl Fn() + Clone + 'static) -> usize {
    let started = Rc::new(Cell::new(0));
    let seen_at_first_end = Rc::new(Cell::new(None));
    let threads: Vec<_> = (0..count)
        .map(|_| {
            let (work, started) = (work.clone(), started.clone());
            let seen = seen_at_first_end.clone();
            spawn(move || {
                started.set(started.get() + 1);
                work();
                if seen.get().is_none() {
                    seen.set(Some(started.get()));
                }
            })
        })
        .collect();
    for thread in threads {
        thread.wait().unwrap();
    }
    seen_at_first_end.get().unwrap_or(0)
}

/// Asserts that `count` copies of `work` (each waiting about 200 ms) overlapped.
fn assert_overlap(what: &str, count: usize, work: impl Fn() + Clone + 'static) {
    let overlapping = started_before_the_first_end(count, work);
    assert_eq!(
        overlapping, count,
        "{count} {what} did not overlap: {overlapping} had started when the first ended"
    );
}

#[test]
fn third_party_code_runs_green_after_monkey_patch() {
    monkey_patch();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // The listener's backlog holds the ten connections; nobody accepts.
    assert_overlap("200 ms naps", 10, move || {
        third_party::nap_then_connect(addr).unwrap();
    });
    drop(listener);
}

#[test]
#[ignore = "run by third_party_code_blocks_before_monkey_patch in a child process"]
fn child_third_party_code_blocks_unpatched() {
    if !child::is_child() {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let overlapping = started_before_the_first_end(5, move || {
        third_party::nap_then_connect(addr).unwrap();
    });
    println!("started before the first end: {overlapping}");
    println!("{}", child::CHILD_DONE);
}

#[test]
fn third_party_code_blocks_before_monkey_patch() {
    let output = child::run_child("child_third_party_code_blocks_unpatched");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains(child::CHILD_DONE), "child failed: {stdout}");
    let overlapping: usize = stdout
        .lines()
        .find_map(|line| line.split("started before the first end: ").nth(1))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        overlapping, 1,
        "five 200 ms naps ran one after another: {overlapping} had started when the first ended"
    );
}

#[test]
fn std_sockets_echo_between_green_threads_while_a_ticker_ticks() {
    monkey_patch();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = spawn(move || {
        for _ in 0..20 {
            let (mut conn, _) = listener.accept().unwrap();
            spawn(move || {
                let mut buf = [0; 64];
                loop {
                    match conn.read(&mut buf).unwrap() {
                        0 => return,
                        n => conn.write_all(&buf[..n]).unwrap(),
                    }
                }
            });
        }
    });
    let ticks = Rc::new(Cell::new(0));
    let done = Rc::new(Cell::new(false));
    let (t, d) = (ticks.clone(), done.clone());
    let ticker = spawn(move || {
        while !d.get() {
            std::thread::sleep(Duration::from_millis(10));
            t.set(t.get() + 1);
        }
    });
    assert_overlap("echo clients", 20, move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        for round in 0..10u8 {
            stream.write_all(&[round; 32]).unwrap();
            let mut back = [0; 32];
            stream.read_exact(&mut back).unwrap();
            assert_eq!(back, [round; 32]);
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    done.set(true);
    ticker.wait().unwrap();
    server.wait().unwrap();
    assert!(
        ticks.get() >= 3,
        "the ticker ran while the clients talked: {}",
        ticks.get()
    );
}

#[test]
fn read_timeout_gives_would_block_while_others_run() {
    monkey_patch();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    let other = spawn(move || r.set(true));
    let mut client = TcpStream::connect(addr).unwrap();
    let (_server_side, _) = listener.accept().unwrap();
    client
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let start = Instant::now();
    let error = client.read(&mut [0; 8]).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::WouldBlock, "{error}");
    assert!(start.elapsed() >= Duration::from_millis(90));
    assert!(ran.get(), "another green thread ran during the wait");
    other.wait().unwrap();
}

#[test]
fn with_timeout_around_a_patched_read_times_out_and_the_stream_stays_usable() {
    monkey_patch();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (mut server_side, _) = listener.accept().unwrap();
    let outcome = with_timeout(Duration::from_millis(50), || client.read(&mut [0; 8]));
    match outcome {
        Err(TimedOut) => {}
        Ok(Err(error)) => assert_eq!(error.kind(), ErrorKind::TimedOut, "{error}"),
        Ok(Ok(n)) => panic!("read {n} bytes from a silent peer"),
    }
    // The timeout is spent: later calls work.
    server_side.write_all(b"late").unwrap();
    let mut buf = [0; 4];
    client.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"late");
}

#[test]
fn a_killed_reader_fails_its_read_and_unwinds_at_its_next_green_block() {
    monkey_patch();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (_server_side, _) = listener.accept().unwrap();
    let saw = Rc::new(Cell::new(None));
    let s = saw.clone();
    let reader = spawn(move || {
        let error = client.read(&mut [0; 8]).unwrap_err();
        s.set(Some(error.kind()));
        eventlet_rt::sleep(Duration::from_secs(60)); // unwinds here
        unreachable!("a killed green thread went on");
    });
    eventlet_rt::yield_now();
    reader.kill();
    assert!(reader.wait().unwrap_err().is_killed());
    assert!(
        saw.get()
            .is_some_and(|kind| kind != ErrorKind::WouldBlock && kind != ErrorKind::Interrupted)
    );
}

#[test]
fn closing_a_socket_wakes_the_green_thread_waiting_on_it_with_an_error() {
    monkey_patch();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (_server_side, _) = listener.accept().unwrap();
    let fd = client.as_raw_fd();
    let reader = spawn(move || {
        // SAFETY: a read into a local buffer on a descriptor that may get closed.
        let n = unsafe { libc::read(fd, [0u8; 8].as_mut_ptr().cast(), 8) };
        (n, std::io::Error::last_os_error().raw_os_error())
    });
    eventlet_rt::yield_now(); // it blocks in read
    drop(client); // close(fd)
    let (n, errno) = reader.wait().unwrap();
    assert_eq!((n, errno), (-1, Some(libc::EBADF)));
    // The descriptor is closed for good afterwards.
    assert_eq!(unsafe { libc::fcntl(fd, libc::F_GETFD) }, -1);
}

#[test]
fn a_plain_os_thread_sharing_a_descriptor_is_untouched() {
    monkey_patch();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server_side, _) = listener.accept().unwrap();
    let mut plain_side = server_side.try_clone().unwrap();
    // A green read on the descriptor times out (it is shared, blocking).
    let mut green_side = server_side;
    green_side
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    assert_eq!(
        green_side.read(&mut [0; 1]).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
    green_side.set_read_timeout(None).unwrap();
    let plain = std::thread::spawn(move || {
        // Blocks this OS thread in the kernel, as without the patch.
        let mut buf = [0; 5];
        plain_side.read_exact(&mut buf).unwrap();
        plain_side.write_all(b"world").unwrap();
        buf
    });
    std::thread::sleep(Duration::from_millis(50)); // green: the hub runs meanwhile
    client.write_all(b"hello").unwrap();
    let mut answer = [0; 5];
    client.read_exact(&mut answer).unwrap();
    assert_eq!(&plain.join().unwrap(), b"hello");
    assert_eq!(&answer, b"world");
}

#[test]
#[ignore = "run by descriptors_made_before_monkey_patch_become_green in a child process"]
fn child_descriptors_made_before_monkey_patch() {
    if !child::is_child() {
        return;
    }
    // Made strictly before the patch: this child process patches below.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut early = TcpStream::connect(addr).unwrap();
    let (mut early_server, _) = listener.accept().unwrap();
    early_server
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    monkey_patch();
    let reader = spawn(move || {
        let mut buf = [0; 3];
        early_server.read_exact(&mut buf).unwrap();
        buf
    });
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    let other = spawn(move || r.set(true));
    eventlet_rt::yield_now();
    eventlet_rt::yield_now();
    assert!(ran.get(), "the reader parked instead of blocking the hub");
    early.write_all(b"abc").unwrap();
    assert_eq!(&reader.wait().unwrap(), b"abc");
    other.wait().unwrap();
    // The listener from before the patch accepts green too.
    let acceptor = spawn(move || listener.accept().map(|_| ()));
    eventlet_rt::yield_now();
    let _late = TcpStream::connect(addr).unwrap();
    acceptor.wait().unwrap().unwrap();
    println!("{}", child::CHILD_DONE);
}

#[test]
fn descriptors_made_before_monkey_patch_become_green() {
    let output = child::run_child("child_descriptors_made_before_monkey_patch");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(child::CHILD_DONE),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_blocking_write_sends_everything_while_the_peer_reads_slowly() {
    monkey_patch();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (mut server_side, _) = listener.accept().unwrap();
    let payload: Vec<u8> = (0..8 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let expected = payload.clone();
    let writer = spawn(move || {
        let fd = client.as_raw_fd();
        // One write(2) of 8 MiB on a blocking socket: the kernel would send
        // all of it before returning, and so does the green version.
        // SAFETY: the payload outlives the call.
        let written = unsafe { libc::write(fd, payload.as_ptr().cast(), payload.len()) };
        drop(client);
        written
    });
    let mut received = Vec::new();
    let mut buf = vec![0; 256 * 1024];
    loop {
        match server_side.read(&mut buf).unwrap() {
            0 => break,
            n => received.extend_from_slice(&buf[..n]),
        }
        eventlet_rt::sleep(Duration::from_millis(1));
    }
    assert_eq!(writer.wait().unwrap(), expected.len() as isize);
    assert!(received == expected, "every byte arrived in order");
}

#[test]
fn vectored_io_udp_and_select_park_only_the_caller() {
    monkey_patch();
    // readv/writev through std's vectored calls.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (mut server_side, _) = listener.accept().unwrap();
    let reader = spawn(move || {
        let (mut a, mut b) = ([0; 3], [0; 4]);
        let mut bufs = [
            std::io::IoSliceMut::new(&mut a),
            std::io::IoSliceMut::new(&mut b),
        ];
        let n = server_side.read_vectored(&mut bufs).unwrap();
        (n, a, b)
    });
    eventlet_rt::yield_now();
    let written = client
        .write_vectored(&[
            std::io::IoSlice::new(b"abc"),
            std::io::IoSlice::new(b"defg"),
        ])
        .unwrap();
    assert_eq!(written, 7);
    assert_eq!(reader.wait().unwrap(), (7, *b"abc", *b"defg"));

    // UDP: recv_from parks until the datagram comes.
    let receiver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = receiver.local_addr().unwrap();
    let waiting = spawn(move || {
        let mut buf = [0; 16];
        let (n, _) = receiver.recv_from(&mut buf).unwrap();
        buf[..n].to_vec()
    });
    eventlet_rt::yield_now();
    let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sender.send_to(b"datagram", to).unwrap();
    assert_eq!(waiting.wait().unwrap(), b"datagram");

    // select(2) with a timeout, ten at once.
    assert_overlap("200 ms selects", 10, move || {
        let quiet = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let fd = quiet.as_raw_fd();
        // SAFETY: an fd_set and a timeval of our own.
        let ready = unsafe {
            let mut read: libc::fd_set = std::mem::zeroed();
            libc::FD_SET(fd, &mut read);
            let mut timeout = libc::timeval {
                tv_sec: 0,
                tv_usec: 200_000,
            };
            libc::select(
                fd + 1,
                &mut read,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                &mut timeout,
            )
        };
        assert_eq!(ready, 0);
    });
}

#[test]
fn a_kill_ends_a_patched_sleep_early_and_unwinds_the_sleeper() {
    monkey_patch();
    let woke_early = Rc::new(Cell::new(false));
    let w = woke_early.clone();
    let sleeper = spawn(move || {
        let start = Instant::now();
        std::thread::sleep(Duration::from_secs(30));
        w.set(start.elapsed() < Duration::from_secs(10));
        eventlet_rt::yield_now(); // the pending kill unwinds here
        unreachable!("a killed green thread went on");
    });
    eventlet_rt::yield_now();
    sleeper.kill();
    assert!(sleeper.wait().unwrap_err().is_killed());
    assert!(woke_early.get(), "the sleep ended at the kill");
}

#[test]
fn a_listener_accepted_on_by_green_threads_still_looks_blocking() {
    monkey_patch();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let fd = listener.as_raw_fd();
    let acceptors: Vec<_> = (0..2)
        .map(|_| {
            let listener = listener.try_clone().unwrap();
            spawn(move || listener.accept().map(|_| ()))
        })
        .collect();
    eventlet_rt::yield_now(); // both park in accept
    let _first = TcpStream::connect(addr).unwrap();
    let _second = TcpStream::connect(addr).unwrap();
    for acceptor in acceptors {
        acceptor.wait().unwrap().unwrap();
    }
    // SAFETY: F_GETFL on an open descriptor.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    assert_eq!(
        flags & libc::O_NONBLOCK,
        0,
        "F_GETFL shows the flags the program set"
    );
    listener.set_nonblocking(true).unwrap();
    assert_eq!(listener.accept().unwrap_err().kind(), ErrorKind::WouldBlock);
    // SAFETY: as above.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    assert_ne!(flags & libc::O_NONBLOCK, 0);
}

#[test]
fn connect_to_a_closed_port_is_refused_and_dns_resolves_green() {
    monkey_patch();
    let unused = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = unused.local_addr().unwrap();
    drop(unused);
    let refused = spawn(move || TcpStream::connect(addr).map(drop));
    assert_eq!(
        refused.wait().unwrap().unwrap_err().kind(),
        ErrorKind::ConnectionRefused
    );
    let resolved = spawn(|| {
        ("localhost", 80)
            .to_socket_addrs()
            .map(|addrs| addrs.count())
    });
    assert!(resolved.wait().unwrap().unwrap() >= 1);
}

#[test]
fn connect_timeout_polls_green() {
    monkey_patch();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    assert_overlap("200 ms polls", 10, move || {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
        // poll(2) with a timeout, as crates do: nothing to read for 200 ms.
        let mut fds = [libc::pollfd {
            fd: stream.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), 1, 200) };
        assert_eq!(ready, 0);
    });
}

#[test]
fn child_processes_run_from_green_threads_after_monkey_patch() {
    monkey_patch();
    let runs: Vec<_> = (0..4)
        .map(|i| {
            spawn(move || {
                let output = std::process::Command::new("sh")
                    .args(["-c", &format!("sleep 0.2; echo run {i}")])
                    .output()
                    .unwrap();
                String::from_utf8(output.stdout).unwrap()
            })
        })
        .collect();
    for (i, run) in runs.into_iter().enumerate() {
        assert_eq!(run.wait().unwrap(), format!("run {i}\n"));
    }
}

#[test]
fn every_os_thread_with_a_hub_gets_green_calls() {
    monkey_patch();
    let hub_threads: Vec<_> = (0..2)
        .map(|_| {
            std::thread::spawn(|| {
                started_before_the_first_end(10, || std::thread::sleep(Duration::from_millis(200)))
            })
        })
        .collect();
    for thread in hub_threads {
        let overlapping = thread.join().unwrap();
        assert_eq!(
            overlapping, 10,
            "ten 200 ms naps did not overlap: {overlapping} had started when the first ended"
        );
    }
}

#[test]
fn a_library_opened_after_monkey_patch_blocks_green_too() {
    monkey_patch();
    // A shared library built now and opened only after the patch, whose
    // own GOT slot for nanosleep the patch could not have seen.
    let dir = std::env::temp_dir().join(format!("eventlet-dlopen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join("nap.c");
    std::fs::write(
        &source,
        "#include <time.h>\nvoid nap(void) { struct timespec t = {0, 200000000}; nanosleep(&t, 0); }\n",
    )
    .unwrap();
    let library = dir.join("libnap.so");
    let built = std::process::Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&library)
        .arg(&source)
        .status()
        .unwrap();
    assert!(built.success(), "cc failed");
    let path = std::ffi::CString::new(library.to_str().unwrap()).unwrap();
    // SAFETY: a library of our own, with a `void nap(void)`.
    let nap: extern "C" fn() = unsafe {
        let handle = libc::dlopen(path.as_ptr(), libc::RTLD_NOW);
        assert!(!handle.is_null(), "dlopen failed");
        let symbol = libc::dlsym(handle, c"nap".as_ptr());
        assert!(!symbol.is_null());
        std::mem::transmute::<*mut libc::c_void, extern "C" fn()>(symbol)
    };
    assert_overlap("200 ms naps of the late library", 10, move || nap());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ten_pselects_with_a_timeout_overlap() {
    monkey_patch();
    assert_overlap("200 ms pselects", 10, move || {
        let quiet = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let fd = quiet.as_raw_fd();
        // SAFETY: an fd_set, a timespec and a signal mask of our own.
        let ready = unsafe {
            let mut read: libc::fd_set = std::mem::zeroed();
            libc::FD_SET(fd, &mut read);
            let timeout = libc::timespec {
                tv_sec: 0,
                tv_nsec: 200_000_000,
            };
            let mut mask: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut mask);
            libc::pselect(
                fd + 1,
                &mut read,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                &timeout,
                &mask,
            )
        };
        assert_eq!(ready, 0);
    });
}

/// A `mmsghdr` over one buffer of `buffer`.
fn one_buffer_message(buffer: &mut [u8], iov: &mut libc::iovec) -> libc::mmsghdr {
    *iov = libc::iovec {
        iov_base: buffer.as_mut_ptr().cast(),
        iov_len: buffer.len(),
    };
    // SAFETY: all zeros is an empty `mmsghdr`; it gets one buffer.
    let mut message: libc::mmsghdr = unsafe { std::mem::zeroed() };
    message.msg_hdr.msg_iov = iov;
    message.msg_hdr.msg_iovlen = 1;
    message
}

#[test]
fn several_messages_and_whole_messages_park_only_the_caller() {
    monkey_patch();
    // recvmmsg waits for both datagrams; sendmmsg sends both.
    let receiver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    receiver
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let to = receiver.local_addr().unwrap();
    let batch = spawn(move || {
        let (mut first, mut second) = ([0u8; 16], [0u8; 16]);
        let (mut iov_a, mut iov_b) = (
            libc::iovec {
                iov_base: std::ptr::null_mut(),
                iov_len: 0,
            },
            libc::iovec {
                iov_base: std::ptr::null_mut(),
                iov_len: 0,
            },
        );
        let mut messages = [
            one_buffer_message(&mut first, &mut iov_a),
            one_buffer_message(&mut second, &mut iov_b),
        ];
        // SAFETY: two messages over our own buffers.
        let got = unsafe {
            libc::recvmmsg(
                receiver.as_raw_fd(),
                messages.as_mut_ptr(),
                2,
                0,
                std::ptr::null_mut(),
            )
        };
        let lengths = messages.map(|message| message.msg_len as usize);
        (
            got,
            first[..lengths[0]].to_vec(),
            second[..lengths[1]].to_vec(),
        )
    });
    eventlet_rt::yield_now();
    let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sender.connect(to).unwrap();
    sender.send(b"one").unwrap();
    eventlet_rt::sleep(Duration::from_millis(50)); // the receiver parked, not the hub
    let mut two = *b"two";
    let mut iov = libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    };
    let mut message = [one_buffer_message(&mut two, &mut iov)];
    let sent = spawn(move || {
        // SAFETY: one message over our own buffer.
        unsafe { libc::sendmmsg(sender.as_raw_fd(), message.as_mut_ptr(), 1, 0) }
    });
    assert_eq!(sent.wait().unwrap(), 1);
    assert_eq!(batch.wait().unwrap(), (2, b"one".to_vec(), b"two".to_vec()));

    // recvmsg with MSG_WAITALL fills its whole buffer from two writes.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server_side, _) = listener.accept().unwrap();
    server_side
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let whole = spawn(move || {
        let mut buffer = [0u8; 10];
        let mut iov = libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        };
        let mut message = one_buffer_message(&mut buffer, &mut iov).msg_hdr;
        // SAFETY: a message over our own buffer.
        let got =
            unsafe { libc::recvmsg(server_side.as_raw_fd(), &mut message, libc::MSG_WAITALL) };
        (got, buffer)
    });
    eventlet_rt::yield_now();
    client.write_all(b"hello").unwrap();
    eventlet_rt::sleep(Duration::from_millis(50));
    client.write_all(b"world").unwrap();
    assert_eq!(whole.wait().unwrap(), (10, *b"helloworld"));
}
