//! The `async_postgres` example against a real PostgreSQL started here.

#[path = "../../eventlet-rt/tests/servers/mod.rs"]
mod servers;

use std::process::Command;

#[test]
fn fifty_queries_of_200_ms_finish_together() {
    let Some(server) = servers::postgres() else {
        return;
    };
    let url = format!("postgres://postgres@127.0.0.1:{}/postgres", server.port);
    let output = Command::new(env!("CARGO_BIN_EXE_async_postgres"))
        .args(["--url", &url])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // 1² + 2² + ... + 50²
    assert!(stdout.contains("sum of squares 42925"), "{stdout}");
    let seconds: f64 = stdout
        .split(" in ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no time in {stdout:?}"));
    assert!(seconds < 5.0, "one after another would take 10 s: {stdout}");
}

#[test]
fn an_unreachable_server_is_a_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = Command::new(env!("CARGO_BIN_EXE_async_postgres"))
        .args([
            "--url",
            &format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("query failed"), "{stderr}");
}
