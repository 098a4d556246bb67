//! The hooks of `monkey_patch()` are as safe as the calls they replace:
//! fork-safe, async-signal-safe, never parked inside std's per-OS-thread
//! stdio or panic state, and never trusting a short read where the kernel
//! stops early with data left. What could hang or abort runs in a child
//! process, which the parent kills when it outlives its deadline.

mod child;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use eventlet_rt::{monkey_patch, spawn};

/// How long a child may run before it counts as hung.
const CHILD_DEADLINE: Duration = Duration::from_secs(60);

/// Runs the ignored child test `name`, killing it past [`CHILD_DEADLINE`];
/// returns its stdout and stderr after asserting it ran to its end.
fn finished_child(name: &str) -> (String, String) {
    let mut running = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            name,
            "--nocapture",
            "--test-threads=1",
        ])
        .env("EVENTLET_CHILD", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = running.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > CHILD_DEADLINE {
            running.kill().unwrap();
            running.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (mut stdout, mut stderr) = (String::new(), String::new());
    running
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    running
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = status
        .unwrap_or_else(|| panic!("{name} hung past {CHILD_DEADLINE:?}:\n{stdout}\n{stderr}"));
    assert!(
        status.success() && stdout.contains(child::CHILD_DONE),
        "{name} failed ({status}):\n{stdout}\n{stderr}"
    );
    (stdout, stderr)
}

/// A socket that stays open: the descriptor whose duplicates the tests make.
fn some_socket() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").unwrap()
}

#[test]
#[ignore = "run by forks_never_hang_on_the_hooks_state in a child process"]
fn child_forks_while_another_thread_duplicates_descriptors() {
    if !child::is_child() {
        return;
    }
    monkey_patch();
    let socket = some_socket();
    let fd = socket.as_raw_fd();
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let churn = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                // SAFETY: duplicates of an open descriptor, closed at once.
                unsafe {
                    let copy = libc::dup(fd);
                    let again = libc::fcntl(copy, libc::F_DUPFD_CLOEXEC, 0);
                    libc::close(again);
                    libc::close(copy);
                }
            }
        })
    };
    for _ in 0..150 {
        let mut command = Command::new("true");
        // Redirected stdio makes the child `dup2` after the fork; `pre_exec`
        // makes std fork instead of `posix_spawn`.
        command.stdout(Stdio::null()).stdin(Stdio::null());
        // SAFETY: the closure only returns.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut command, || Ok(()));
        }
        assert!(command.status().unwrap().success());
    }
    stop.store(true, Ordering::Relaxed);
    churn.join().unwrap();
    println!("{}", child::CHILD_DONE);
}

#[test]
fn forks_never_hang_on_the_hooks_state() {
    finished_child("child_forks_while_another_thread_duplicates_descriptors");
}

static HANDLER_FD: AtomicUsize = AtomicUsize::new(0);
static HANDLER_RUNS: AtomicUsize = AtomicUsize::new(0);

extern "C" fn duplicate_in_handler(_: libc::c_int) {
    let fd = HANDLER_FD.load(Ordering::Relaxed) as RawFd;
    let runs = HANDLER_RUNS.fetch_add(1, Ordering::Relaxed);
    // SAFETY: POSIX lists dup, fcntl and close as async-signal-safe; the
    // descriptors are ours or closed numbers (which fail with EBADF).
    unsafe {
        let copy = libc::dup(fd);
        libc::fcntl(copy, libc::F_GETFL);
        libc::close(copy);
        // A number in a part of the descriptor table no hook has seen yet.
        libc::fcntl(1024 * (1 + runs % 1000) as RawFd + 7, libc::F_GETFL);
    }
}

#[test]
#[ignore = "run by descriptor_calls_in_signal_handlers_never_deadlock in a child process"]
fn child_signal_handlers_duplicate_descriptors() {
    if !child::is_child() {
        return;
    }
    monkey_patch();
    let socket = some_socket();
    let fd = socket.as_raw_fd();
    HANDLER_FD.store(fd as usize, Ordering::Relaxed);
    // SAFETY: a handler that makes only async-signal-safe calls.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = duplicate_in_handler as *const () as usize;
        action.sa_flags = libc::SA_RESTART;
        assert_eq!(
            libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()),
            0
        );
    }
    // SAFETY: `pthread_self` has no preconditions.
    let target = unsafe { libc::pthread_self() } as usize;
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let signaller = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                // SAFETY: the target thread lives until `stop` is set.
                unsafe { libc::pthread_kill(target as libc::pthread_t, libc::SIGUSR1) };
                std::thread::sleep(Duration::from_micros(20));
            }
        })
    };
    let start = Instant::now();
    while HANDLER_RUNS.load(Ordering::Relaxed) < 2000 || start.elapsed() < Duration::from_secs(1) {
        // SAFETY: duplicates of an open descriptor, closed at once; the
        // vector keeps the allocator busy too.
        unsafe {
            let copy = libc::dup(fd);
            let spare: Vec<u8> = Vec::with_capacity(64 + copy as usize);
            drop(spare);
            libc::close(copy);
        }
    }
    stop.store(true, Ordering::Relaxed);
    signaller.join().unwrap();
    println!("{}", child::CHILD_DONE);
}

