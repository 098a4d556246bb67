//! The async scenarios on the hub's tokio runtime, without monkey patching.

mod async_scenarios;
mod servers;

async_tests!(|| ());
