//! HTTP servers under wrk (TechEmpower's plaintext and json), from
//! `run.sh`'s tagged `http_wrk` lines.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::stats::{Summary, median, ratio};

/// Servers in the order of the table.
const SERVERS: [&str; 5] = [
    "eventlet-rt",
    "eventlet-rt-borrowed",
    "may_minihttp",
    "hyper",
    "eventlet-py",
];

/// eventlet-rt's two handler forms, each compared with every other server.
const OURS: [&str; 2] = ["eventlet-rt", "eventlet-rt-borrowed"];

#[derive(Default)]
struct Figures {
    requests_per_s: Vec<f64>,
    cpu_us: Vec<f64>,
    cpu_us_by_round: BTreeMap<u64, f64>,
    errors: f64,
}

/// eventlet-rt's CPU per request over `theirs`: the median of the ratios
/// within each round (the servers of a round run one after another, while
/// the machine's load drifts over minutes).
fn cpu_ratio(ours: &Figures, theirs: &Figures) -> Option<f64> {
    let mut within: Vec<f64> = ours
        .cpu_us_by_round
        .iter()
        .filter_map(|(round, us)| theirs.cpu_us_by_round.get(round).map(|them| us / them))
        .collect();
    median(&mut within)
}

pub fn write(out: &mut String, lines: &str) {
    let mut figures: BTreeMap<(u64, String, String), Figures> = BTreeMap::new();
    let mut notes = Vec::new();
    for line in lines.lines() {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let server = value["server"].as_str().unwrap_or("?").to_string();
        if let Some(note) = value["skipped"].as_str() {
            notes.push(format!("{server}: {note}"));
            continue;
        }
        let result = &value["result"];
        let threads = value["threads"].as_u64().unwrap_or(1);
        let route = value["route"].as_str().unwrap_or("?").to_string();
        let entry = figures.entry((threads, route, server)).or_default();
        if let Some(rps) = result["requests_per_s"].as_f64() {
            entry.requests_per_s.push(rps);
        }
        if let Some(cpu) = result["cpu_us_per_request"].as_f64() {
            entry.cpu_us.push(cpu);
            if let Some(round) = value["round"].as_u64() {
                entry.cpu_us_by_round.insert(round, cpu);
            }
        }
        entry.errors +=
            result["errors"].as_f64().unwrap_or(0.0) + result["non_2xx"].as_f64().unwrap_or(0.0);
    }
    if figures.is_empty() && notes.is_empty() {
        return;
    }
    writeln!(
        out,
        "## HTTP: TechEmpower plaintext (pipelined 16) and json, 256 connections\n\n\
         `wrk -t1 -c256` for 5 s per run after a 1 s warm-up; plaintext sends 16 requests per \
         write (TechEmpower's Lua pipeline script), json one. One hub: the server pinned to core 0 \
         and wrk to core 1; every core: nothing pinned, so wrk shares the cores and requests/s \
         there says little, CPU per request still compares the servers. Server CPU per request is \
         its user + system time over the run (kernel TCP work included) divided by the requests \
         wrk counted. eventlet-rt is the `http::Request` -> `http::Response` handler, \
         eventlet-rt-borrowed the borrowed form (`Server::borrowed`: the head read in place, the \
         response written into the output batch) on the same server. Each ratio is that form's \
         CPU per request over the server's of the row (median of the per-round ratios; below 1 \
         means eventlet-rt spends less). Every server sends the same \
         constant bodies (no JSON serializer). hyper 1.x: one tokio `current_thread` runtime per \
         thread with `SO_REUSEPORT` listeners and `pipeline_flush`, as TechEmpower runs it; \
         may_minihttp with `may` workers = threads; Python Eventlet's `wsgi.server` on one \
         process.\n"
    )
    .unwrap();
    writeln!(
        out,
        "| route | hubs | server | requests/s | server CPU per request | eventlet-rt CPU ÷ this | \
         eventlet-rt-borrowed CPU ÷ this | errors |\n\
         |---|---|---|---|---|---|---|---|"
    )
    .unwrap();
    let keys: Vec<(u64, String)> = figures
        .keys()
        .map(|(threads, route, _)| (*threads, route.clone()))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    for (threads, route) in keys {
        for server in SERVERS {
            let Some(theirs) = figures.get(&(threads, route.clone(), server.to_string())) else {
                continue;
            };
            let rps = Summary::of(&theirs.requests_per_s)
                .map_or("-".into(), |s| s.show(|v| format!("{:.0}k", v / 1e3)));
            let cpu = Summary::of(&theirs.cpu_us)
                .map_or("-".into(), |s| s.show(|v| format!("{v:.2} µs")));
            let versus: Vec<String> = OURS
                .iter()
                .map(
                    |ours| match figures.get(&(threads, route.clone(), ours.to_string())) {
                        Some(ours_figures) if server != *ours => {
                            cpu_ratio(ours_figures, theirs).map_or("-".into(), ratio)
                        }
                        _ => "".into(),
                    },
                )
                .collect();
            writeln!(
                out,
                "| {route} | {threads} | {server} | {rps} | {cpu} | {} | {} | {:.0} |",
                versus[0], versus[1], theirs.errors
            )
            .unwrap();
        }
    }
    writeln!(out).unwrap();
    for note in notes {
        writeln!(out, "- skipped {note}").unwrap();
    }
    if !out.ends_with("\n\n") {
        writeln!(out).unwrap();
    }
}
