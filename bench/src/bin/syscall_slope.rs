//! Makes N `getpid` calls through libc's `syscall`, after `monkey_patch()`
//! or not, for an instruction count's slope (what the `syscall` hook adds
//! to a call outside green code, below what a timing resolves here):
//!
//! ```sh
//! for n in 100000 200000; do for p in 0 1; do
//!   perf stat -x, -e instructions:u target/release/syscall_slope $n $p; done; done
//! ```

fn main() {
    let mut args = std::env::args().skip(1);
    let calls: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(100_000);
    if args.next().as_deref() == Some("1") {
        eventlet_rt::monkey_patch();
    }
    let mut sum = 0;
    for _ in 0..calls {
        // SAFETY: `getpid` takes no arguments and cannot fail.
        sum += unsafe { libc::syscall(libc::SYS_getpid) };
    }
    std::hint::black_box(sum);
}
