//! Echo servers under the load generator, from `run.sh`'s tagged loadgen lines.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::stats::Summary;

/// Servers in the order of the table; the bare `mio` loop is the reference.
const SERVERS: [&str; 5] = ["eventlet-rt", "mio", "tokio", "may", "eventlet-py"];

#[derive(Default)]
struct Figures {
    round_trips_per_sec: Vec<f64>,
    p50_us: Vec<f64>,
    p99_us: Vec<f64>,
    cpu_us: Vec<f64>,
}

pub fn write(out: &mut String, lines: &str) {
    writeln!(
        out,
        "## Echo, 64-byte messages, server and load generator on separate cores\n"
    )
    .unwrap();
    writeln!(
        out,
        "Server CPU per round trip is the figure to compare at 100 and 1,000 connections; at 1 \
         connection every server only measures the wake-up latency between the two cores.\n"
    )
    .unwrap();
    let mut figures: BTreeMap<(u64, String), Figures> = BTreeMap::new();
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
        let connections = result["connections"].as_u64().unwrap_or(0);
        let entry = figures.entry((connections, server)).or_default();
        let push = |into: &mut Vec<f64>, key: &str| {
            if let Some(v) = result[key].as_f64() {
                into.push(v);
            }
        };
        push(&mut entry.round_trips_per_sec, "round_trips_per_sec");
        push(&mut entry.p50_us, "p50_us");
        push(&mut entry.p99_us, "p99_us");
        push(&mut entry.cpu_us, "server_cpu_us_per_round_trip");
    }
    writeln!(
        out,
        "| connections | server | round trips/s | p50 | p99 | server CPU per round trip | ÷ mio |\n|---|---|---|---|---|---|---|"
    )
    .unwrap();
    let levels: Vec<u64> = {
        let mut levels: Vec<u64> = figures.keys().map(|(c, _)| *c).collect();
        levels.dedup();
        levels
    };
    let cpu = |c: u64, server: &str| {
        figures
            .get(&(c, server.to_string()))
            .and_then(|f| Summary::of(&f.cpu_us))
    };
    for &connections in &levels {
        for server in SERVERS {
            let Some(f) = figures.get(&(connections, server.to_string())) else {
                continue;
            };
            let show = |values: &[f64], format: &dyn Fn(f64) -> String| {
                Summary::of(values).map_or("–".to_string(), |s| s.show(format))
            };
            let versus_mio = match (cpu(connections, server), cpu(connections, "mio")) {
                (Some(ours), Some(mio)) => format!("{:.2}×", ours.median / mio.median),
                _ => "–".to_string(),
            };
            writeln!(
                out,
                "| {connections} | {server} | {} | {} | {} | {} | {versus_mio} |",
                show(&f.round_trips_per_sec, &|v| format!("{:.0}k", v / 1e3)),
                show(&f.p50_us, &|v| format!("{v:.0} µs")),
                show(&f.p99_us, &|v| format!("{v:.0} µs")),
                show(&f.cpu_us, &|v| format!("{v:.2} µs")),
            )
            .unwrap();
        }
    }
    writeln!(out).unwrap();
    for note in notes {
        writeln!(out, "- {note}").unwrap();
    }
    targets(out, &levels, &cpu);
}

fn targets(out: &mut String, levels: &[u64], cpu: &dyn Fn(u64, &str) -> Option<Summary>) {
    writeln!(out, "\n### Echo targets (server CPU per round trip)\n\n| target | measured | met |\n|---|---|---|").unwrap();
    for &connections in levels.iter().filter(|&&c| c >= 100) {
        for (peer, limit) in [
            ("mio", 1.1),
            ("tokio", 1.0),
            ("may", 1.0),
            ("eventlet-py", 1.0 / 3.0),
        ] {
            let (measured, met) = match (cpu(connections, "eventlet-rt"), cpu(connections, peer)) {
                (Some(ours), Some(theirs)) => {
                    let r = ours.median / theirs.median;
                    (
                        format!("{r:.2}×"),
                        if r <= limit { "yes" } else { "**no**" },
                    )
                }
                _ => ("not measured".to_string(), "–"),
            };
            writeln!(
                out,
                "| {connections} connections: ≤ {limit:.2} × {peer} | {measured} | {met} |"
            )
            .unwrap();
        }
    }
    writeln!(out).unwrap();
}
