//! The async scenarios on the hub's tokio runtime, without monkey patching.

mod async_scenarios;
#[path = "../../eventlet-rt/tests/servers/mod.rs"]
mod servers;

async_tests!(|| ());
