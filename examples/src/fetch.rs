//! The crawlers' HTTP client: eventlet-rt's green ureq agent
//! ([`eventlet_rt::http`]), which fetches `http://` and `https://` alike.

use std::time::Duration;

use eventlet_rt::green::tls::rustls::pki_types::CertificateDer;
use eventlet_rt::http::ureq::tls::{Certificate, RootCerts, TlsConfig};
use eventlet_rt::http::ureq::{self, Agent};

/// A green agent whose requests give up after `timeout`. With `trusted`,
/// `https://` servers must present a certificate issued by (or equal to)
/// that one, as with curl's `--cacert`; without, the Mozilla roots of
/// `webpki-roots` decide.
///
/// ```
/// use std::time::Duration;
/// let agent = eventlet_examples::fetch::agent(None, Duration::from_secs(30));
/// assert_eq!(agent.config().timeouts().global, Some(Duration::from_secs(30)));
/// ```
pub fn agent(trusted: Option<&CertificateDer<'static>>, timeout: Duration) -> Agent {
    agent_trusting(
        trusted.map(|der| Certificate::from_der(der).to_owned()),
        timeout,
    )
}

/// [`agent`] trusting the first certificate of a PEM text instead.
///
/// ```
/// use std::time::Duration;
/// let site = eventlet_examples::site::Site::start()?;
/// let agent = eventlet_examples::fetch::agent_from_pem(site.certificate_pem().as_bytes(), Duration::from_secs(30)).unwrap();
/// assert_eq!(eventlet_examples::fetch::get(&agent, &site.https_url("/bytes/2")).unwrap(), [0, 1]);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn agent_from_pem(pem: &[u8], timeout: Duration) -> Result<Agent, ureq::Error> {
    Ok(agent_trusting(Some(Certificate::from_pem(pem)?), timeout))
}

fn agent_trusting(trusted: Option<Certificate<'static>>, timeout: Duration) -> Agent {
    let mut config = Agent::config_builder()
        .timeout_global(Some(timeout))
        .user_agent("eventlet-rs-examples");
    if let Some(certificate) = trusted {
        let roots = RootCerts::new_with_certs(&[certificate]);
        config = config.tls_config(TlsConfig::builder().root_certs(roots).build());
    }
    eventlet_rt::http::agent_with_config(config.build())
}

/// `GET url` and its whole body. A status other than 2xx is an error, as
/// are bodies over 10 MB (ureq's default limit).
///
/// ```
/// let site = eventlet_examples::site::Site::start()?;
/// let body = eventlet_examples::fetch::get(&site.agent(), &site.https_url("/bytes/3"));
/// assert_eq!(body.unwrap(), [0, 1, 2]);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn get(agent: &Agent, url: &str) -> Result<Vec<u8>, ureq::Error> {
    agent.get(url).call()?.body_mut().read_to_vec()
}
