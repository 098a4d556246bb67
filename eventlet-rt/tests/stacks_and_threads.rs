//! Stacks (reuse, overflow, refusal), idle CPU, and one hub per OS thread.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use eventlet_rt::{Builder, GreenError, hub, sleep, spawn, spawn_n, yield_now};

mod child;
use child::{is_child, run_child};

#[test]
fn spawn_reuses_stacks_after_warm_up() {
    spawn(|| ()).wait().unwrap();
    let mapped = hub::stats().stacks_mapped;
    for i in 0..1000 {
        assert_eq!(spawn(move || i).wait().unwrap(), i);
    }
    assert_eq!(
        hub::stats().stacks_mapped,
        mapped,
        "spawn mapped a new stack after warm-up"
    );
}

#[test]
fn a_custom_stack_size_runs_deep_code_and_is_not_pooled() {
    let depth = Builder::new()
        .stack_size(4 * 1024 * 1024)
        .spawn(|| {
            // About 1 MiB of frames: too deep for the default 128 KiB stack.
            fn recurse(n: u32) -> u32 {
                let frame = std::hint::black_box([n as u8; 1024]);
                if n == 0 {
                    frame[0] as u32
                } else {
                    recurse(n - 1) + 1
                }
            }
            recurse(1000)
        })
        .wait()
        .unwrap();
    assert_eq!(depth, 1000);
    let stats = hub::stats();
    assert_eq!(stats.stacks_mapped, stats.stacks_pooled, "{stats:?}");
}

#[test]
#[should_panic(expected = "too small")]
fn a_tiny_stack_is_refused_with_a_clear_message() {
    let _ = Builder::new().stack_size(1024);
}

#[test]
#[ignore = "run in a child process by stack_overflow_ends_the_process_with_a_clear_message"]
fn child_overflows_its_stack() {
    if !is_child() {
        return;
    }
    fn recurse(n: u64) -> u64 {
        let frame = std::hint::black_box([n; 512]);
        if frame[0] == u64::MAX {
            return 0; // never: black_box hides that from the compiler
        }
        recurse(n + 1) + frame[3]
    }
    let _ = spawn(|| recurse(0)).wait();
    unreachable!("the overflow must end the process");
}

#[test]
fn stack_overflow_ends_the_process_with_a_clear_message() {
    let output = run_child("child_overflows_its_stack");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "the child survived an overflow: {stderr}"
    );
    assert!(
        stderr.contains("overflowed its stack of 128 KiB"),
        "stderr does not name the cause: {stderr}"
    );
    assert!(
        stderr.contains("stack_size"),
        "stderr does not say how to fix it: {stderr}"
    );
}

#[test]
#[ignore = "run in a child process by a_refused_stack_names_vm_max_map_count"]
fn child_runs_out_of_address_space() {
    if !is_child() {
        return;
    }
    // Leave room for what the process has mapped, and little more.
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let vm_size_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmSize:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    let limit = (vm_size_kib + 64 * 1024) * 1024; // 64 MiB of headroom: ~500 stacks
    let rlimit = libc_rlimit(limit);
    assert_eq!(rlimit, 0, "setrlimit failed");
    let threads: Vec<_> = (0..2000)
        .map(|_| spawn(|| sleep(Duration::from_millis(50))))
        .collect();
    let mut refused = 0;
    for gt in threads {
        match gt.wait() {
            Ok(()) => {}
            Err(GreenError::StackRefused(refusal)) => {
                let message = refusal.to_string();
                assert!(message.contains("vm.max_map_count"), "{message}");
                assert!(message.contains("green threads were live"), "{message}");
                assert!(refusal.live_green_threads() > 0);
                refused += 1;
            }
            Err(other) => panic!("not a refusal: {other:?}"),
        }
    }
    assert!(refused > 0, "the address-space limit was never reached");
    // The burst is over once the hub has had a quiet moment.
    sleep(Duration::from_millis(1500));
    println!("REFUSED {refused}");
}

fn libc_rlimit(bytes: u64) -> i32 {
    // SAFETY: setrlimit with a valid, initialised struct; it only affects this process.
    unsafe {
        let limit = libc::rlimit {
            rlim_cur: bytes,
            rlim_max: bytes,
        };
        libc::setrlimit(libc::RLIMIT_AS, &limit)
    }
}

#[test]
fn a_refused_stack_names_vm_max_map_count() {
    let output = run_child("child_runs_out_of_address_space");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child failed:\n{stdout}\n{stderr}");
    let refused: usize = stdout
        .split("REFUSED ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(stderr.contains("sysctl -w vm.max_map_count"), "{stderr}");
    // Once per burst, with the count, not once per refused green thread.
    assert_eq!(
        stderr.matches("sysctl -w vm.max_map_count").count(),
        1,
        "{refused} refusals flooded stderr: {stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{refused} green threads in all were refused a stack"
        )),
        "no burst summary with the count {refused}: {stderr}"
    );
}

