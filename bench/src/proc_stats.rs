//! Figures the kernel keeps about a process: resident memory and CPU time.

use std::fs;

/// Resident memory of the calling process, in bytes (`/proc/self/statm`).
pub fn resident_bytes() -> u64 {
    let statm = fs::read_to_string("/proc/self/statm").expect("read /proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .expect("resident pages in /proc/self/statm");
    pages * page_size()
}

/// CPU time (user + system) a process has used so far, in seconds (`/proc/PID/stat`).
pub fn cpu_seconds(pid: u32) -> std::io::Result<f64> {
    let (user, system) = user_and_system_seconds(pid)?;
    Ok(user + system)
}

/// The user and the system CPU time a process has used so far, in seconds
/// (`/proc/PID/stat`).
pub fn user_and_system_seconds(pid: u32) -> std::io::Result<(f64, f64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name may hold spaces; the fields after it start past its ')'.
    let after_name = &stat[stat.rfind(')').map_or(0, |at| at + 2)..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 here.
    let ticks = |at: usize| fields[at].parse::<u64>().unwrap_or(0) as f64;
    let per_second = clock_ticks_per_second();
    Ok((ticks(11) / per_second, ticks(12) / per_second))
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as u64 }
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) as f64 }
}
