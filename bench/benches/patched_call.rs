//! What `monkey_patch()` costs a call made outside any green thread: a
//! one-byte `read` of `/dev/zero` through libc, and a `getpid` through libc's
//! `syscall` (which the futex hook takes), before and after the patch (the
//! same process; the patch is irreversible, so the plain runs come first).

use std::fs::File;
use std::os::fd::AsRawFd;

use criterion::{Criterion, criterion_group, criterion_main};

fn read_one_byte(fd: i32) -> isize {
    let mut byte = 0u8;
    // SAFETY: a one-byte read into a local.
    unsafe { libc::read(fd, (&raw mut byte).cast(), 1) }
}

fn getpid_through_syscall() -> libc::c_long {
    // SAFETY: `getpid` takes no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_getpid) }
}

fn plain(c: &mut Criterion) {
    let zero = File::open("/dev/zero").unwrap();
    let fd = zero.as_raw_fd();
    c.bench_function("read_dev_zero/plain", |b| b.iter(|| read_one_byte(fd)));
    c.bench_function("syscall_getpid/plain", |b| b.iter(getpid_through_syscall));
}

fn patched(c: &mut Criterion) {
    eventlet_rt::monkey_patch();
    let zero = File::open("/dev/zero").unwrap();
    let fd = zero.as_raw_fd();
    c.bench_function("read_dev_zero/patched_outside_green", |b| {
        b.iter(|| read_one_byte(fd))
    });
    c.bench_function("syscall_getpid/patched_outside_green", |b| {
        b.iter(getpid_through_syscall)
    });
}

criterion_group!(benches, plain, patched);
criterion_main!(benches);
