//! trybuild suite
