//! Name resolution: `getaddrinfo` runs on the thread pool ([`crate::tpool`]),
//! so only the calling green thread waits for the resolver.

use std::ffi::{CStr, CString, c_char, c_int};

use libc::addrinfo;

use super::in_green_code;
use super::real::real;
use super::wait::catch_interrupt;

/// A resolver's answer on its way back from the pool thread; freed there if
/// the green thread that asked was killed meanwhile.
struct Answer(*mut addrinfo);

// SAFETY: the list is owned by whoever holds the `Answer`, and libc's
// `freeaddrinfo` may free it on any thread.
unsafe impl Send for Answer {}

impl Answer {
    fn into_raw(self) -> *mut addrinfo {
        let list = self.0;
        std::mem::forget(self);
        list
    }
}

impl Drop for Answer {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: a list `getaddrinfo` returned, freed once.
            unsafe { libc::freeaddrinfo(self.0) };
        }
    }
}

pub(super) unsafe extern "C" fn getaddrinfo(
    node: *const c_char,
    service: *const c_char,
    hints: *const addrinfo,
    result: *mut *mut addrinfo,
) -> c_int {
    if !in_green_code() || result.is_null() {
        // SAFETY: the caller's arguments, passed on.
        return unsafe { (real().getaddrinfo)(node, service, hints, result) };
    }
    // SAFETY: non-null names are the caller's C strings.
    let copy =
        |name: *const c_char| (!name.is_null()).then(|| unsafe { CStr::from_ptr(name) }.to_owned());
    let (node, service): (Option<CString>, Option<CString>) = (copy(node), copy(service));
    // SAFETY: a non-null `hints` is the caller's; only its four numbers count
    // (its pointers must be null), so a copy of those is all the pool needs.
    let hints = (!hints.is_null()).then(|| unsafe {
        let hints = &*hints;
        (
            hints.ai_flags,
            hints.ai_family,
            hints.ai_socktype,
            hints.ai_protocol,
        )
    });
    let resolve = move || {
        // SAFETY: a zeroed `addrinfo` with the caller's four numbers is a
        // valid hint; the names are C strings that outlive the call.
        unsafe {
            let mut hint: addrinfo = std::mem::zeroed();
            if let Some((flags, family, socktype, protocol)) = hints {
                (
                    hint.ai_flags,
                    hint.ai_family,
                    hint.ai_socktype,
                    hint.ai_protocol,
                ) = (flags, family, socktype, protocol);
            }
            let mut list = std::ptr::null_mut();
            let code = (real().getaddrinfo)(
                node.as_ref().map_or(std::ptr::null(), |n| n.as_ptr()),
                service.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
                if hints.is_some() {
                    &hint
                } else {
                    std::ptr::null()
                },
                &mut list,
            );
            let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
            (code, errno, Answer(list))
        }
    };
    match catch_interrupt(|| crate::tpool::execute(resolve)) {
        Ok((code, errno, answer)) => {
            // SAFETY: the caller's result pointer; errno for `EAI_SYSTEM`.
            unsafe {
                *result = answer.into_raw();
                *libc::__errno_location() = errno;
            }
            code
        }
        Err(errno) => {
            // SAFETY: errno of the calling thread.
            unsafe { *libc::__errno_location() = errno };
            libc::EAI_SYSTEM
        }
    }
}
