//! Fifty blocking calls of about 200 ms each (child processes, pipes, FIFOs,
//! redis, MariaDB, libcurl), from fifty green threads of
//! one hub, with a ticker green thread beating every 20 ms: after
//! `monkey_patch()` they wait together and the ticker keeps its beat. Each
//! case also runs unpatched in a child process as a control, where the same
//! calls take their turns (fewer of them, `EVENTLET_CONTROL_COUNT`, 5 unless
//! set, to keep the run short).
//!
//! Timing asserts leave wide margins (the machine is shared); each case
//! prints its figures: `<case>: <count> calls in <ms> ms, longest tick gap
//! <ms> ms`.

mod child;
mod servers;

use std::cell::Cell;
use std::io::Read;
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use eventlet_rt::{monkey_patch, spawn};
use mysql::prelude::Queryable;

/// How many green threads each patched case runs.
const COUNT: usize = 50;
/// How long each call takes.
const CALL: Duration = Duration::from_millis(200);
/// The ticker's beat.
const BEAT: Duration = Duration::from_millis(20);

/// Runs `call(0..count)` as green threads while a ticker beats; returns the
/// wall time of all calls and the longest gap between two ticks.
fn together(count: usize, call: impl Fn(usize) + Clone + 'static) -> (Duration, Duration) {
    let done = Rc::new(Cell::new(false));
    let ticking = done.clone();
    let ticker = spawn(move || {
        let mut longest = Duration::ZERO;
        let mut last = Instant::now();
        while !ticking.get() {
            eventlet_rt::sleep(BEAT);
            longest = longest.max(last.elapsed());
            last = Instant::now();
        }
        longest
    });
    eventlet_rt::yield_now();
    let start = Instant::now();
    let calls: Vec<_> = (0..count)
        .map(|i| {
            let call = call.clone();
            spawn(move || call(i))
        })
        .collect();
    for call in calls {
        call.wait().unwrap();
    }
    let took = start.elapsed();
    done.set(true);
    (took, ticker.wait().unwrap())
}

/// Prints a case's figures and asserts the calls overlapped (patched) or
/// took their turns (a control).
fn report(case: &str, count: usize, (took, gap): (Duration, Duration), patched: bool) {
    println!(
        "{case}: {count} calls in {} ms, longest tick gap {} ms ({})",
        took.as_millis(),
        gap.as_millis(),
        if patched { "patched" } else { "unpatched" }
    );
    let serial = CALL * count as u32;
    if patched {
        assert!(took < serial / 2, "{case}: {count} calls took {took:?}");
        assert!(
            gap < Duration::from_secs(1),
            "{case}: the ticker stalled {gap:?}"
        );
    } else {
        assert!(took >= serial * 9 / 10, "{case}: unpatched, yet {took:?}");
        assert!(
            gap >= CALL * 9 / 10,
            "{case}: unpatched, yet the ticker kept its beat"
        );
    }
}

/// How many calls a control makes.
fn control_count() -> usize {
    std::env::var("EVENTLET_CONTROL_COUNT")
        .ok()
        .and_then(|count| count.parse().ok())
        .unwrap_or(5)
}

/// Runs the control `name` (an ignored test of this binary) unpatched in a
/// child process and shows what it printed.
fn control(name: &str) {
    let count = control_count().to_string();
    let output = child::run_child_with_env(name, &[("EVENTLET_CONTROL_COUNT", &count)]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(child::CHILD_DONE),
        "control {name} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for line in stdout
        .lines()
        .filter(|line| line.contains("longest tick gap"))
    {
        println!("{line}");
    }
}

/// `Command::status` of a child that sleeps for [`CALL`] (`wait4`).
fn command_status(_: usize) {
    let status = Command::new("sleep").arg("0.2").status().unwrap();
    assert!(status.success());
}

/// A child that writes its number to a pipe after [`CALL`]; the green
/// thread reads the pipe to its end (`read` on a pipe) and waits.
fn pipe_read(i: usize) {
    let mut child = Command::new("sh")
        .args(["-c", &format!("sleep 0.2; echo {i}")])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(out, format!("{i}\n"));
    assert!(child.wait().unwrap().success());
}

/// A FIFO that a child writes to after [`CALL`]; the green thread reads it
/// (opened read-write, so that the open itself never blocks).
fn fifo_read(i: usize) {
    let dir = std::env::temp_dir().join(format!("eventlet-fifo-{}-{i}", std::process::id()));
    let _ = std::fs::remove_file(&dir);
    let path = std::ffi::CString::new(dir.to_str().unwrap()).unwrap();
    // SAFETY: a C path of our own.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
    let mut fifo = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&dir)
        .unwrap();
    let mut child = Command::new("sh")
        .args(["-c", &format!("sleep 0.2; printf {i}. > {}", dir.display())])
        .spawn()
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0; 16];
    while !got.ends_with(b".") {
        let n = fifo.read(&mut buf).unwrap();
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, format!("{i}.").into_bytes());
    assert!(child.wait().unwrap().success());
    let _ = std::fs::remove_file(&dir);
}

