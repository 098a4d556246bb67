//! The request-head parser: no panic or hang on any bytes; a head that
//! parses when it arrives whole parses the same in any pieces (only a size
//! limit may judge a cut head differently, since limits are checked as
//! bytes arrive), and one refused whole is refused in pieces (a head both
//! too long and malformed may get either status), unless the input ends
//! inside its bad line: in pieces the parser looks again only when a line
//! ends or a limit passes, so that head is still incomplete.
#![no_main]

use eventlet_rt::http::server::fuzzing::first_head;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first two bytes choose where the rest is cut.
    let (cuts, input) = match data {
        [a, b, rest @ ..] => (vec![usize::from(*a), usize::from(*a) + usize::from(*b)], rest),
        _ => return,
    };
    let whole = first_head(input, &[]);
    let cut = first_head(input, &cuts);
    match (&whole, &cut) {
        (Some(Ok(_)), Some(Err(414 | 431 | 501))) | (Some(Err(_)), Some(Err(_)) | None) => {}
        _ => assert_eq!(whole, cut, "cut at {cuts:?}"),
    }
});
