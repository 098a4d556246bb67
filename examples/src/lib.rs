//! Shared parts of the example programs: a green HTTP/1.1 client
//! ([`http_fetch`]), a small local web site to crawl ([`site`]), and
//! command-line flags ([`args`]).

pub mod args;
pub mod http_fetch;
pub mod site;
