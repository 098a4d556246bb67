//! Writes BENCHMARKS.md from what `run.sh` collected.
//!
//! `report RESULTS_DIR` prints the Markdown to stdout. RESULTS_DIR holds
//! `criterion-N/` (a copy of criterion's output after micro-benchmark run N),
//! `memory.jsonl` (idle_memory lines), `echo.jsonl` (loadgen lines tagged
//! with their server), `http.jsonl` (http_wrk lines tagged with server,
//! hubs, route and round), `machine.txt` and `commands.txt`.
//!
//! `report --echo-cores FILE THREADS` prints only the echo-over-every-core
//! section of the `cores` part, from FILE (`echo-cores.jsonl`).

mod echo;
mod echo_cores;
mod http;
mod memory;
mod micro;
mod stats;

use std::fmt::Write;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).is_some_and(|a| a == "--echo-cores") {
        let (file, threads) = (&args[2], &args[3]);
        let mut out = String::new();
        echo_cores::write(
            &mut out,
            &fs::read_to_string(file).unwrap_or_default(),
            threads,
        );
        print!("{out}");
        return;
    }
    let dir = PathBuf::from(std::env::args().nth(1).expect("usage: report RESULTS_DIR"));
    let mut out = String::new();
    writeln!(
        out,
        "# Benchmarks: eventlet-rt against its peers, one core\n"
    )
    .unwrap();
    writeln!(
        out,
        "Written by `bench/run.sh` from one run on one machine; do not edit by hand. \
         Ratios are eventlet-rt's median divided by the peer's, so below 1 means eventlet-rt \
         is faster. Ranges are the lowest and highest median over the repeated runs.\n"
    )
    .unwrap();
    section(&mut out, "Machine", &read(&dir, "machine.txt"), true);
    micro::write(&mut out, &dir);
    memory::write(&mut out, &read(&dir, "memory.jsonl"));
    echo::write(&mut out, &read(&dir, "echo.jsonl"));
    http::write(&mut out, &read(&dir, "http.jsonl"));
    tls(&mut out, &read(&dir, "tls.txt"));
    section(
        &mut out,
        "Exact commands",
        &read(&dir, "commands.txt"),
        false,
    );
    print!("{out}");
}

/// The TLS benchmark's own summary lines (`bench/tls`), when it ran.
fn tls(out: &mut String, lines: &str) {
    let lines: Vec<&str> = lines.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return;
    }
    writeln!(
        out,
        "## TLS: eventlet-rt's green TLS against tokio + tokio-rustls\n\n\
         From `bench/tls` (see its README): one thread on one core runs client and server; same \
         rustls and ring provider; rounds alternate between the runtimes, medians of 5 rounds. \
         Ratio is eventlet-rt's figure divided by tokio-rustls's (throughputs: above 1 means \
         eventlet-rt is faster).\n"
    )
    .unwrap();
    writeln!(out, "```\n{}\n```\n", lines.join("\n")).unwrap();
}

fn read(dir: &Path, name: &str) -> String {
    fs::read_to_string(dir.join(name)).unwrap_or_default()
}

/// A section of verbatim lines: a list, or a code block.
fn section(out: &mut String, title: &str, body: &str, as_list: bool) {
    writeln!(out, "## {title}\n").unwrap();
    if as_list {
        body.lines()
            .for_each(|line| writeln!(out, "- {line}").unwrap());
        writeln!(out).unwrap();
    } else {
        writeln!(out, "```sh\n{}```\n", body).unwrap();
    }
}
