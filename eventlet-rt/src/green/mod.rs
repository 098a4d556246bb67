//! Green versions of std modules, like `eventlet.green`: same API, but
//! blocking calls block only the calling green thread.

pub mod mpsc;
