//! Rewriting the global offset tables of the loaded objects, so that their
//! calls to libc reach the hooks instead.
//!
//! Every call from Rust code (std, any crate) or from a shared library to a
//! libc function goes through a slot of its object's GOT, filled in by the
//! dynamic loader at start-up (`GLOB_DAT` and `JUMP_SLOT` relocations). We
//! walk each loaded object's dynamic relocations with `dl_iterate_phdr`, find
//! the slots bound to the symbols we take over, and write the hook's address
//! there. Slots in the read-only-after-relocation segment (`PT_GNU_RELRO`,
//! all of them under Rust's default full RELRO) are made writable for the
//! write and read-only again after it.

use std::ffi::{CStr, c_int, c_void};
use std::ops::Range;

/// A libc symbol and the address of the function that takes its calls over.
pub(super) struct Hook {
    pub(super) symbol: &'static CStr,
    pub(super) address: usize,
}

#[cfg(target_arch = "x86_64")]
mod arch {
    pub(super) const R_ABS64: u32 = 1; // R_X86_64_64
    pub(super) const R_GLOB_DAT: u32 = 6;
    pub(super) const R_JUMP_SLOT: u32 = 7;
}

#[cfg(target_arch = "aarch64")]
mod arch {
    pub(super) const R_ABS64: u32 = 257;
    pub(super) const R_GLOB_DAT: u32 = 1025;
    pub(super) const R_JUMP_SLOT: u32 = 1026;
}

// The dynamic section tags we read.
const DT_NULL: i64 = 0;
const DT_PLTRELSZ: i64 = 2;
const DT_STRTAB: i64 = 5;
const DT_SYMTAB: i64 = 6;
const DT_RELA: i64 = 7;
const DT_RELASZ: i64 = 8;
const DT_JMPREL: i64 = 23;

/// `Elf64_Dyn`.
#[repr(C)]
struct Dyn {
    tag: i64,
    value: u64,
}

/// `Elf64_Rela`.
#[repr(C)]
struct Rela {
    offset: u64,
    info: u64,
    addend: i64,
}

/// Points every GOT slot of every loaded object (libc and the dynamic loader
/// excepted) that is bound to one of `hooks`' symbols at that hook; returns
/// how many slots it rewrote.
pub(super) fn install(hooks: &[Hook]) -> usize {
    let mut state = (hooks, 0usize);
    // SAFETY: the callback gets `state` back as `data` and only reads the
    // loader's descriptions of the loaded objects, which stay valid during
    // the iteration (the loader holds its lock).
    unsafe {
        libc::dl_iterate_phdr(Some(visit), (&raw mut state).cast::<c_void>());
    }
    state.1
}

unsafe extern "C" fn visit(
    info: *mut libc::dl_phdr_info,
    _size: usize,
    data: *mut c_void,
) -> c_int {
    // SAFETY: `install` passes a `(&[Hook], usize)` as `data`, and the loader
    // a valid `dl_phdr_info` whose name is null or a C string.
    let (state, info) = unsafe { (&mut *data.cast::<(&[Hook], usize)>(), &*info) };
    let name = if info.dlpi_name.is_null() {
        c""
    } else {
        // SAFETY: see above.
        unsafe { CStr::from_ptr(info.dlpi_name) }
    };
    if is_libc(name) {
        return 0;
    }
    // SAFETY: the program headers and the dynamic section they point to are
    // those of a loaded object, mapped while the loader's lock is held.
    state.1 += unsafe { patch_object(info, state.0) };
    0
}

/// libc's own calls, the dynamic loader's and the vDSO's are left alone:
/// they are the real functions the hooks forward to.
fn is_libc(name: &CStr) -> bool {
    let name = name.to_bytes();
    let file = name.rsplit(|&b| b == b'/').next().unwrap_or(name);
    file.starts_with(b"libc.so")
        || file.starts_with(b"ld-linux")
        || file.starts_with(b"ld64.so")
        || file.starts_with(b"linux-vdso")
        || file.starts_with(b"linux-gate")
}

