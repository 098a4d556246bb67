//! The entry of the `syscall` hook: a few instructions that hand
//! [`futex::syscall_hook`](super::futex::syscall_hook) the six arguments
//! after the system call number and the caller's return address, which says
//! which function of std is waiting (see `futex_sites`).
//!
//! `syscall` is variadic: its callers pass the number and up to six more
//! arguments as for any C function with seven integer arguments. The hook
//! takes the same seven, plus the return address as an eighth. The
//! trampoline leaves the six argument registers alone and adds what the
//! hook's signature needs: on x86-64 the seventh and eighth arguments on the
//! stack, on AArch64 the eighth in `x7`. On x86-64 every system call but
//! `futex` jumps straight to libc's `syscall` (stack and registers as the
//! caller left them), so a call outside green code costs a compare and a
//! jump more than unpatched.

use std::sync::atomic::{AtomicUsize, Ordering};

/// libc's `syscall`, where the trampoline sends what it does not take.
static REAL_SYSCALL: AtomicUsize = AtomicUsize::new(0);

/// Records libc's `syscall`; called before the trampoline is installed.
pub(super) fn init(real_syscall: usize) {
    REAL_SYSCALL.store(real_syscall, Ordering::Release);
}

/// Takes the place of libc's `syscall` in the global offset tables.
///
/// # Safety
/// Only reached through a rewritten GOT slot, as libc's `syscall(long,
/// ...)`, with the C calling convention of the architecture.
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
pub(super) unsafe extern "C" fn syscall_entry() {
    // On entry the caller's return address is at [rsp] and the seventh
    // argument at [rsp + 8]; rsp is 8 past a 16-byte boundary. Pushing
    // 8 bytes of padding, then the return address and the seventh
    // argument (the hook's eighth and seventh) keeps the call aligned.
    // `endbr64` is the landing pad of the indirect call through the GOT
    // (a no-op on cores without indirect branch tracking).
    core::arch::naked_asm!(
        ".cfi_startproc",
        "endbr64",
        "cmp rdi, {futex}",
        "jne 2f",
        "mov rax, [rsp]",
        "mov r11, [rsp + 8]",
        "sub rsp, 8",
        ".cfi_adjust_cfa_offset 8",
        "push rax",
        ".cfi_adjust_cfa_offset 8",
        "push r11",
        ".cfi_adjust_cfa_offset 8",
        "call {hook}",
        "add rsp, 24",
        ".cfi_adjust_cfa_offset -24",
        "ret",
        "2:",
        "jmp qword ptr [rip + {real}]",
        ".cfi_endproc",
        futex = const libc::SYS_futex,
        hook = sym super::futex::syscall_hook,
        real = sym REAL_SYSCALL,
    );
}

/// Takes the place of libc's `syscall` in the global offset tables.
///
/// # Safety
/// Only reached through a rewritten GOT slot, as libc's `syscall(long,
/// ...)`, with the C calling convention of the architecture.
#[cfg(target_arch = "aarch64")]
#[unsafe(naked)]
pub(super) unsafe extern "C" fn syscall_entry() {
    // The return address is in x30; the seven arguments in x0-x6 stay
    // where they are and x30 becomes the eighth. `hint #34` is `bti c`, a
    // landing pad for the indirect call through the GOT (a no-op on cores
    // without branch target identification).
    core::arch::naked_asm!(
        ".cfi_startproc",
        "hint #34",
        "stp x29, x30, [sp, #-16]!",
        ".cfi_def_cfa_offset 16",
        ".cfi_offset x30, -8",
        ".cfi_offset x29, -16",
        "mov x29, sp",
        "mov x7, x30",
        "bl {hook}",
        "ldp x29, x30, [sp], #16",
        ".cfi_def_cfa_offset 0",
        ".cfi_restore x30",
        ".cfi_restore x29",
        "ret",
        ".cfi_endproc",
        hook = sym super::futex::syscall_hook,
    );
}
