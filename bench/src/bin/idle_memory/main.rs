//! Resident bytes per idle task or idle connection; prints one JSON line.
//!
//! ```text
//! idle_memory sleepers RUNTIME COUNT [SETTLE]
//! idle_memory connections echo|http COUNT SETTLE SERVER_COMMAND...
//! idle_memory stow-cost COUNT ROUNDS
//! ```
//!
//! `sleepers`: COUNT tasks of RUNTIME (`eventlet-rt`, `tokio`, `may`) asleep
//! in this process, RSS before and after (and, for eventlet-rt, again after
//! SETTLE seconds during which its hub gives back the stacks of green
//! threads parked that long). `connections`: starts SERVER_COMMAND (every
//! `PORT` in it replaced by a free port; `nginx` alone runs Debian's nginx
//! with a configuration written here), opens COUNT connections that each
//! make one exchange (64-byte echo, or one keep-alive `GET /plaintext`), lets
//! them sit idle SETTLE seconds, and reads the server's RSS growth. Then every
//! connection makes one more exchange, to show it is served right after the
//! idle time. `stow-cost`: what releasing a parked green thread's stack and
//! waking it afterwards cost (`stow_cost.rs`). One process per measurement,
//! so that every baseline is clean.

mod connections;
mod nginx;
mod sleepers;
mod stow_cost;

use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let line = match args.first().map(String::as_str) {
        Some("sleepers") => sleepers::measure(&args[1..]),
        Some("connections") => connections::measure(&args[1..]),
        Some("stow-cost") => stow_cost::measure(&args[1..]),
        _ => {
            eprintln!(
                "usage: idle_memory sleepers RUNTIME COUNT [SETTLE]\n       \
                 idle_memory connections echo|http COUNT SETTLE SERVER_COMMAND...\n       \
                 idle_memory stow-cost COUNT ROUNDS"
            );
            std::process::exit(2);
        }
    };
    println!("{line}");
    std::io::stdout().flush().expect("flush stdout");
    // SAFETY: `_exit` ends the process at once; nothing is left to run or
    // flush, and sleepers are not torn down one by one.
    unsafe { libc::_exit(0) }
}
