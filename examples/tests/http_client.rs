//! eventlet-rt's green ureq agent against the embedded site, over `http://`
//! and `https://`: statuses, headers, bodies of every framing and size,
//! redirects, errors, timeouts, and many fetches at once.

use std::time::Duration;

use eventlet_examples::fetch;
use eventlet_examples::site::{self, Page, Site};
use eventlet_rt::http::ureq::{self, ResponseExt};
use eventlet_rt::{GreenPool, spawn};

/// Every test runs against both sides of the site.
fn both(site: &Site, path: &str) -> [String; 2] {
    [site.url(path), site.https_url(path)]
}

#[test]
fn status_headers_and_body_of_a_page() {
    let site = Site::start().unwrap();
    let agent = site.agent();
    for url in both(&site, "/page/4") {
        let mut response = agent.get(&url).call().unwrap();
        assert_eq!(response.status(), 200);
        let headers = response.headers();
        assert_eq!(headers["content-type"], "text/html");
        assert_eq!(headers["server"], "eventlet-examples");
        let body = response.body_mut().read_to_string().unwrap();
        assert_eq!(body.len(), Page::new(4).size);
        assert!(body.starts_with("<html><body><h1>Page 4</h1>"), "{url}");
    }
}

#[test]
fn bodies_from_empty_to_eight_megabytes_with_either_framing() {
    let site = Site::start().unwrap();
    let agent = site.agent();
    for len in [0, 1, 4_095, 4_096, 65_537, 1 << 20, 8 << 20] {
        for framing in ["bytes", "chunked"] {
            for url in both(&site, &format!("/{framing}/{len}")) {
                let mut response = agent.get(&url).call().unwrap();
                let headers = response.headers();
                match framing {
                    "bytes" => assert_eq!(headers["content-length"], len.to_string().as_str()),
                    _ => assert_eq!(headers["transfer-encoding"], "chunked"),
                }
                let body = response
                    .body_mut()
                    .with_config()
                    .limit(16 << 20)
                    .read_to_vec()
                    .unwrap();
                assert!(body == site::bytes(len), "{url}: {} bytes", body.len());
            }
        }
    }
}

#[test]
fn a_redirect_is_followed() {
    let site = Site::start().unwrap();
    let agent = site.agent();
    for url in both(&site, "/redirect/6") {
        let mut response = agent.get(&url).call().unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response.get_uri().path() == "/page/6",
            "{}",
            response.get_uri()
        );
        assert_eq!(
            response.body_mut().read_to_vec().unwrap().len(),
            Page::new(6).size
        );
    }
}

#[test]
fn a_missing_page_is_a_404() {
    let site = Site::start().unwrap();
    let agent = site.agent();
    for url in both(&site, "/no/such/page") {
        let error = agent.get(&url).call().unwrap_err();
        assert!(matches!(error, ureq::Error::StatusCode(404)), "{error}");
        assert_eq!(error.to_string(), "http status: 404");
    }
}

#[test]
fn a_stalled_server_times_out_and_nobody_else_waits() {
    let site = Site::start().unwrap();
    let agent = fetch::agent(Some(site.certificate()), Duration::from_millis(300));
    for url in both(&site, "/stall") {
        let request = {
            let agent = agent.clone();
            spawn(move || agent.get(&url).call().map(|_| ()))
        };
        // Another green thread on the same hub ticks along meanwhile.
        let ticker = spawn(|| {
            for _ in 0..5 {
                eventlet_rt::sleep(Duration::from_millis(10));
            }
        });
        ticker.wait().unwrap();
        assert!(
            !request.is_finished(),
            "the ticker did not wait for the stalled request"
        );
        let error = request.wait().unwrap().unwrap_err();
        assert!(matches!(error, ureq::Error::Timeout(_)), "{error}");
    }
}

#[test]
fn a_hundred_fetches_at_once_through_imap() {
    let site = Site::start().unwrap();
    let agent = site.agent();
    let urls: Vec<(String, usize)> = (0..100)
        .map(|i| {
            let len = 1_000 + i * 997;
            let path = format!("/{}/{len}", ["bytes", "chunked"][i % 2]);
            let url = match i % 4 < 2 {
                true => site.url(&path),
                false => site.https_url(&path),
            };
            (url, len)
        })
        .collect();
    let pool = GreenPool::new(100);
    let lengths: Vec<usize> = pool
        .imap(
            move |(url, len): (String, usize)| {
                let body = fetch::get(&agent, &url).unwrap();
                assert!(body == site::bytes(len), "{url}");
                body.len()
            },
            urls.clone(),
        )
        .collect();
    let expected: Vec<usize> = urls.iter().map(|(_, len)| *len).collect();
    assert_eq!(lengths, expected, "every body, in input order");
}
