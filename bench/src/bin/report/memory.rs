//! Resident bytes per idle task, from `idle_memory`'s JSON lines.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::stats::Summary;

const RUNTIMES: [&str; 3] = ["eventlet-rt", "tokio", "may"];

pub fn write(out: &mut String, lines: &str) {
    writeln!(out, "## Idle memory: resident bytes per sleeping task\n").unwrap();
    let mut per_task: BTreeMap<(u64, String), Vec<f64>> = BTreeMap::new();
    let mut skipped = Vec::new();
    for line in lines.lines() {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let runtime = value["runtime"].as_str().unwrap_or("?").to_string();
        let tasks = value["tasks"].as_u64().unwrap_or(0);
        match value["bytes_per_task"].as_f64() {
            Some(bytes) => per_task.entry((tasks, runtime)).or_default().push(bytes),
            None => skipped.push(format!(
                "{runtime} at {tasks}: {}",
                value["skipped"].as_str().unwrap_or("no figure")
            )),
        }
    }
    writeln!(
        out,
        "| tasks asleep | eventlet-rt | tokio current_thread | may, 1 worker | eventlet-rt ≤ 8 KiB |\n|---|---|---|---|---|"
    )
    .unwrap();
    let sizes: Vec<u64> = {
        let mut sizes: Vec<u64> = per_task.keys().map(|(tasks, _)| *tasks).collect();
        sizes.dedup();
        sizes
    };
    for tasks in sizes {
        let mut row = format!("| {tasks} |");
        let mut ours = None;
        for runtime in RUNTIMES {
            let summary = per_task
                .get(&(tasks, runtime.to_string()))
                .and_then(|values| Summary::of(values));
            if runtime == "eventlet-rt" {
                ours = summary.map(|s| s.median);
            }
            let cell = summary.map_or("–".to_string(), |s| s.show(|b| format!("{b:.0} B")));
            write!(row, " {cell} |").unwrap();
        }
        let met = match ours {
            Some(bytes) if bytes <= 8192.0 => "yes",
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