/// Rewrites the matching slots of one object; returns how many.
///
/// # Safety
/// `info` describes a loaded object (from `dl_iterate_phdr`).
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
unsafe fn patch_object(info: &libc::dl_phdr_info, hooks: &[Hook]) -> usize {
    let base = info.dlpi_addr as usize;
    // SAFETY: the loader's program headers of this object.
    let headers = unsafe { std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum.into()) };
    let mut dynamic = None;
    let mut relro = 0..0;
    for header in headers {
        let start = base + header.p_vaddr as usize;
        match header.p_type {
            libc::PT_DYNAMIC => dynamic = Some(start as *const Dyn),
            libc::PT_GNU_RELRO => relro = start..start + header.p_memsz as usize,
            _ => {}
        }
    }
    let Some(mut entry) = dynamic else {
        return 0;
    };
    // glibc stores the table addresses already relocated; other loaders
    // leave them as offsets from the load address.
    let address = |value: u64| {
        let value = value as usize;
        if value < base { value + base } else { value }
    };
    let (mut symtab, mut strtab) = (0, 0);
    let mut tables = [(0, 0); 2];
    loop {
        // SAFETY: the dynamic section is an array ending with `DT_NULL`.
        let Dyn { tag, value } = unsafe { &*entry };
        match *tag {
            DT_NULL => break,
            DT_SYMTAB => symtab = address(*value),
            DT_STRTAB => strtab = address(*value),
            DT_RELA => tables[0].0 = address(*value),
            DT_RELASZ => tables[0].1 = *value as usize,
            DT_JMPREL => tables[1].0 = address(*value),
            DT_PLTRELSZ => tables[1].1 = *value as usize,
            _ => {}
        }
        // SAFETY: not past `DT_NULL`, which ends the array.
        entry = unsafe { entry.add(1) };
    }
    if symtab == 0 || strtab == 0 {
        return 0;
    }
    let mut rewritten = 0;
    for (table, bytes) in tables {
        if table == 0 {
            continue;
        }
        // SAFETY: `DT_RELA`/`DT_JMPREL` point to `Elf64_Rela` arrays of the
        // given size in bytes.
        let relocations =
            unsafe { std::slice::from_raw_parts(table as *const Rela, bytes / size_of::<Rela>()) };
        for relocation in relocations {
            let kind = (relocation.info & 0xffff_ffff) as u32;
            let symbol = (relocation.info >> 32) as usize;
            let binds_a_function = kind == arch::R_GLOB_DAT
                || kind == arch::R_JUMP_SLOT
                || (kind == arch::R_ABS64 && relocation.addend == 0);
            if !binds_a_function || symbol == 0 {
                continue;
            }
            // SAFETY: a relocation's symbol indexes the object's symbol
            // table, and its name indexes the string table.
            let name = unsafe {
                let symbol = &*(symtab as *const libc::Elf64_Sym).add(symbol);
                CStr::from_ptr((strtab + symbol.st_name as usize) as *const libc::c_char)
            };
            if let Some(hook) = hooks.iter().find(|hook| hook.symbol == name) {
                let slot = base + relocation.offset as usize;
                // SAFETY: the relocation's target is a pointer-sized slot of
                // this object, written by the loader and read by its code.
                unsafe { write_slot(slot, hook.address, &relro) };
                rewritten += 1;
            }
        }
    }
    rewritten
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
unsafe fn patch_object(_: &libc::dl_phdr_info, _: &[Hook]) -> usize {
    0
}

/// The pages of a `PT_GNU_RELRO` segment that the dynamic loader made
/// read-only: whole pages only, as glibc's `_dl_protect_relro` rounds both
/// ends down. A last, partial page is shared with `.data` (linkers that do
/// not pad the segment, 64 KiB pages) and stays writable.
fn loader_protected(relro: &Range<usize>, page_size: usize) -> Range<usize> {
    let start = relro.start & !(page_size - 1);
    let end = relro.end & !(page_size - 1);
    start..end.max(start)
}

