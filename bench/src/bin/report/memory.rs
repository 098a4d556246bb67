//! Resident bytes per idle task and per idle connection, from `idle_memory`'s
//! JSON lines (`memory.jsonl`).

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::stats::Summary;

const RUNTIMES: [&str; 3] = ["eventlet-rt", "tokio", "may"];

/// The idle-connection servers in table order: (name in `run.sh`, label).
const ECHO_SERVERS: [(&str, &str); 8] = [
    (
        "echo_seed",
        "eventlet-rt, the seed's echo (4 KiB buffer on the stack)",
    ),
    ("before_echo_seed", "the same, before (BEFORE_BIN)"),
    (
        "echo_eventlet",
        "eventlet-rt, 4 KiB `Vec` buffer as the peers",
    ),
    ("before_echo_eventlet", "the same, before (BEFORE_BIN)"),
    (
        "echo_server",
        "eventlet-rt, `examples/echo_server` (16 KiB buffer)",
    ),
    (
        "echo_tokio",
        "tokio current_thread, 4 KiB `Vec` in the task",
    ),
    ("echo_may", "may, 1 worker, 4 KiB `Vec`"),
    ("echo_mio", "a mio loop, one shared buffer (floor)"),
];
const HTTP_SERVERS: [(&str, &str); 5] = [
    ("http_eventlet", "eventlet-rt `http::Server`"),
    ("before_http_eventlet", "the same, before (BEFORE_BIN)"),
    ("http_hyper", "hyper 1.x, tokio current_thread"),
    ("http_may", "may_minihttp, 1 worker"),
    ("nginx", "nginx (Debian `nginx-light`), 1 worker (floor)"),
];

pub fn write(out: &mut String, lines: &str) {
    sleepers(out, lines);
    connections(out, lines);
    stow_cost(out, lines);
    cpu_before_after(out, lines);
}

/// The HTTP server's CPU per request before and after (`BEFORE_BIN`).
fn cpu_before_after(out: &mut String, lines: &str) {
    // (route, round) -> (before, after)
    let mut rounds: BTreeMap<(String, u64), (Option<f64>, Option<f64>)> = BTreeMap::new();
    for value in json_lines(lines) {
        let Some(ab) = value.get("cpu_ab") else {
            continue;
        };
        let Some(cpu) = ab["result"]["cpu_us_per_request"].as_f64() else {
            continue;
        };
        let key = (
            ab["route"].as_str().unwrap_or("?").to_string(),
            ab["round"].as_u64().unwrap_or(0),
        );
        let entry = rounds.entry(key).or_default();
        match ab["variant"].as_str() {
            Some("before") => entry.0 = Some(cpu),
            _ => entry.1 = Some(cpu),
        }
    }
    if rounds.is_empty() {
        return;
    }
    writeln!(
        out,
        "The HTTP server's CPU per request before and after (BEFORE_BIN), both up at once, \
         `wrk -t1 -c256` (plaintext pipelined 16), rounds alternated; the ratio is the median \
         of the per-round ratios:\n\n\
         | route | before | after | after ÷ before |\n|---|---|---|---|"
    )
    .unwrap();
    let mut routes: Vec<String> = rounds.keys().map(|(route, _)| route.clone()).collect();
    routes.dedup();
    let micros = |v: f64| format!("{v:.2} µs");
    for route in routes {
        let pairs: Vec<(f64, f64)> = rounds
            .iter()
            .filter(|((r, _), _)| *r == route)
            .filter_map(|(_, (before, after))| Some(((*before)?, (*after)?)))
            .collect();
        let befores: Vec<f64> = pairs.iter().map(|p| p.0).collect();
        let afters: Vec<f64> = pairs.iter().map(|p| p.1).collect();
        let ratios: Vec<f64> = pairs.iter().map(|(b, a)| a / b).collect();
        let (Some(b), Some(a), Some(r)) = (
            Summary::of(&befores),
            Summary::of(&afters),
            Summary::of(&ratios),
        ) else {
            continue;
        };
        writeln!(
            out,
            "| {route} | {} | {} | {} |",
            b.show(micros),
            a.show(micros),
            r.show(|v| format!("{v:.3}×"))
        )
        .unwrap();
    }
    writeln!(out).unwrap();
}

