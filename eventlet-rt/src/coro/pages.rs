//! The system calls on a stack's pages: give them back, seal them, unseal them.
//!
//! Every range here is page aligned and lies inside one stack mapping that
//! stays mapped: the address range stays reserved, only its pages go.

use std::sync::OnceLock;

/// The size of a memory page.
pub(crate) fn page_size() -> usize {
    static PAGE: OnceLock<usize> = OnceLock::new();
    // SAFETY: `sysconf` only reads a constant of the system.
    *PAGE.get_or_init(|| unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize)
}

/// Gives the pages of `from..to` back to the kernel: they read as zeros and
/// cost no memory until written again (`MADV_DONTNEED` on private anonymous
/// memory). True when the kernel took them.
///
/// # Safety
/// `from..to` is page aligned, inside a live private anonymous mapping, and
/// no value that anybody will read again lives there.
pub(super) unsafe fn give_back(from: usize, to: usize) -> bool {
    debug_assert!(from.is_multiple_of(page_size()) && to.is_multiple_of(page_size()));
    if from >= to {
        return true;
    }
    // SAFETY: see the function's contract.
    unsafe { libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_DONTNEED) == 0 }
}

/// Who may touch `from..to` from now on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Access {
    /// Nobody: every access faults.
    Sealed,
    /// Reads only: writes fault.
    ReadOnly,
    /// Reads and writes, as a stack is mapped.
    ReadWrite,
}

/// Sets the protection of `from..to`; true on success.
///
/// # Safety
/// `from..to` is page aligned, inside a live mapping this crate owns, and
/// whoever may fault on it is ready for that (see `stow`).
pub(super) unsafe fn protect(from: usize, to: usize, access: Access) -> bool {
    let prot = match access {
        Access::Sealed => libc::PROT_NONE,
        Access::ReadOnly => libc::PROT_READ,
        Access::ReadWrite => libc::PROT_READ | libc::PROT_WRITE,
    };
    // SAFETY: see the function's contract.
    unsafe { libc::mprotect(from as *mut libc::c_void, to - from, prot) == 0 }
}

/// Maps `len` bytes of fresh, zeroed stack memory anywhere; its address.
pub(super) fn map_fresh(len: usize) -> Option<usize> {
    // SAFETY: a new private anonymous mapping; nothing else is touched.
    let address = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
            -1,
            0,
        )
    };
    (address != libc::MAP_FAILED).then_some(address as usize)
}

/// Moves the mapping at `from` (`len` bytes, from [`map_fresh`]) over
/// `to..to + len`, whose mapping it replaces in one step: an access to the
/// range from any thread sees either the old mapping or the new one, never
/// a hole. True on success; on failure `from` is still mapped.
///
/// # Safety
/// `to..to + len` is page aligned and a range this crate owns (a stack),
/// whose old contents nobody needs any more.
pub(super) unsafe fn move_over(from: usize, len: usize, to: usize) -> bool {
    // SAFETY: see the function's contract; `from` is a whole mapping.
    let moved = unsafe {
        libc::mremap(
            from as *mut libc::c_void,
            len,
            len,
            libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED,
            to as *mut libc::c_void,
        )
    };
    moved as usize == to
}

/// Keeps the page at `page` (a stack's guard page) out of core dumps. Its
/// real use: the guard page's mapping then differs from the stack's, so the
/// kernel never merges the two when the stack is sealed, and unsealing never
/// needs a mapping more than the process had (`vm.max_map_count`).
///
/// # Safety
/// `page` is a page aligned address inside a live mapping.
pub(super) unsafe fn keep_out_of_core_dumps(page: usize) -> bool {
    // SAFETY: see the function's contract; the advice changes no content.
    unsafe { libc::madvise(page as *mut libc::c_void, page_size(), libc::MADV_DONTDUMP) == 0 }
}

/// How many pages of `from..to` are resident (`mincore`); for tests.
#[cfg(test)]
pub(crate) fn resident_pages(from: usize, to: usize) -> usize {
    let page = page_size();
    let from = from & !(page - 1);
    let pages = (to - from).div_ceil(page);
    let mut residency = vec![0u8; pages];
    // SAFETY: `residency` holds one byte per page of the range; `mincore`
    // only writes there, and fails (checked) on unmapped ranges.
    let status = unsafe {
        libc::mincore(
            from as *mut libc::c_void,
            pages * page,
            residency.as_mut_ptr().cast(),
        )
    };
    assert_eq!(status, 0, "mincore: {}", std::io::Error::last_os_error());
    residency.iter().filter(|&&byte| byte & 1 != 0).count()
}
