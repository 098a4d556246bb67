//! What this crate knows of `generator` 0.8.12's layout (pinned exactly in
//! Cargo.toml): where a stack's control block, bookkeeping, saved stack
//! pointer and bottom sentinel are. `generator` upgrades change this file.

use generator::Generator;

use super::pages::page_size;

/// The generator's control block sits just below the top of its stack,
/// which is aligned to at least this much (a page).
pub(super) const CONTROL_BLOCK_ALIGN: usize = 4096;

/// The top of the stack whose control block is at `control_block`.
#[inline(always)]
pub(super) fn stack_top(control_block: usize) -> usize {
    (control_block | (CONTROL_BLOCK_ALIGN - 1)) + 1
}

/// Where, in `generator` 0.8.12's control block (its `GeneratorImpl`,
/// `#[repr(C)]`), the stack's `Rc<StackMem>` sits: right after the
/// register context, a `#[repr(C, align(128))]` struct of 256 bytes on
/// x86_64 Unix (eight saved registers and nine words of state).
#[cfg(all(target_arch = "x86_64", unix))]
const BOOKKEEPING_POINTER_OFFSET: Option<usize> = Some(256);
#[cfg(not(all(target_arch = "x86_64", unix)))]
const BOOKKEEPING_POINTER_OFFSET: Option<usize> = None;

/// The size of that `Rc<StackMem>` allocation: two reference counts, the
/// stack's two bounds, its allocation offset and a flag.
pub(super) const BOOKKEEPING_BYTES: usize = 48;

/// The address of the heap allocation that holds a new generator's stack
/// bookkeeping, read once from its control block; 0 where unknown.
///
/// `generator` touches it whenever a body starts or finishes, and it lies
/// wherever the allocator put it when the stack was mapped, so with many
/// green threads it is as cold as the stack itself: the prefetches that
/// warm a stack warm it too. Only prefetched, never dereferenced, so a wrong
/// address would cost a wasted hint, not a fault.
pub(super) fn stack_bookkeeping(control_block: usize) -> usize {
    let Some(offset) = BOOKKEEPING_POINTER_OFFSET else {
        return 0;
    };
    // SAFETY: `control_block` is the address of the generator's control
    // block, a live `GeneratorImpl` of `generator` 0.8.12 (pinned exactly in
    // Cargo.toml) on this stack's mapped, readable top page; on x86_64 Unix
    // its `stack` field, an initialized `Rc` (one aligned word), sits at
    // `offset`. Nothing holds a mutable borrow of the generator here (it was
    // created a moment ago and has not run), and the word is only read.
    unsafe { ((control_block + offset) as *const usize).read() }
}

/// The word `generator` writes over the bottom of every new stack (its
/// `STACK_SENTINEL`), read back only by its `stack_usage` diagnostics.
pub(super) const GENERATOR_STACK_SENTINEL: usize = 0xDEAD_BEEF;

/// Gives the lowest page of a new, never resumed stack back to the kernel.
///
/// `generator` 0.8.12 writes eight sentinel words at the bottom of each new
/// stack so that `stack_usage` can tell whether the stack ever grew that far.
/// That makes the page resident for the whole life of the stack, although a
/// green thread almost never reaches it: one page of the two a sleeping green
/// thread holds. This crate never asks for `stack_usage`, and nothing else
/// reads the page, so after `MADV_DONTNEED` it reads as zeros and costs no
/// memory until a green thread really grows that deep. Pooled stacks keep the
/// page released, as nothing writes it again. The generator checks the
/// sentinel once more when it is dropped, so [`Coroutine`](super::Coroutine)'s
/// `Drop` writes it back then.
pub(super) fn release_stack_bottom(generator: Generator<'static, (), ()>) -> NewStack {
    let (stack_words, _) = generator.stack_usage();
    let stack_bytes = stack_words * std::mem::size_of::<usize>();
    let control_block = generator.into_raw() as usize;
    let page = page_size();
    // The generator's control block is the first thing allocated on its stack,
    // right below the page-aligned top, and is much smaller than a page.
    let top = (control_block & !(page - 1)) + page;
    let bottom = top.wrapping_sub(stack_bytes);
    // Only release a page that provably is the stack's bottom: page aligned,
    // well below the top, holding the sentinel the generator just wrote.
    // SAFETY: when the first two checks pass, `bottom` lies in the stack
    // mapping (`stack_bytes` below its top, which is above the control block),
    // so it is mapped, readable and aligned for a `usize`.
    let is_bottom = bottom.is_multiple_of(page)
        && stack_bytes >= 4 * page
        && unsafe { (bottom as *const usize).read() } == GENERATOR_STACK_SENTINEL;
    // SAFETY: the page is part of a private anonymous mapping that no code
    // has run on yet; its only contents are the diagnostic sentinels, and
    // zeros are a valid value for every later reader (the one that checks the
    // sentinel gets it back from `Coroutine::drop`).
    let released = is_bottom
        && unsafe { libc::madvise(bottom as *mut libc::c_void, page, libc::MADV_DONTNEED) } == 0;
    // SAFETY: `control_block` came from `into_raw` on a generator of this very
    // type just above, and is reclaimed exactly once.
    let generator = unsafe { Generator::from_raw(control_block as *mut usize) };
    NewStack {
        generator,
        control_block,
        bottom: if is_bottom { bottom } else { 0 },
        bottom_released: released,
    }
}

/// A new generator and what [`release_stack_bottom`] found of its stack.
pub(super) struct NewStack {
    pub(super) generator: Generator<'static, (), ()>,
    /// The address of its control block.
    pub(super) control_block: usize,
    /// The lowest address of its stack (the guard page is right below), or 0
    /// when it could not be told for sure.
    pub(super) bottom: usize,
    /// True when the bottom page (and its sentinel) went back to the kernel.
    pub(super) bottom_released: bool,
}

/// Where the saved stack pointer sits in a control block: the register
/// context comes first, and `generator`'s `swap_registers` stores `rsp` as
/// its second word (`[rdi + 1*8]`).
#[cfg(all(target_arch = "x86_64", unix))]
const SAVED_STACK_POINTER_OFFSET: Option<usize> = Some(8);
#[cfg(not(all(target_arch = "x86_64", unix)))]
const SAVED_STACK_POINTER_OFFSET: Option<usize> = None;

/// The stack pointer a suspended coroutine will resume with: nothing of its
/// frames lies below it. `None` where the layout is not known.
///
/// # Safety
/// `control_block` is the control block of a live, suspended coroutine of
/// this thread, whose stack is not stowed (the block is readable).
pub(super) unsafe fn saved_stack_pointer(control_block: usize) -> Option<usize> {
    let offset = SAVED_STACK_POINTER_OFFSET?;
    // SAFETY: per the contract, the control block is a live `GeneratorImpl`
    // on a readable page; its register context starts it, and the word at
    // `offset` is the saved `rsp`, written by the last switch out of it and
    // not written again until it is resumed (on this thread, not now).
    Some(unsafe { ((control_block + offset) as *const usize).read() })
}
