//! The web server program, run as a child process, against real clients:
//! curl, Python's `http.client`, eventlet-rt's own `http::agent()`, and wrk.

mod common;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::Program;
use eventlet_rt::http::websocket::Message;

/// Starts the server on a free loopback port; its base URL (`http://127.0.0.1:PORT`).
fn start(threads: &str) -> (Program, String) {
    let server = Program::start(
        env!("CARGO_BIN_EXE_web_server"),
        &["--host", "127.0.0.1", "--port", "0", "--threads", threads],
    );
    let line = server.next_line();
    let url = line
        .strip_prefix("listening on ")
        .and_then(|url| url.strip_suffix('/'))
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (server, url)
}

/// Runs a client program; a missing one says what to install (`.ci/run` does).
fn run(program: &str, args: &[&str]) -> Output {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {program} ({e}): install it (apt-get install {program})")
        });
    assert!(
        output.status.success(),
        "{program} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[test]
fn curl_fetches_two_urls_over_one_kept_alive_connection() {
    let (_server, url) = start("1");
    let output = run(
        "curl",
        &["-sv", &format!("{url}/plaintext"), &format!("{url}/json")],
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        r#"Hello, World!{"message":"Hello, World!"}"#
    );
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("Re-using existing connection"), "{log}");
    assert_eq!(log.matches("Connected to").count(), 1, "{log}");
    assert!(
        log.contains("< Content-Type: text/plain") || log.contains("< content-type: text/plain"),
        "{log}"
    );
}

const PYTHON_CLIENT: &str = r#"
import http.client, socket, sys
host, port = sys.argv[1], int(sys.argv[2])

# Two requests in one send: both answered, in order, on the same connection.
sock = socket.create_connection((host, port))
sock.sendall(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\nGET /json HTTP/1.1\r\nHost: x\r\n\r\n")
replies = sock.makefile("rb")
for _ in range(2):
    status = replies.readline().decode().strip()
    headers = http.client.parse_headers(replies)
    body = replies.read(int(headers["Content-Length"]))
    print(status, headers["Content-Type"], body.decode())
sock.close()

# A chunked upload, echoed back.
conn = http.client.HTTPConnection(host, port)
conn.request("POST", "/echo", body=iter([b"hello ", b"chunked ", b"world"]), encode_chunked=True)
reply = conn.getresponse()
print(reply.status, reply.read().decode())
"#;

#[test]
fn python_pipelines_two_requests_and_uploads_chunked() {
    let (_server, url) = start("1");
    let port = url.rsplit(':').next().unwrap();
    let output = run("python3", &["-c", PYTHON_CLIENT, "127.0.0.1", port]);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "HTTP/1.1 200 OK text/plain Hello, World!\n\
         HTTP/1.1 200 OK application/json {\"message\":\"Hello, World!\"}\n\
         200 hello chunked world\n"
    );
}

#[test]
fn curl_heads_every_get_route_and_its_expect_continue_upload_is_echoed_at_once() {
    let (_server, url) = start("1");
    for route in ["/", "/plaintext", "/json", "/sleep?ms=1"] {
        let output = run("curl", &["-sSI", &format!("{url}{route}")]);
        let head = String::from_utf8_lossy(&output.stdout);
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{route}: {head}");
        assert!(head.contains("Content-Length: "), "{route}: {head}");
    }
    // curl asks for 100-continue on a body over 1 MB and waits 1 s for it
    // before sending anyway; the server answers at once.
    let body = std::env::temp_dir().join(format!("eventlet-web-server-{}", std::process::id()));
    std::fs::write(&body, vec![b'e'; 2 << 20]).unwrap();
    let started = Instant::now();
    let output = run(
        "curl",
        &[
            "-sS",
            "-H",
            "Expect: 100-continue",
            "--expect100-timeout",
            "30",
            "--data-binary",
            &format!("@{}", body.display()),
            &format!("{url}/echo"),
        ],
    );
    let _ = std::fs::remove_file(&body);
    assert_eq!(output.stdout.len(), 2 << 20);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "curl waited out its 30 s for 100 Continue"
    );
}

#[test]
fn the_ws_route_echoes_over_websocket() {
    let (_server, url) = start("2");
    let addr = url.strip_prefix("http://").unwrap();
    let tcp = eventlet_rt::connect(addr).unwrap();
    let (mut socket, response) =
        eventlet_rt::http::websocket::tungstenite::client(format!("ws://{addr}/ws"), tcp).unwrap();
    assert_eq!(response.status(), 101);
    for message in [Message::text("hello"), Message::binary(vec![7; 100_000])] {
        socket.send(message.clone()).unwrap();
        assert_eq!(socket.read().unwrap(), message);
    }
    let plain = run(
        "curl",
        &[
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("{url}/ws"),
        ],
    );
    assert_eq!(String::from_utf8_lossy(&plain.stdout), "426");
}

