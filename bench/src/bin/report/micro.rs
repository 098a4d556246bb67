//! The criterion micro-benchmarks: medians over the repeated runs, ratios to
//! each peer, and the targets checked.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::fs;
use std::path::Path;

use crate::stats::{Summary, nanos, ratio};

/// The runtime under test; other function ids in a group are its peers.
const OURS: &str = "eventlet-rt";
const PEERS: [&str; 2] = ["tokio", "may"];

/// Median time (ns) of every (group, function), one value per run.
type Runs = BTreeMap<(String, String), Vec<f64>>;

pub fn write(out: &mut String, dir: &Path) {
    let runs = collect(dir);
    let summaries: BTreeMap<_, _> = runs
        .iter()
        .filter_map(|(key, values)| Some((key.clone(), Summary::of(values)?)))
        .collect();
    let count = dir_runs(dir).len();
    writeln!(out, "## Micro-benchmarks ({count} criterion runs)\n").unwrap();
    writeln!(
        out,
        "| benchmark | eventlet-rt | tokio current_thread | may, 1 worker | ÷ tokio | ÷ may |\n|---|---|---|---|---|---|"
    )
    .unwrap();
    let median = |group: &str, function: &str| {
        summaries
            .get(&(group.to_string(), function.to_string()))
            .map(|s| s.median)
    };
    for ((group, function), ours) in &summaries {
        if !function.starts_with(OURS) {
            continue;
        }
        let items = if group.contains("100k") {
            100_000.0
        } else {
            1.0
        };
        let show = |s: &Summary| {
            let figure = s.show(nanos);
            if items > 1.0 {
                format!("{figure}; {} each", nanos(s.median / items))
            } else {
                figure
            }
        };
        let mut row = format!("| {group}{} | {} |", &function[OURS.len()..], show(ours));
        for peer in PEERS {
            let cell = summaries
                .get(&(group.clone(), peer.to_string()))
                .map_or("–".to_string(), show);
            write!(row, " {cell} |").unwrap();
        }
        for peer in PEERS {
            let cell = median(group, peer).map_or("–".to_string(), |p| ratio(ours.median / p));
            write!(row, " {cell} |").unwrap();
        }
        writeln!(out, "{row}").unwrap();
    }
    writeln!(
        out,
        "\nThe floor, a bare `generator` coroutine with no scheduler:\n"
    )
    .unwrap();
    writeln!(out, "| switch | median |\n|---|---|").unwrap();
    for ((group, function), s) in &summaries {
        if group == "generator" {
            writeln!(out, "| {function} | {} |", s.show(nanos)).unwrap();
        }
    }
    writeln!(out).unwrap();
    writeln!(
        out,
        "What the rows compare (`bench/benches/*.rs` say more):\n\n\
         - spawn_wait: spawn one task and wait for its result, one at a time.\n\
         - spawn_n_100k: spawn 100,000 empty tasks, then wait until all have run.\n\
         - yield_pingpong: two tasks hand the core to each other; one `yield_now` per iteration.\n\
         - queue_pingpong: a round trip through two unbounded queues (tokio and may: channels).\n\
         - timers_100k: 100,000 tasks each sleep 1 ms; eventlet-rt's green threads hold a stack \
         while they sleep. `pool 100k` starts with the stack pool's capacity at 100,000; \
         `spawn_after` arms delayed spawns instead (no stack until the timer fires).\n\
         - imap_100k: `GreenPool::imap` over 100,000 items of a trivial function, at most 1,000 \
         in flight. eventlet-rt's imap runs a function that never blocks in one worker green \
         thread at a time (no green thread per item); tokio and may have no imap and spawn one \
         task per item in a window of 1,000 handles, so this row compares designs, not \
         switch costs.\n"
    )
    .unwrap();
    targets(out, &median);
}

/// The targets for the micro-benchmarks, each with its measured ratio.
fn targets(out: &mut String, median: &dyn Fn(&str, &str) -> Option<f64>) {
    writeln!(
        out,
        "### Targets\n\n| target | measured | met |\n|---|---|---|"
    )
    .unwrap();
    let mut check = |label: String, value: Option<f64>, limit: f64| {
        let (measured, met) = match value {
            Some(v) => (ratio(v), if v <= limit { "yes" } else { "**no**" }),
            None => ("not measured".to_string(), "–"),
        };
        writeln!(out, "| {label} | {measured} | {met} |").unwrap();
    };
    let ours_over = |group: &str, other_group: &str, other: &str| {
        Some(median(group, OURS)? / median(other_group, other)?)
    };
    check(
        "spawn+wait ≤ 0.5 × tokio spawn+await".into(),
        ours_over("spawn_wait", "spawn_wait", "tokio"),
        0.5,
    );
    check(
        "yield_now ≤ 2.5 × generator resume+yield".into(),
        ours_over("yield_pingpong", "generator", "resume_yield"),
        2.5,
    );
    check(
        "queue ping-pong < may".into(),
        ours_over("queue_pingpong", "queue_pingpong", "may"),
        1.0,
    );
    for group in [
        "spawn_wait",
        "spawn_n_100k",
        "yield_pingpong",
        "queue_pingpong",
        "timers_100k",
        "imap_100k",
    ] {
        for peer in PEERS {
            check(
                format!("{group}: ahead of {peer}"),
                ours_over(group, group, peer),
                1.0,
            );
        }
    }
    writeln!(out).unwrap();
}

fn dir_runs(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut runs: Vec<_> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("criterion-"))
        })
        .collect();
    runs.sort();
    runs
}

/// Every `GROUP/FUNCTION/new/` of every run.
fn collect(dir: &Path) -> Runs {
    let mut runs = Runs::new();
    for run in dir_runs(dir) {
        for group in fs::read_dir(&run).into_iter().flatten().flatten() {
            for function in fs::read_dir(group.path()).into_iter().flatten().flatten() {
                let new = function.path().join("new");
                if let Some((key, median)) = read_estimate(&new) {
                    runs.entry(key).or_default().push(median);
                }
            }
        }
    }
    runs
}

fn read_estimate(new: &Path) -> Option<((String, String), f64)> {
    let json = |name: &str| -> Option<serde_json::Value> {
        serde_json::from_str(&fs::read_to_string(new.join(name)).ok()?).ok()
    };
    let benchmark = json("benchmark.json")?;
    let estimates = json("estimates.json")?;
    let group = benchmark["group_id"].as_str()?.to_string();
    let function = benchmark["function_id"].as_str()?.to_string();
    let median = estimates["median"]["point_estimate"].as_f64()?;
    Some(((group, function), median))
}