#[test]
fn descriptor_calls_in_signal_handlers_never_deadlock() {
    finished_child("child_signal_handlers_duplicate_descriptors");
}

/// A connected pair whose `full` end has its send buffer full: a blocking
/// write on it waits until someone reads the `drain` end.
fn full_pair() -> (UnixStream, UnixStream) {
    let (full, drain) = UnixStream::pair().unwrap();
    let chunk = [b'.'; 4096];
    loop {
        // SAFETY: a buffer of our own; MSG_DONTWAIT never blocks.
        let sent = unsafe {
            libc::send(
                full.as_raw_fd(),
                chunk.as_ptr().cast(),
                chunk.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if sent < 0 {
            break;
        }
    }
    (full, drain)
}

/// Reads `drain` from a plain thread after a pause, until `marker` has
/// come; returns what came after the filler.
fn drain_later(mut drain: UnixStream, marker: &'static str) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        let mut seen = Vec::new();
        let mut buf = [0; 65536];
        while !String::from_utf8_lossy(&seen).contains(marker) {
            match drain.read(&mut buf).unwrap() {
                0 => break,
                n => seen.extend(buf[..n].iter().filter(|&&b| b != b'.')),
            }
        }
        String::from_utf8(seen).unwrap()
    })
}

#[test]
#[ignore = "run by panics_with_stderr_on_a_full_socket_do_not_abort in a child process"]
fn child_two_green_threads_panic_with_stderr_on_a_full_socket() {
    if !child::is_child() {
        return;
    }
    monkey_patch();
    let (full, drain) = full_pair();
    // SAFETY: stderr becomes the socket; the original is kept to restore it.
    let saved = unsafe { libc::dup(2) };
    // SAFETY: both descriptors are open.
    assert_eq!(unsafe { libc::dup2(full.as_raw_fd(), 2) }, 2);
    let reader = drain_later(drain, "second panic");
    let first = spawn(|| panic!("first panic"));
    let second = spawn(|| {
        eventlet_rt::yield_now();
        panic!("second panic")
    });
    assert_eq!(
        first.wait().unwrap_err().panic_message(),
        Some("first panic")
    );
    assert_eq!(
        second.wait().unwrap_err().panic_message(),
        Some("second panic")
    );
    // SAFETY: `saved` is the original stderr.
    unsafe { libc::dup2(saved, 2) };
    let seen = reader.join().unwrap();
    assert!(
        seen.contains("first panic") && seen.contains("second panic"),
        "{seen}"
    );
    println!("{}", child::CHILD_DONE);
}

#[test]
fn panics_with_stderr_on_a_full_socket_do_not_abort() {
    finished_child("child_two_green_threads_panic_with_stderr_on_a_full_socket");
}

#[test]
#[ignore = "run by println_with_stdout_on_a_full_socket_never_reenters_stdout in a child process"]
fn child_two_green_threads_print_with_stdout_on_a_full_socket() {
    if !child::is_child() {
        return;
    }
    monkey_patch();
    let (full, drain) = full_pair();
    // SAFETY: stdout becomes the socket; the original is kept to restore it.
    let saved = unsafe { libc::dup(1) };
    // SAFETY: both descriptors are open.
    assert_eq!(unsafe { libc::dup2(full.as_raw_fd(), 1) }, 1);
    let reader = drain_later(drain, "second line");
    let first = spawn(|| println!("first line"));
    let second = spawn(|| {
        eventlet_rt::yield_now();
        println!("second line");
    });
    let outcomes = [first.wait(), second.wait()];
    std::io::stdout().flush().unwrap();
    // SAFETY: `saved` is the original stdout.
    unsafe { libc::dup2(saved, 1) };
    let seen = reader.join().unwrap();
    for outcome in outcomes {
        assert!(outcome.is_ok(), "a println! panicked: {outcome:?}");
    }
    assert!(
        seen.contains("first line") && seen.contains("second line"),
        "{seen}"
    );
    println!("{}", child::CHILD_DONE);
}

