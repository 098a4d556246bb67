//! The listen backlog: the one asked for is the one the kernel keeps, and a
//! burst of clients all get in while the server is not accepting yet.

use std::cell::Cell;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

use eventlet_rt::green::net::{DEFAULT_BACKLOG, TcpListener};
use eventlet_rt::{spawn, yield_now};

/// `TCP_INFO` of a listening socket: Linux reports there the most connections
/// its accept queue keeps (`tcpi_sacked`) and how many it holds now
/// (`tcpi_unacked`).
fn listener_info(listener: &TcpListener) -> libc::tcp_info {
    // SAFETY: an all-zero `tcp_info` is a valid value of this plain C struct.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: `info` and `len` are valid for writes of `len` bytes, and the
    // descriptor is the listener's, open for the whole call.
    let done = unsafe {
        libc::getsockopt(
            listener.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&raw mut info).cast(),
            &mut len,
        )
    };
    assert_eq!(done, 0, "{}", std::io::Error::last_os_error());
    info
}

fn kernel_backlog(listener: &TcpListener) -> u32 {
    listener_info(listener).tcpi_sacked
}

fn somaxconn() -> u32 {
    std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .map_or(u32::MAX, |value| value.trim().parse().unwrap())
}

#[test]
fn listen_and_bind_keep_the_default_backlog_and_listen_with_backlog_sets_it() {
    let default = DEFAULT_BACKLOG.min(somaxconn());
    assert_eq!(
        kernel_backlog(&eventlet_rt::listen("127.0.0.1:0").unwrap()),
        default
    );
    assert_eq!(
        kernel_backlog(&TcpListener::bind("127.0.0.1:0").unwrap()),
        default
    );
    let small = eventlet_rt::listen_with_backlog("127.0.0.1:0", 7).unwrap();
    assert_eq!(kernel_backlog(&small), 7);
    let huge = TcpListener::bind_with_backlog("127.0.0.1:0", u32::MAX).unwrap();
    assert_eq!(kernel_backlog(&huge), somaxconn().min(i32::MAX as u32));
}

/// Raises this process's descriptor limit to `needed` if the hard limit allows.
fn allow_descriptors(needed: u64) -> bool {
    // SAFETY: plain system calls on a valid `rlimit`.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        if limit.rlim_cur >= needed {
            return true;
        }
        if limit.rlim_max < needed {
            return false;
        }
        limit.rlim_cur = needed;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0
    }
}

#[test]
fn a_burst_of_2000_clients_all_get_in_before_the_server_accepts() {
    const CLIENTS: usize = 2000;
    if !allow_descriptors(2 * CLIENTS as u64 + 100) {
        eprintln!(
            "skipped: RLIMIT_NOFILE's hard limit is below {}",
            2 * CLIENTS + 100
        );
        return;
    }
    let listener = eventlet_rt::listen("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let connecting = Rc::new(Cell::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let connecting = connecting.clone();
            spawn(move || -> std::io::Result<u8> {
                connecting.set(connecting.get() + 1);
                let mut stream = eventlet_rt::connect(addr)?;
                stream.write_all(&[i as u8])?;
                let mut reply = [0];
                stream.read_exact(&mut reply)?;
                Ok(reply[0])
            })
        })
        .collect();
    // Every client has sent its SYN before the server takes the first one.
    while connecting.get() < CLIENTS {
        yield_now();
    }
    // The kernel completes as many handshakes as the backlog holds (std's
    // 128 held 129), with nobody accepting yet.
    let expected = CLIENTS.min(DEFAULT_BACKLOG.min(somaxconn()) as usize) as u32;
    let give_up = Instant::now() + Duration::from_secs(20);
    while listener_info(&listener).tcpi_unacked < expected && Instant::now() < give_up {
        eventlet_rt::sleep(Duration::from_millis(10));
    }
    assert!(
        listener_info(&listener).tcpi_unacked >= expected,
        "only {} of {CLIENTS} connections were queued before the first accept",
        listener_info(&listener).tcpi_unacked
    );
    let server = spawn(move || {
        for _ in 0..CLIENTS {
            let (mut stream, _) = listener.accept().unwrap();
            spawn(move || {
                let mut byte = [0];
                stream.read_exact(&mut byte).unwrap();
                stream.write_all(&byte).unwrap();
            });
        }
    });
    let failures: Vec<String> = clients
        .into_iter()
        .enumerate()
        .filter_map(|(i, client)| match client.wait().unwrap() {
            Ok(byte) if byte == i as u8 => None,
            Ok(byte) => Some(format!("client {i} got {byte}")),
            Err(error) => Some(format!("client {i}: {error}")),
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {CLIENTS} clients failed, first: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    server.wait().unwrap();
}