/// A `BLPOP` on an empty list with a 0.2 s timeout.
fn redis_blpop(port: u16) -> impl Fn(usize) + Clone + 'static {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
    move |i| {
        let mut connection = client.get_connection().unwrap();
        let answer: Option<(String, String)> = redis::cmd("BLPOP")
            .arg(format!("empty-{i}"))
            .arg(0.2)
            .query(&mut connection)
            .unwrap();
        assert_eq!(answer, None);
    }
}

/// `SELECT SLEEP(0.2)` on MariaDB.
fn mariadb_sleep(port: u16) -> impl Fn(usize) + Clone + 'static {
    let options = mysql::OptsBuilder::new()
        .ip_or_hostname(Some("127.0.0.1"))
        .tcp_port(port)
        .user(Some("root"))
        .prefer_socket(false);
    move |_| {
        let mut connection = mysql::Conn::new(options.clone()).unwrap();
        let slept: Option<i64> = connection.query_first("SELECT SLEEP(0.2)").unwrap();
        assert_eq!(slept, Some(0));
    }
}

/// An HTTP server on plain OS threads whose every answer (the request's
/// path) takes [`CALL`]; returns its port.
fn slow_http_server() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut buf = [0; 1024];
                while !head.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                std::thread::sleep(CALL);
                let path = String::from_utf8_lossy(&head)
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("/")
                    .to_owned();
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{path}",
                    path.len()
                );
                let _ = std::io::Write::write_all(&mut stream, answer.as_bytes());
            });
        }
    });
    port
}

/// A GET with libcurl (the `curl` crate, libcurl built in), which waits in
/// `poll` inside C code.
fn curl_get(port: u16) -> impl Fn(usize) + Clone + 'static {
    move |i| {
        let mut easy = curl::easy::Easy::new();
        easy.url(&format!("http://127.0.0.1:{port}/page/{i}"))
            .unwrap();
        let mut body = Vec::new();
        {
            let mut transfer = easy.transfer();
            transfer
                .write_function(|data| {
                    body.extend_from_slice(data);
                    Ok(data.len())
                })
                .unwrap();
            transfer.perform().unwrap();
        }
        assert_eq!(body, format!("/page/{i}").into_bytes());
    }
}

/// Declares a patched case and its unpatched control: `$call` gives the
/// call, given the started server (if any).
macro_rules! case {
    ($patched:ident, $child:ident, $control:ident, $name:literal, $setup:expr) => {
        #[test]
        fn $patched() {
            monkey_patch();
            let Some((call, _server)) = $setup else {
                return;
            };
            report($name, COUNT, together(COUNT, call), true);
        }

        #[test]
        #[ignore = "run unpatched by its control test in a child process"]
        fn $child() {
            if !child::is_child() {
                return;
            }
            let Some((call, _server)) = $setup else {
                println!("{}", child::CHILD_DONE);
                return;
            };
            let count = control_count();
            report($name, count, together(count, call), false);
            println!("{}", child::CHILD_DONE);
        }

        #[test]
        fn $control() {
            control(stringify!($child));
        }
    };
}

case!(
    fifty_command_status_calls_wait_together,
    child_command_status_unpatched,
    command_status_unpatched_takes_turns,
    "Command::status",
    Some((command_status, ()))
);
case!(
    fifty_pipe_reads_wait_together,
    child_pipe_reads_unpatched,
    pipe_reads_unpatched_take_turns,
    "pipe read",
    Some((pipe_read, ()))
);
case!(
    fifty_fifo_reads_wait_together,
    child_fifo_reads_unpatched,
    fifo_reads_unpatched_take_turns,
    "FIFO read",
    Some((fifo_read, ()))
);
case!(
    fifty_redis_blpops_wait_together,
    child_redis_blpops_unpatched,
    redis_blpops_unpatched_take_turns,
    "redis BLPOP",
    servers::redis().map(|server| (redis_blpop(server.port), server))
);
case!(
    fifty_curl_gets_wait_together,
    child_curl_gets_unpatched,
    curl_gets_unpatched_take_turns,
    "curl GET",
    Some((curl_get(slow_http_server()), ()))
);
case!(
    fifty_mariadb_sleeps_wait_together,
    child_mariadb_sleeps_unpatched,
    mariadb_sleeps_unpatched_take_turns,
    "MariaDB SELECT SLEEP",
    servers::mariadb().map(|server| (mariadb_sleep(server.port), server))
);

#[test]
fn a_terminal_read_parks_only_the_green_thread() {
    monkey_patch();
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two descriptors; no name, termios or size.
    let opened = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(opened, 0);
    // SAFETY: descriptors openpty gave us, owned from here on.
    let (master, slave): (std::fs::File, std::fs::File) = unsafe {
        use std::os::fd::FromRawFd;
        (
            std::fs::File::from_raw_fd(master),
            std::fs::File::from_raw_fd(slave),
        )
    };
    let reader = spawn(move || {
        let mut line = [0; 64];
        let n = (&slave).read(&mut line).unwrap();
        line[..n].to_vec()
    });
    let (took, gap) = together(1, |_| eventlet_rt::sleep(CALL));
    assert!(
        gap < Duration::from_secs(1),
        "the ticker stalled {gap:?} while the reader waited"
    );
    assert!(took >= CALL);
    let written = std::io::Write::write(&mut &master, b"typed\n").unwrap();
    assert_eq!(written, 6);
    assert_eq!(reader.wait().unwrap(), b"typed\n");
}