#[test]
fn println_with_stdout_on_a_full_socket_never_reenters_stdout() {
    finished_child("child_two_green_threads_print_with_stdout_on_a_full_socket");
}

/// Sends `bytes` with one descriptor attached (`SCM_RIGHTS`).
fn send_with_descriptor(socket: &UnixStream, bytes: &[u8], passed: RawFd) {
    let mut iov = libc::iovec {
        iov_base: bytes.as_ptr().cast_mut().cast(),
        iov_len: bytes.len(),
    };
    // SAFETY: CMSG_SPACE only computes a size.
    let space = unsafe { libc::CMSG_SPACE(size_of::<RawFd>() as u32) } as usize;
    let mut control = vec![0u64; space.div_ceil(8)];
    // SAFETY: a message over our own buffers, with one SCM_RIGHTS header
    // that fits the control buffer.
    let sent = unsafe {
        let mut message: libc::msghdr = std::mem::zeroed();
        message.msg_iov = &mut iov;
        message.msg_iovlen = 1;
        message.msg_control = control.as_mut_ptr().cast();
        message.msg_controllen = space as _;
        let header = libc::CMSG_FIRSTHDR(&message);
        (*header).cmsg_level = libc::SOL_SOCKET;
        (*header).cmsg_type = libc::SCM_RIGHTS;
        (*header).cmsg_len = libc::CMSG_LEN(size_of::<RawFd>() as u32) as _;
        libc::CMSG_DATA(header)
            .cast::<RawFd>()
            .write_unaligned(passed);
        libc::sendmsg(socket.as_raw_fd(), &message, 0)
    };
    assert_eq!(sent, bytes.len() as isize);
}

#[test]
fn a_read_cut_short_at_passed_descriptors_still_sees_the_bytes_behind() {
    monkey_patch();
    let (mut writer, mut reader) = UnixStream::pair().unwrap();
    reader
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let read = spawn(move || {
        let mut buf = [0; 64];
        let mut next = || reader.read(&mut buf).map(|n| buf[..n].to_vec());
        // The first read parks: the hub watches the socket from then on.
        let warm_up = next().unwrap();
        // The kernel stops this one where the descriptor was attached.
        let first = next().unwrap();
        (warm_up, first, next())
    });
    eventlet_rt::sleep(Duration::from_millis(50));
    writer.write_all(b"zero").unwrap();
    eventlet_rt::sleep(Duration::from_millis(50));
    let passed = some_socket();
    send_with_descriptor(&writer, b"first", passed.as_raw_fd());
    writer.write_all(b"second").unwrap();
    let (warm_up, first, rest) = read.wait().unwrap();
    assert_eq!(warm_up, b"zero");
    assert_eq!(first, b"first");
    assert_eq!(rest.unwrap(), b"second", "the queued bytes were read");
}

#[test]
fn a_green_connect_never_shows_o_nonblock_on_a_shared_open_file() {
    monkey_patch();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accepting = std::thread::spawn(move || {
        for connection in listener.incoming().take(300) {
            drop(connection);
        }
    });
    // Each socket is connected through the number `shared`, a duplicate
    // of it (as a child process that inherited it would hold it), while a
    // plain thread reads the open file's flags there as fast as it can.
    let shared: RawFd = 900;
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let watcher = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut nonblocking = 0;
            while !stop.load(Ordering::Relaxed) {
                // SAFETY: F_GETFL by system call, past the hooks; a closed
                // number fails with EBADF.
                let flags = unsafe { libc::syscall(libc::SYS_fcntl, shared, libc::F_GETFL) };
                if flags >= 0 && flags as libc::c_int & libc::O_NONBLOCK != 0 {
                    nonblocking += 1;
                }
            }
            nonblocking
        })
    };
    let connects = spawn(move || {
        for _ in 0..300 {
            let socket = TcpListener::bind("127.0.0.1:0").unwrap();
            drop(socket);
            let fd =
                socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
            // SAFETY: both descriptors are open; `shared` is ours to replace.
            assert_eq!(unsafe { libc::dup2(fd.as_raw_fd(), shared) }, shared);
            // SAFETY: a valid IPv4 address for the connect on `shared`.
            let connected = unsafe {
                let address = socket2::SockAddr::from(addr);
                libc::connect(shared, address.as_ptr().cast(), address.len())
            };
            assert_eq!(connected, 0, "{}", std::io::Error::last_os_error());
            // SAFETY: our duplicate.
            unsafe { libc::close(shared) };
        }
    });
    connects.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    accepting.join().unwrap();
    assert_eq!(
        watcher.join().unwrap(),
        0,
        "O_NONBLOCK showed on a shared open file during a connect"
    );
}
