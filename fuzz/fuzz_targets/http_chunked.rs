//! The chunked decoder: no panic or hang on any bytes, and the same body and
//! leftover bytes, or the same error status, however the input is cut and
//! read (after an error the connection closes, so what is left is moot).
#![no_main]

use eventlet_rt::http::server::fuzzing::chunked_body;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first three bytes choose the cuts and the size of the reads.
    let (cuts, read_size, input) = match data {
        [a, b, r, rest @ ..] => (
            vec![usize::from(*a), usize::from(*a) + usize::from(*b) * 4],
            usize::from(*r % 64) + 1,
            rest,
        ),
        _ => return,
    };
    let whole = chunked_body(input, &[], 4096);
    let cut = chunked_body(input, &cuts, read_size);
    match whole.0 {
        Ok(_) => assert_eq!(whole, cut, "cut at {cuts:?}, reads of {read_size}"),
        Err(_) => assert_eq!(whole.0, cut.0, "cut at {cuts:?}, reads of {read_size}"),
    }
});
