//! Every mistake in the arguments and the item shows in one build, not one per build.
use eventlet_rt::green;

#[green(foo, no_patch = true)]
async fn fetch() {}

fn main() {}