#[test]
#[ignore = "run in a child process by a_panicking_tracing_layer_is_not_reported_as_a_stack_overflow"]
fn child_tracing_layer_panics_when_a_green_thread_ends() {
    if !is_child() {
        return;
    }
    struct PanicsOnEvents;
    impl tracing::Subscriber for PanicsOnEvents {
        fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
            tracing::span::Id::from_u64(1)
        }
        fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
        fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
        fn event(&self, event: &tracing::Event<'_>) {
            if event.metadata().target() == "eventlet_rt::greenthread" {
                panic!("the layer is broken");
            }
        }
        fn enter(&self, _: &tracing::span::Id) {}
        fn exit(&self, _: &tracing::span::Id) {}
    }
    tracing::subscriber::set_global_default(PanicsOnEvents).unwrap();
    let error = spawn(|| -> u32 { panic!("boom") }).wait().unwrap_err();
    assert_eq!(error.panic_message(), Some("boom"));
    let killed = spawn(|| sleep(Duration::from_secs(60)));
    yield_now();
    killed.kill();
    assert!(killed.wait().unwrap_err().is_killed());
    println!("{}", child::CHILD_DONE);
}

#[test]
fn a_panicking_tracing_layer_is_not_reported_as_a_stack_overflow() {
    let stderr =
        child::stderr_of_finished_child("child_tracing_layer_panics_when_a_green_thread_ends");
    assert!(!stderr.contains("overflowed"), "a false overflow: {stderr}");
    assert!(stderr.contains("the layer is broken"), "{stderr}");
}

#[test]
fn an_idle_hub_sleeps_in_the_kernel() {
    let cpu_before = process_cpu_time();
    sleep(Duration::from_millis(300));
    let cpu = process_cpu_time() - cpu_before;
    // A busy loop would burn ~300 ms of CPU; a blocked poller burns almost none.
    assert!(
        cpu < Duration::from_millis(100),
        "an idle hub used {cpu:?} of CPU"
    );
}

fn process_cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: getrusage fills the struct it is given.
    let usage = unsafe {
        assert_eq!(libc::getrusage(libc::RUSAGE_THREAD, usage.as_mut_ptr()), 0);
        usage.assume_init()
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

#[test]
fn each_os_thread_has_its_own_hub() {
    let workers: Vec<_> = (0..4u64)
        .map(|n| {
            std::thread::spawn(move || {
                let threads: Vec<_> = (0..100u64)
                    .map(|i| {
                        spawn(move || {
                            sleep(Duration::from_millis(5));
                            n * 1000 + i
                        })
                    })
                    .collect();
                assert_eq!(
                    hub::stats().queued,
                    100,
                    "another thread's green threads leaked in"
                );
                threads
                    .into_iter()
                    .map(|gt| gt.wait().unwrap())
                    .sum::<u64>()
            })
        })
        .collect();
    let sums: Vec<u64> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    for (n, sum) in sums.into_iter().enumerate() {
        assert_eq!(sum, 100 * 1000 * n as u64 + (0..100).sum::<u64>());
    }
    assert_eq!(hub::stats().queued, 0);
}

#[test]
fn thread_exit_kills_leftover_green_threads_and_runs_their_destructors() {
    struct Flag(std::sync::Arc<std::sync::atomic::AtomicU32>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
    let drops = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let d = drops.clone();
    std::thread::spawn(move || {
        for _ in 0..10 {
            let flag = Flag(d.clone());
            spawn_n(move || {
                let _flag = flag;
                sleep(Duration::from_secs(3600));
            });
        }
        // Five started and blocked, five never started.
        let flag = Flag(d.clone());
        spawn_n(move || drop(flag));
        yield_now();
        for _ in 0..5 {
            let flag = Flag(d.clone());
            spawn_n(move || {
                let _flag = flag;
                unreachable!("never started")
            });
        }
    })
    .join()
    .unwrap();
    assert_eq!(drops.load(std::sync::atomic::Ordering::SeqCst), 16);
}

#[test]
fn many_live_green_threads_when_the_map_limit_allows() {
    const LIVE: usize = 100_000;
    // Each live stack is two maps; the default vm.max_map_count (65530) allows
    // about 32,000. Raise it when running as root, otherwise test what fits.
    let limit: usize = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(65530);
    let live = if limit > 2 * LIVE + 10_000
        || std::fs::write("/proc/sys/vm/max_map_count", "262144").is_ok()
    {
        LIVE
    } else {
        eprintln!(
            "vm.max_map_count is {limit} and cannot be raised here: testing 25,000 live green threads"
        );
        25_000
    };
    hub::set_default_stack_size(eventlet_rt::MIN_STACK_SIZE);
    let woke = Rc::new(Cell::new(0usize));
    for _ in 0..live {
        let woke = woke.clone();
        spawn_n(move || {
            sleep(Duration::from_millis(200));
            woke.set(woke.get() + 1);
        });
    }
    yield_now();
    assert_eq!(hub::stats().live_green_threads, live);
    while woke.get() < live {
        sleep(Duration::from_millis(20));
    }
    assert_eq!(hub::stats().live_green_threads, 0);
}
