//! `GreenResolver`: ureq's name resolution through the thread pool.

use ureq::Error;
use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

use crate::green::net::ToSocketAddrs;

/// The most addresses ureq keeps for a host (its `ResolvedSocketAddrs` capacity).
const MAX_ADDRS: usize = 16;

/// Resolves the host of ureq's URLs with the green
/// [`ToSocketAddrs`](crate::green::net::ToSocketAddrs): IP literals parse in
/// place, host names resolve on [`tpool`](crate::tpool), so DNS never blocks
/// the hub. The agent's timeout bounds the wait of the calling green thread.
///
/// ```
/// use eventlet_rt::http::{GreenResolver, ureq};
/// use ureq::unversioned::resolver::Resolver;
/// use ureq::unversioned::transport::NextTimeout;
///
/// let uri = "http://localhost:8080/".parse()?;
/// let config = ureq::Agent::config_builder().build();
/// let addrs = GreenResolver::default().resolve(&uri, &config, NextTimeout::default())?;
/// assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 8080));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct GreenResolver(());

impl Resolver for GreenResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, Error> {
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return Err(Error::BadUri(format!("{uri}: not an absolute URL")));
        };
        let port = match (authority.port_u16(), scheme) {
            (Some(port), _) => port,
            (None, "http") => 80,
            (None, "https") => 443,
            (None, other) => return Err(Error::BadUri(format!("unknown scheme: {other}"))),
        };
        let host = authority.host().trim_matches(['[', ']']);
        let lookup = || (host, port).to_socket_addrs();
        let found = if timeout.after.is_not_happening() {
            lookup()?
        } else {
            crate::with_timeout(*timeout.after, lookup)
                .map_err(|_| Error::Timeout(timeout.reason))??
        };
        let mut addrs = self.empty();
        for addr in config.ip_family().keep_wanted(found).take(MAX_ADDRS) {
            addrs.push(addr);
        }
        if addrs.is_empty() {
            return Err(Error::HostNotFound);
        }
        Ok(addrs)
    }
}
