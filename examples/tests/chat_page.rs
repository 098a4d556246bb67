//! The chat page program, run as a child process: its page, and three
//! visitors over WebSocket (Python's `websockets`, which `.ci/run` installs;
//! outside CI its absence skips the test with a message).

mod common;

use std::process::Command;

use common::Program;

const VISITORS: &str = r#"
import asyncio, sys
from websockets import connect

async def main(base):
    ann = await connect(base + "/chat?name=ann")
    assert await ann.recv() == "* ann joined"
    bob = await connect(base + "/chat?name=bob")
    assert await ann.recv() == "* bob joined"
    assert await bob.recv() == "* bob joined"
    cy = await connect(base + "/chat")
    for visitor in (ann, bob, cy):
        assert await visitor.recv() == "* anonymous joined"
    await bob.send("hello all")
    print([await visitor.recv() for visitor in (ann, bob, cy)])
    await cy.close()
    print(await ann.recv(), "|", await bob.recv())
    await ann.close()
    await bob.close()

asyncio.run(main(sys.argv[1]))
"#;

#[test]
fn the_page_loads_and_a_line_reaches_every_visitor() {
    let python_ok = Command::new("python3")
        .args(["-c", "import websockets"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !python_ok {
        assert!(
            !std::env::var("CI").is_ok_and(|ci| ci == "true"),
            "Python's websockets is missing in CI: .ci/run must `pip install websockets`"
        );
        eprintln!(
            "\n*** SKIPPED: Python's websockets not found; `pip install websockets` to run this test ***\n"
        );
        return;
    }
    let server = Program::start(
        env!("CARGO_BIN_EXE_chat_page"),
        &["--host", "127.0.0.1", "--port", "0"],
    );
    let line = server.next_line();
    let base = line
        .strip_prefix("listening on http://")
        .and_then(|rest| rest.strip_suffix('/'))
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    let page = eventlet_rt::http::agent()
        .get(format!("http://{base}/"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(page.contains("new WebSocket("), "{page}");

    let output = Command::new("timeout")
        .args(["60", "python3", "-c", VISITORS, &format!("ws://{base}")])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "['bob: hello all', 'bob: hello all', 'bob: hello all']\n\
         * anonymous left | * anonymous left\n"
    );
}
