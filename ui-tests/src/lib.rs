//! The trybuild suite of eventlet-rt's macros lives in `tests/ui.rs`; this crate has no code.
