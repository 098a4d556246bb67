//! Runs `wrk` against one HTTP server and route and measures the server's
//! CPU time over the run.
//!
//! `http_wrk URL CONNECTIONS PIPELINE SECONDS SERVER_PID PIPELINE_LUA`
//!
//! A one-second warm-up run, then a measured run of SECONDS with one wrk
//! thread; PIPELINE above 1 sends that many requests per write through the
//! Lua script (TechEmpower's plaintext pipelines 16). Prints one JSON line:
//! requests/s, the server's CPU time (user + system, from `/proc`) per
//! request and its user part alone, and wrk's error and non-2xx counts.

use std::process::Command;

use eventlet_bench::proc_stats;

fn wrk(url: &str, connections: &str, pipeline: u32, seconds: u32, lua: &str) -> String {
    let mut command = Command::new("wrk");
    command.args(["-t1", "-c", connections, "-d", &format!("{seconds}s"), url]);
    if pipeline > 1 {
        command.args(["-s", lua, "--", &pipeline.to_string()]);
    }
    let output = command.output().expect("run wrk (apt-get install wrk)");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The number before `word` on the line that holds `word`.
fn figure(report: &str, word: &str) -> Option<f64> {
    let line = report.lines().find(|line| line.contains(word))?;
    let before = line.split(word).next()?;
    before.split_whitespace().last()?.parse().ok()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, connections, pipeline, seconds, pid, lua] = &args[..] else {
        panic!("usage: http_wrk URL CONNECTIONS PIPELINE SECONDS SERVER_PID PIPELINE_LUA");
    };
    let pipeline: u32 = pipeline.parse().expect("PIPELINE");
    let seconds: u32 = seconds.parse().expect("SECONDS");
    let pid: u32 = pid.parse().expect("SERVER_PID");
    wrk(url, connections, pipeline, 1, lua);
    let (user_before, system_before) =
        proc_stats::user_and_system_seconds(pid).expect("server CPU time");
    let report = wrk(url, connections, pipeline, seconds, lua);
    let (user, system) = proc_stats::user_and_system_seconds(pid).expect("server CPU time");
    let (user, system) = (user - user_before, system - system_before);
    let cpu = user + system;
    let requests = figure(&report, "requests in").unwrap_or(0.0);
    let errors = report
        .lines()
        .find(|line| line.contains("Socket errors"))
        .map_or(0.0, |line| {
            line.split(|c: char| !c.is_ascii_digit())
                .filter_map(|n| n.parse::<f64>().ok())
                .sum()
        });
    let non_2xx = report
        .lines()
        .find(|line| line.contains("Non-2xx"))
        .and_then(|line| line.rsplit(':').next()?.trim().parse().ok())
        .unwrap_or(0.0);
    let per_request = |seconds: f64| {
        if requests > 0.0 {
            seconds * 1e6 / requests
        } else {
            0.0
        }
    };
    println!(
        "{{\"connections\":{connections},\"pipeline\":{pipeline},\"requests\":{requests},\
         \"requests_per_s\":{:.0},\"server_cpu_s\":{cpu:.3},\"cpu_us_per_request\":{:.3},\
         \"user_us_per_request\":{:.3},\"errors\":{errors},\"non_2xx\":{non_2xx}}}",
        requests / f64::from(seconds),
        per_request(cpu),
        per_request(user),
    );
}
