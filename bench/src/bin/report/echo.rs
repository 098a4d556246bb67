//! Echo servers under the load generator, from `run.sh`'s tagged loadgen lines.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::stats::Summary;

/// Servers in the order of the table; the bare `mio` loop is the reference.
const SERVERS: [&str; 6] = [
    "eventlet-rt",
    "eventlet-patched",
    "mio",
    "tokio",
    "may",
    "eventlet-py",
];

#[derive(Default)]
pub struct Figures {
    pub round_trips_per_sec: Vec<f64>,
    pub p50_us: Vec<f64>,
    pub p99_us: Vec<f64>,
    pub cpu_us: Vec<f64>,
    /// Server CPU per round trip by round, for ratios within a round.
    pub cpu_us_by_round: BTreeMap<u64, f64>,
}

/// How one server's CPU per round trip compares with another's.
///
/// Rounds run every server one after another within a minute or so, while
/// the load of a shared machine drifts over minutes: the ratio is the median
/// of the ratios within each round both servers ran in. Without round
/// numbers (older results) it is the ratio of the two medians.
pub fn cpu_ratio(ours: &Figures, theirs: &Figures) -> Option<(f64, usize)> {
    let mut within_rounds: Vec<f64> = ours
        .cpu_us_by_round
        .iter()
        .filter_map(|(round, us)| theirs.cpu_us_by_round.get(round).map(|them| us / them))
        .collect();
    if let Some(median) = crate::stats::median(&mut within_rounds) {
        return Some((median, within_rounds.len()));
    }
    let ours = Summary::of(&ours.cpu_us)?;
    let theirs = Summary::of(&theirs.cpu_us)?;
    Some((ours.median / theirs.median, 0))
}

/// Loadgen lines tagged with their server (and round), by connection count
/// and server; and the notes of servers skipped.
pub type Parsed = (BTreeMap<(u64, String), Figures>, Vec<String>);

pub fn parse(lines: &str) -> Parsed {
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
        if let (Some(round), Some(cpu)) = (
            value["round"].as_u64(),
            result["server_cpu_us_per_round_trip"].as_f64(),
        ) {
            entry.cpu_us_by_round.insert(round, cpu);
        }
    }
    (figures, notes)
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
    let (figures, notes) = parse(lines);
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
    let ratio = |c: u64, server: &str, peer: &str| {
        let get = |name: &str| figures.get(&(c, name.to_string()));
        cpu_ratio(get(server)?, get(peer)?)
    };
    for &connections in &levels {
        for server in SERVERS {
            let Some(f) = figures.get(&(connections, server.to_string())) else {
                continue;
            };
            let show = |values: &[f64], format: &dyn Fn(f64) -> String| {
                Summary::of(values).map_or("–".to_string(), |s| s.show(format))
            };
            let versus_mio = ratio(connections, server, "mio")
                .map_or("–".to_string(), |(r, _)| format!("{r:.2}×"));
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
    targets(out, &levels, &ratio);
}

/// At `connections`, one server's CPU per round trip over another's, and
/// over how many rounds (see [`cpu_ratio`]).
type Ratio<'a> = dyn Fn(u64, &str, &str) -> Option<(f64, usize)> + 'a;

fn targets(out: &mut String, levels: &[u64], ratio: &Ratio) {
    writeln!(
        out,
        "\n### Echo targets (server CPU per round trip)\n\nRatios here and in the ÷ mio column \
         are medians of the ratios within each round (every server runs once per round, each \
         round starting with a different one), which the machine's drift between rounds does \
         not bias.\n\n| target | measured | met |\n|---|---|---|"
    )
    .unwrap();
    for &connections in levels.iter().filter(|&&c| c >= 100) {
        for (ours, peer, limit) in [
            ("eventlet-rt", "mio", 1.1),
            ("eventlet-rt", "tokio", 1.0),
            ("eventlet-rt", "may", 1.0),
            ("eventlet-rt", "eventlet-py", 1.0 / 3.0),
            // std::net under monkey_patch() against green::net.
            ("eventlet-patched", "eventlet-rt", 1.2),
        ] {
            let (measured, met) = match ratio(connections, ours, peer) {
                Some((r, rounds)) => (
                    if rounds > 0 {
                        format!("{r:.2}× ({rounds} rounds)")
                    } else {
                        format!("{r:.2}×")
                    },
                    if r <= limit { "yes" } else { "**no**" },
                ),
                None => ("not measured".to_string(), "–"),
            };
            writeln!(
                out,
                "| {connections} connections: {ours} ≤ {limit:.2} × {peer} | {measured} | {met} |"
            )
            .unwrap();
        }
    }
    writeln!(out).unwrap();
}
