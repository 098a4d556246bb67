//! The `Date` header's value (RFC 9110 5.6.7, IMF-fixdate), formatted once
//! per second per OS thread.

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

/// `Sun, 06 Nov 1994 08:49:37 GMT`
pub(crate) type HttpDate = [u8; 29];

thread_local! {
    static CACHED: Cell<(u64, HttpDate)> = const { Cell::new((u64::MAX, [0; 29])) };
}

/// Now, as an HTTP date.
pub(crate) fn now() -> HttpDate {
    let secs = unix_seconds();
    CACHED.with(|cached| {
        let (at, text) = cached.get();
        if at == secs {
            return text;
        }
        let text = format(secs);
        cached.set((secs, text));
        text
    })
}

/// Seconds since the epoch from the kernel's coarse clock: the time of the
/// last tick (a few milliseconds old at most; a `Date` shows whole seconds),
/// which the vDSO reads without the time stamp counter, and no
/// `duration_since` (about 30 instructions per json exchange, callgrind).
#[cfg(target_os = "linux")]
fn unix_seconds() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `clock_gettime` writes the `timespec` it is given, which lives
    // on this stack for the call.
    let read = unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut now) };
    if read == 0 {
        u64::try_from(now.tv_sec).unwrap_or(0)
    } else {
        system_seconds()
    }
}

#[cfg(not(target_os = "linux"))]
fn unix_seconds() -> u64 {
    system_seconds()
}

fn system_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

fn format(secs: u64) -> HttpDate {
    const DAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let days = secs / 86_400;
    let (year, month, day) = civil_from_days(days);
    let time = secs % 86_400;
    let mut out = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    out[..3].copy_from_slice(DAYS[(days % 7) as usize]);
    two_digits(&mut out[5..7], day);
    out[8..11].copy_from_slice(MONTHS[month as usize - 1]);
    two_digits(&mut out[12..14], year / 100);
    two_digits(&mut out[14..16], year % 100);
    two_digits(&mut out[17..19], time / 3600);
    two_digits(&mut out[20..22], time / 60 % 60);
    two_digits(&mut out[23..25], time % 60);
    out
}

fn two_digits(out: &mut [u8], n: u64) {
    out[0] = b'0' + (n / 10 % 10) as u8;
    out[1] = b'0' + (n % 10) as u8;
}

/// Year, month (1-12) and day (1-31) of a day count since 1970-01-01
/// (Howard Hinnant's `civil_from_days`, for days after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_coarse_clock_tells_the_system_time() {
        let before = system_seconds();
        let coarse = unix_seconds();
        let after = system_seconds();
        // The coarse clock lags by a tick at most.
        assert!(
            before.saturating_sub(1) <= coarse && coarse <= after,
            "{before} {coarse} {after}"
        );
    }

    #[test]
    fn known_dates() {
        assert_eq!(&format(0), b"Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(&format(784_111_777), b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(&format(951_782_400), b"Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(&format(1_798_761_599), b"Thu, 31 Dec 2026 23:59:59 GMT");
    }
}