/// What releasing a parked green thread's stack costs (`idle_memory stow-cost`).
fn stow_cost(out: &mut String, lines: &str) {
    let Some(cost) = json_lines(lines).find_map(|v| v.get("stow_cost").cloned()) else {
        return;
    };
    let us = |key: &str| {
        cost[key]
            .as_f64()
            .map_or("–".to_string(), |v| format!("{v:.2} µs"))
    };
    writeln!(
        out,
        "What giving the memory back costs, per green thread ({} parked in an `Event` wait \
         after touching 8 KiB of stack; `hub::release_idle_stacks`, then one wake-up of all; \
         medians of {} rounds):\n\n\
         | wake-up, stack kept | stow | wake-up after a stow | give back the pages below the frames | wake-up after that |\n\
         |---|---|---|---|---|\n\
         | {} | {} | {} | {} | {} |\n",
        cost["green_threads"],
        cost["rounds"],
        us("wake_us"),
        us("stow_us"),
        us("wake_after_stow_us"),
        us("release_below_frames_us"),
        us("wake_after_release_us"),
    )
    .unwrap();
}

fn sleepers(out: &mut String, lines: &str) {
    writeln!(out, "## Idle memory: resident bytes per sleeping task\n").unwrap();
    let mut per_task: BTreeMap<(u64, String), (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    let mut skipped = Vec::new();
    let mut settle = 0.0;
    for value in json_lines(lines).filter(|v| v.get("runtime").is_some()) {
        let runtime = value["runtime"].as_str().unwrap_or("?").to_string();
        let tasks = value["tasks"].as_u64().unwrap_or(0);
        match value["bytes_per_task"].as_f64() {
            Some(bytes) => {
                let entry = per_task.entry((tasks, runtime)).or_default();
                entry.0.push(bytes);
                if let Some(settled) = value["bytes_per_task_settled"].as_f64() {
                    entry.1.push(settled);
                    settle = value["settle_seconds"].as_f64().unwrap_or(0.0);
                }
            }
            None => skipped.push(format!(
                "{runtime} at {tasks}: {}",
                value["skipped"].as_str().unwrap_or("no figure")
            )),
        }
    }
    writeln!(
        out,
        "Asleep (`sleep(1 h)`), read right after the last one fell asleep and again after \
         {settle:.0} s or more (eventlet-rt: until its RSS stops falling), by which time \
         eventlet-rt's hub has stowed the stacks of green threads parked that long (after 10 s, \
         `IDLE_STACK_STOW_AFTER`).\n"
    )
    .unwrap();
    writeln!(
        out,
        "| tasks asleep | eventlet-rt, at once | eventlet-rt, after {settle:.0} s | tokio current_thread | may, 1 worker | eventlet-rt ≤ 8 KiB |\n|---|---|---|---|---|---|"
    )
    .unwrap();
    let mut sizes: Vec<u64> = per_task.keys().map(|(tasks, _)| *tasks).collect();
    sizes.dedup();
    let bytes = |b: f64| format!("{b:.0} B");
    for tasks in sizes {
        let figures = |runtime: &str| per_task.get(&(tasks, runtime.to_string()));
        let at_once = figures("eventlet-rt").and_then(|(now, _)| Summary::of(now));
        let settled = figures("eventlet-rt").and_then(|(_, later)| Summary::of(later));
        let mut row = format!("| {tasks} |");
        for summary in [at_once, settled] {
            let cell = summary.map_or("–".to_string(), |s| s.show(bytes));
            write!(row, " {cell} |").unwrap();
        }
        for runtime in &RUNTIMES[1..] {
            // Their tasks hold the same after the wait: the later figure.
            let cell = figures(runtime)
                .and_then(|(now, later)| Summary::of(if later.is_empty() { now } else { later }))
                .map_or("–".to_string(), |s| s.show(bytes));
            write!(row, " {cell} |").unwrap();
        }
        let met = match settled.or(at_once) {
            Some(s) if s.median <= 8192.0 => "yes",
            Some(_) => "**no**",
            None => "–",
        };
        writeln!(out, "{row} {met} |").unwrap();
    }
    for line in skipped {
        writeln!(out, "\n- skipped: {line}").unwrap();
    }
    writeln!(out).unwrap();
}

fn connections(out: &mut String, lines: &str) {
    let mut figures: BTreeMap<String, Figures> = BTreeMap::new();
    let mut skipped = Vec::new();
    let (mut settle, mut counts) = (0.0, BTreeMap::new());
    for value in json_lines(lines) {
        let Some(entry) = value.get("connections") else {
            continue;
        };
        let server = entry["server"].as_str().unwrap_or("?").to_string();
        let result = &entry["result"];
        let Some(bytes) = result["bytes_per_connection"].as_f64() else {
            skipped.push(format!(
                "{server}: {}",
                entry["skipped"].as_str().unwrap_or("no figure")
            ));
            continue;
        };
        settle = result["settle_seconds"].as_f64().unwrap_or(settle);
        let kind = result["kind"].as_str().unwrap_or("?").to_string();
        counts.insert(kind, result["connections"].as_u64().unwrap_or(0));
        let f = figures.entry(server).or_default();
        f.idle.push(bytes);
        f.at_once.push(
            result["bytes_per_connection_at_once"]
                .as_f64()
                .unwrap_or(0.0),
        );
        f.answered = f
            .answered
            .min(result["answered_after_idle"].as_u64().unwrap_or(0));
        f.of = result["connections"].as_u64().unwrap_or(0);
    }
    if figures.is_empty() {
        return;
    }
    writeln!(
        out,
        "## Idle memory: resident bytes per idle connection\n\n\
         Each server starts fresh and serves one warm-up connection; then the connections each \
         make one exchange and stay open, silent, for {settle:.0} s. The figure is the server's \
         RSS growth divided by the count (kernel socket buffers are not in it); \"at once\" is read \
         right after the last exchange. Every connection then makes one more exchange: \"answered\" \
         counts those served right after the idle time. Medians of the rounds, ranges in \
         brackets; one thread per server.\n"
    )
    .unwrap();
    let echo = counts.get("echo").copied().unwrap_or(0);
    let http = counts.get("http").copied().unwrap_or(0);
    table(
        out,
        &format!("Echo: {echo} connections, one 64-byte echo each"),
        &ECHO_SERVERS,
        "echo_tokio",
        "tokio",
        &figures,
    );
    table(
        out,
        &format!("HTTP keep-alive: {http} connections, one `GET /plaintext` each"),
        &HTTP_SERVERS,
        "http_hyper",
        "hyper",
        &figures,
    );
    for line in skipped {
        writeln!(out, "- skipped: {line}").unwrap();
    }
    writeln!(out).unwrap();
}

/// One server's measurements over the rounds.
struct Figures {
    idle: Vec<f64>,
    at_once: Vec<f64>,
    answered: u64,
    of: u64,
}

impl Default for Figures {
    fn default() -> Figures {
        Figures {
            idle: Vec::new(),
            at_once: Vec::new(),
            answered: u64::MAX,
            of: 0,
        }
    }
}

fn table(
    out: &mut String,
    title: &str,
    servers: &[(&str, &str)],
    peer: &str,
    peer_label: &str,
    figures: &BTreeMap<String, Figures>,
) {
    let bytes = |b: f64| format!("{b:.0} B");
    let peer_median = figures
        .get(peer)
        .and_then(|f| Summary::of(&f.idle))
        .map(|s| s.median);
    writeln!(
        out,
        "{title}:\n\n| server | per idle connection | at once | ÷ {peer_label} | answered after idle |\n|---|---|---|---|---|"
    )
    .unwrap();
    for (name, label) in servers {
        let Some(f) = figures.get(*name) else {
            continue;
        };
        let (Some(idle), Some(at_once)) = (Summary::of(&f.idle), Summary::of(&f.at_once)) else {
            continue;
        };
        let ratio = peer_median.map_or("–".to_string(), |p| format!("{:.2}×", idle.median / p));
        writeln!(
            out,
            "| {label} | {} | {} | {ratio} | {} of {} |",
            idle.show(bytes),
            at_once.show(bytes),
            f.answered,
            f.of
        )
        .unwrap();
    }
    writeln!(out).unwrap();
}

fn json_lines(lines: &str) -> impl Iterator<Item = serde_json::Value> + '_ {
    lines
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
}
