//! Echo over every core (`run.sh`'s `cores` part): eventlet-rt with 1 hub and
//! with N hubs against tokio `multi_thread`, `may` and N `mio` loops, all with
//! N threads and nothing pinned, ranked by server CPU per round trip.

use std::fmt::Write;

use crate::echo::{self, Figures};
use crate::stats::Summary;

/// The servers, as `run.sh` tags them, and how the table names them; the
/// first is the reference of the "÷ 1 hub" column.
const SERVERS: [(&str, &str); 5] = [
    ("eventlet-rt-1", "eventlet-rt, 1 hub"),
    (
        "eventlet-rt-n",
        "eventlet-rt, N hubs (`hubs::serve_on_with_pool`)",
    ),
    ("mio-n", "mio, N loops on `SO_REUSEPORT`"),
    ("tokio-n", "tokio `multi_thread`, N workers"),
    ("may-n", "may, N workers"),
];

/// Columns of ratios: eventlet-rt over N hubs divided by each of these.
const PEERS: [(&str, &str); 4] = [
    ("eventlet-rt-1", "1 hub"),
    ("tokio-n", "tokio mt"),
    ("may-n", "may"),
    ("mio-n", "mio×N"),
];

/// Targets of issue 16: N hubs' CPU per round trip at most `limit` times the peer's.
const TARGETS: [(&str, f64, &str); 4] = [
    ("eventlet-rt-1", 1.0, "no worse than 1 hub"),
    ("tokio-n", 1.0, "below tokio `multi_thread`"),
    ("may-n", 1.0, "below may"),
    ("mio-n", 1.1, "beside N mio loops"),
];

/// The Markdown section for the loadgen lines of `echo-cores.jsonl`, with
/// `threads` threads per server; nothing when there are none.
pub fn write(out: &mut String, lines: &str, threads: &str) {
    let (figures, notes) = echo::parse(lines);
    if figures.is_empty() && notes.is_empty() {
        return;
    }
    writeln!(
        out,
        "### Echo over {threads} threads (64-byte messages, `PARTS=cores`)\n\n\
         Every server runs {threads} threads (eventlet-rt also with 1 hub), nothing pinned; the \
         load generator (one thread) shares the cores with the server, so round trips/s are \
         bounded by it and server CPU per round trip is the figure to rank by. Rows are ranked \
         by it; ratio columns are eventlet-rt over {threads} hubs divided by the peer, the \
         median of the ratios within each round (rounds alternate the order of the servers).\n"
    )
    .unwrap();
    writeln!(
        out,
        "| connections | server | round trips/s | p50 | p99 | server CPU per round trip | {} |\n|---|---|---|---|---|---|{}",
        PEERS
            .iter()
            .map(|(_, name)| format!("{threads} hubs ÷ {}", name.replace('N', threads)))
            .collect::<Vec<_>>()
            .join(" | "),
        "---|".repeat(PEERS.len())
    )
    .unwrap();
    let mut levels: Vec<u64> = figures.keys().map(|(c, _)| *c).collect();
    levels.dedup();
    let get = |c: u64, name: &str| figures.get(&(c, name.to_string()));
    let ratio = |c: u64, peer: &str| echo::cpu_ratio(get(c, "eventlet-rt-n")?, get(c, peer)?);
    let median_cpu = |f: &Figures| Summary::of(&f.cpu_us).map_or(f64::INFINITY, |s| s.median);
    for &connections in &levels {
        let mut rows: Vec<(&str, &Figures)> = SERVERS
            .iter()
            .filter_map(|(tag, name)| Some((*name, get(connections, tag)?)))
            .collect();
        rows.sort_by(|a, b| median_cpu(a.1).total_cmp(&median_cpu(b.1)));
        for (name, f) in rows {
            let show = |values: &[f64], format: &dyn Fn(f64) -> String| {
                Summary::of(values).map_or("–".to_string(), |s| s.show(format))
            };
            let ratios: Vec<String> = PEERS
                .iter()
                .map(|(peer, _)| {
                    if name == SERVERS[1].1 {
                        ratio(connections, peer).map_or("–".into(), |(r, _)| format!("{r:.2}×"))
                    } else {
                        String::new()
                    }
                })
                .collect();
            writeln!(
                out,
                "| {connections} | {} | {} | {} | {} | {} | {} |",
                name.replace('N', threads),
                show(&f.round_trips_per_sec, &|v| format!("{:.0}k", v / 1e3)),
                show(&f.p50_us, &|v| format!("{v:.0} µs")),
                show(&f.p99_us, &|v| format!("{v:.0} µs")),
                show(&f.cpu_us, &|v| format!("{v:.2} µs")),
                ratios.join(" | "),
            )
            .unwrap();
        }
    }
    writeln!(out).unwrap();
    for note in notes {
        writeln!(out, "- {note}").unwrap();
    }
    writeln!(
        out,
        "\n| target (server CPU per round trip, {threads} hubs) | measured | met |\n|---|---|---|"
    )
    .unwrap();
    for &connections in levels.iter().filter(|&&c| c >= 100) {
        // For scale: where the limit itself stands against one hub.
        if let Some((r, rounds)) = get(connections, "mio-n")
            .zip(get(connections, "eventlet-rt-1"))
            .and_then(|(mio, one)| echo::cpu_ratio(mio, one))
        {
            writeln!(
                out,
                "| {connections} connections, for scale: {threads} mio loops ÷ eventlet-rt, 1 hub | {r:.2}× ({rounds} rounds) | – |"
            )
            .unwrap();
        }
        for (peer, limit, what) in TARGETS {
            let (measured, met) = match ratio(connections, peer) {
                Some((r, rounds)) => (
                    format!(
                        "{r:.2}× ({rounds} round{})",
                        if rounds == 1 { "" } else { "s" }
                    ),
                    if r <= limit { "yes" } else { "**no**" },
                ),
                None => ("not measured".to_string(), "–"),
            };
            writeln!(
                out,
                "| {connections} connections: {what} (≤ {limit:.2}×) | {measured} | {met} |"
            )
            .unwrap();
        }
    }
    writeln!(out).unwrap();
}
