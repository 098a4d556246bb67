//! The async scenarios on the hub's tokio runtime with `monkey_patch()` on:
//! tokio's own threads (its blocking pool) have no hub, and the hub's own
//! waits in tokio's driver stay real waits.

mod async_scenarios;
#[path = "../../eventlet-rt/tests/servers/mod.rs"]
mod servers;

async_tests!(eventlet_rt::monkey_patch);
