//! Shared libraries loaded after `monkey_patch()`: `dlopen` patches the
//! GOT of what it loaded before it returns, so a library opened later
//! (a plugin, a driver loaded on demand) blocks green as the others do.

use std::ffi::{c_char, c_int, c_void};

use super::real::real;

pub(super) unsafe extern "C" fn dlopen(file: *const c_char, flags: c_int) -> *mut c_void {
    // SAFETY: the caller's arguments, passed on.
    let handle = unsafe { (real().dlopen)(file, flags) };
    if !handle.is_null() {
        // Every object again: the slots patched before are written with
        // the same hooks, and the new object's (and its dependencies') for
        // the first time.
        super::install();
    }
    handle
}