/// Writes `value` into the GOT slot at `slot`, lifting for the write the
/// read-only protection of a page the loader protected (`relro` is the
/// object's `PT_GNU_RELRO` segment).
///
/// # Safety
/// `slot` is an aligned, pointer-sized GOT slot of a loaded object.
unsafe fn write_slot(slot: usize, value: usize, relro: &Range<usize>) {
    // SAFETY: `sysconf` has no preconditions.
    let page_size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
    let page = (slot & !(page_size - 1)) as *mut c_void;
    // A page outside the protected pages is writable as it is, and may hold
    // `.data` that other threads write: its protection is left alone.
    let read_only = loader_protected(relro, page_size).contains(&slot);
    // The page belongs to the object's mapped RELRO segment and holds
    // nothing but data that is read-only after relocation; making it
    // writable for a moment changes nothing for the threads that read it.
    if read_only
        // SAFETY: `page` is the page-aligned start of that mapped page.
        && unsafe { libc::mprotect(page, page_size, libc::PROT_READ | libc::PROT_WRITE) } != 0
    {
        return;
    }
    // SAFETY: an aligned word store is atomic on the supported targets, so a
    // thread calling through the slot meanwhile sees the old or the new
    // function, both of which behave as the real one for it.
    unsafe {
        std::sync::atomic::AtomicUsize::from_ptr(slot as *mut usize)
            .store(value, std::sync::atomic::Ordering::Release);
    }
    if read_only {
        // SAFETY: as above; the loader made this page read-only.
        unsafe { libc::mprotect(page, page_size, libc::PROT_READ) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The permissions `/proc/self/maps` shows for the page at `address`.
    fn permissions(address: usize) -> String {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        maps.lines()
            .find_map(|line| {
                let (range, rest) = line.split_once(' ')?;
                let (start, end) = range.split_once('-')?;
                let start = usize::from_str_radix(start, 16).ok()?;
                let end = usize::from_str_radix(end, 16).ok()?;
                (start..end)
                    .contains(&address)
                    .then(|| rest[..4].to_owned())
            })
            .unwrap()
    }

    #[test]
    fn a_slot_on_a_relro_page_shared_with_data_leaves_that_page_writable() {
        // SAFETY: `sysconf` has no preconditions.
        let page_size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        // SAFETY: a fresh private mapping of two pages.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                2 * page_size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        } as usize;
        assert_ne!(base as *mut c_void, libc::MAP_FAILED);
        // As the loader leaves it: RELRO ends halfway into the second page,
        // so only the first is read-only; `.data` fills the second.
        let relro = base..base + page_size + page_size / 2;
        // SAFETY: the first page of our mapping.
        unsafe { libc::mprotect(base as *mut c_void, page_size, libc::PROT_READ) };
        let protected_slot = base + 8;
        let shared_slot = base + page_size + 8;
        // SAFETY: aligned words of our mapping.
        unsafe {
            write_slot(protected_slot, 1, &relro);
            write_slot(shared_slot, 2, &relro);
        }
        // SAFETY: as above.
        unsafe {
            assert_eq!(*(protected_slot as *const usize), 1);
            assert_eq!(*(shared_slot as *const usize), 2);
        }
        assert_eq!(permissions(protected_slot), "r--p", "protected again");
        assert_eq!(
            permissions(shared_slot),
            "rw-p",
            "the page shared with .data stays writable"
        );
        // SAFETY: `.data` on the shared page is still written to.
        unsafe { *((shared_slot + 8) as *mut usize) = 3 };
        // SAFETY: our mapping, unmapped once.
        unsafe { libc::munmap(base as *mut c_void, 2 * page_size) };
    }
}