#[test]
fn the_green_agent_gets_json_and_echoes_a_body() {
    let (_server, url) = start("2");
    let agent = eventlet_rt::http::agent();
    let mut json = agent.get(format!("{url}/json")).call().unwrap();
    assert_eq!(json.headers()["content-type"], "application/json");
    assert_eq!(
        json.body_mut().read_to_string().unwrap(),
        r#"{"message":"Hello, World!"}"#
    );
    let big = "e".repeat(300_000);
    let mut echo = agent.post(format!("{url}/echo")).send(&big).unwrap();
    assert_eq!(echo.body_mut().read_to_string().unwrap(), big);
    let index = agent
        .get(format!("{url}/"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(index.contains("/sleep?ms=N"), "{index}");
    let missing = agent.get(format!("{url}/nowhere")).call().unwrap_err();
    assert!(
        matches!(missing, eventlet_rt::http::ureq::Error::StatusCode(404)),
        "{missing}"
    );
}

#[test]
fn two_hundred_sleeps_of_200_ms_overlap() {
    let (_server, url) = start("2");
    let agent = eventlet_rt::http::agent();
    let started = Instant::now();
    let sleepers: Vec<_> = (0..200)
        .map(|_| {
            let (agent, url) = (agent.clone(), format!("{url}/sleep?ms=200"));
            eventlet_rt::spawn(move || {
                let answered = agent.get(&url).call().map(|r| r.status().as_u16());
                (answered, started.elapsed())
            })
        })
        .collect();
    let finished: Vec<Duration> = sleepers
        .into_iter()
        .map(|sleeper| {
            let (answered, at) = sleeper.wait().unwrap();
            assert_eq!(answered.unwrap(), 200);
            at
        })
        .collect();
    let all = started.elapsed();
    assert!(finished.iter().all(|&at| at >= Duration::from_millis(200)));
    // One after another would take 40 s; together about 0.2 s, and a busy
    // machine may stretch that several times over.
    assert!(all < Duration::from_secs(10), "200 sleeps took {all:?}");
}

/// Whether `program` runs; outside CI a missing one skips the test with a
/// message (as the redis and MariaDB tests do), in CI (`CI=true`) it fails.
fn available(program: &str, package: &str) -> bool {
    if Command::new(program).arg("--version").output().is_ok() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("{program} is missing in CI: .ci/run must install the Debian package {package}");
    }
    eprintln!(
        "\n*** SKIPPED: {program} not found; `apt-get install {package}` to run this test ***\n"
    );
    false
}

#[test]
fn wrk_loads_it_without_errors() {
    if !available("wrk", "wrk") {
        return;
    }
    let (_server, url) = start("2");
    let output = run("wrk", &["-t1", "-c32", "-d1s", &format!("{url}/plaintext")]);
    let report = String::from_utf8_lossy(&output.stdout);
    let requests: u64 = report
        .lines()
        .find_map(|line| line.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("no request count in {report}"));
    assert!(requests > 100, "{report}");
    assert!(!report.contains("Non-2xx"), "{report}");
    assert!(!report.contains("Socket errors"), "{report}");
}

const METHODS_CLIENT: &str = r#"
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
for line in sys.argv[3:]:
    sock = socket.create_connection((host, port))
    sock.sendall(line.encode() + b"\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        more = sock.recv(4096)
        if not more:
            break
        head += more
    lines = head.split(b"\r\n\r\n")[0].decode().split("\r\n")
    allow = [l.split(":", 1)[1].strip() for l in lines[1:] if l.lower().startswith("allow:")]
    print(lines[0].split(" ")[1], allow[0] if allow else "-")
    sock.close()
"#;

#[test]
fn methods_no_route_serves_get_405_with_allow_501_or_options() {
    let (_server, url) = start("1");
    let port = url.rsplit(':').next().unwrap();
    let requests = [
        "PUT /json HTTP/1.1",
        "GET /echo HTTP/1.1",
        "OPTIONS /plaintext HTTP/1.1",
        "OPTIONS * HTTP/1.1",
        "BREW / HTTP/1.1",
        "get /plaintext HTTP/1.1",
        "CONNECT example.com:443 HTTP/1.1",
        "DELETE /nowhere HTTP/1.1",
    ];
    let mut args = vec!["-c", METHODS_CLIENT, "127.0.0.1", port];
    args.extend(requests);
    let output = run("python3", &args);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "405 GET, HEAD, OPTIONS\n\
         405 POST, OPTIONS\n\
         204 GET, HEAD, OPTIONS\n\
         204 GET, HEAD, POST, OPTIONS\n\
         501 -\n\
         501 -\n\
         501 -\n\
         404 -\n"
    );
}
