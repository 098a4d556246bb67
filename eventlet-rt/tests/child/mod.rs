//! Running one `#[ignore]`d test of the current test binary in a child
//! process: for what must not happen in the test runner itself (aborts,
//! process-wide settings, signal handlers, resource limits).
// Each test binary uses part of these helpers.
#![allow(dead_code)]

use std::process::{Command, Output};

/// The variable that tells a test it runs as the child.
const CHILD_VARIABLE: &str = "EVENTLET_CHILD";

/// Runs the `#[ignore]`d test `test_name` of this binary in a child process
/// and returns what it printed and how it ended.
pub fn run_child(test_name: &str) -> Output {
    run_child_with_env(test_name, &[])
}

/// [`run_child`] with extra environment variables set for the child.
pub fn run_child_with_env(test_name: &str, env: &[(&str, &str)]) -> Output {
    Command::new(std::env::current_exe().unwrap())
        .envs(env.iter().copied())
        .args([
            "--ignored",
            "--exact",
            test_name,
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_VARIABLE, "1")
        .output()
        .unwrap()
}

/// Whether this process is such a child: the ignored child tests do nothing
/// when a user runs `cargo test -- --ignored` by hand.
pub fn is_child() -> bool {
    std::env::var_os(CHILD_VARIABLE).is_some()
}

/// What a child prints last when it ran to its end.
pub const CHILD_DONE: &str = "CHILD DONE";

/// Runs the child test `test_name`, asserts it ran to its end (printed
/// [`CHILD_DONE`]) and returns what it wrote on stderr.
pub fn stderr_of_finished_child(test_name: &str) -> String {
    stderr_of_finished_child_with_env(test_name, &[])
}

/// [`stderr_of_finished_child`] with extra environment variables set for the child.
pub fn stderr_of_finished_child_with_env(test_name: &str, env: &[(&str, &str)]) -> String {
    let output = run_child_with_env(test_name, env);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        stdout.contains(CHILD_DONE),
        "child failed:\n{stdout}\n{stderr}"
    );
    stderr
}
