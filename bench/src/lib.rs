//! Shared set-up of the benchmark harness: each peer configured the one way
//! every benchmark and every binary uses it, so the rows compare like with like.

pub mod baselines;
pub mod echo;
pub mod http;
pub mod latency;
pub mod peers;
pub mod proc_stats;
pub mod settings;
