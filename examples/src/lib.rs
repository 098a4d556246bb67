//! Shared parts of the example programs: the green HTTP client they fetch
//! with ([`fetch`]) and a small local web site, over `http://` and
//! `https://`, to fetch from ([`site`]).

pub mod fetch;
pub mod site;
