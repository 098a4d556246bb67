//! The trybuild suite of eventlet-rt's macros: `pass/` programs must compile under
//! `#![deny(warnings)]` and run to a zero exit; `fail/` programs must fail to compile with
//! exactly the message in their `.stderr` snapshot.
//!
//! Regenerate snapshots with `TRYBUILD=overwrite cargo test -p ui-tests`, then read every
//! changed `.stderr` as a newcomer would: if it does not say what to write instead, fix the
//! macro, not the snapshot.

#[test]
fn pass() {
    trybuild::TestCases::new().pass("tests/ui/pass/*.rs");
}

#[test]
fn fail() {
    trybuild::TestCases::new().compile_fail("tests/ui/fail/*.rs");
}
