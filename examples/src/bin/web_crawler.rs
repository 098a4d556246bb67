//! Eventlet's producer/consumer web crawler: a `Queue` of URLs to visit, a
//! `GreenPile` of fetches in flight; each page's links go back on the queue,
//! and every URL of the site is fetched exactly once.
//!
//! ```text
//! cargo run --release -p eventlet-examples --bin web_crawler                   # crawl an embedded local site
//! cargo run --release -p eventlet-examples --bin web_crawler -- https://host/  # crawl that site (--max 100 pages)
//! ```
//!
//! The crawl stays on the start URL's host. It goes in waves: the producer
//! takes every queued URL not seen yet and spawns its fetch into a pile; the
//! fetchers (consumers of URLs, producers of links) put what they find on the
//! queue; when the wave is in, the next one starts, until the queue is empty.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use clap::Parser;

use eventlet_examples::fetch;
use eventlet_examples::site::Site;
use eventlet_rt::http::ureq::Agent;
use eventlet_rt::{GreenPile, GreenPool, Queue};
use http::Uri;

/// Fetches `url`, queues every link it finds; gives the body's size.
fn visit(agent: &Agent, url: String, found: Queue<String>) -> (String, Result<usize, String>) {
    match fetch::get(agent, &url) {
        Ok(body) => {
            for link in links(&String::from_utf8_lossy(&body)) {
                found.put(absolute(&url, link));
            }
            (url, Ok(body.len()))
        }
        Err(error) => (url, Err(error.to_string())),
    }
}

/// The targets of the `href="..."` attributes in `html`.
fn links(html: &str) -> impl Iterator<Item = &str> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split_once('"').map(|(link, _)| link))
}

/// `link` made absolute against the page it was found on.
fn absolute(page: &str, link: &str) -> String {
    if link.contains("://") {
        return link.to_owned();
    }
    let origin = page
        .parse::<Uri>()
        .ok()
        .and_then(|uri| Some(format!("{}://{}", uri.scheme_str()?, uri.authority()?)))
        .unwrap_or_default();
    format!("{origin}/{}", link.trim_start_matches('/'))
}

fn authority(url: &str) -> Option<String> {
    Some(url.parse::<Uri>().ok()?.authority()?.as_str().to_owned())
}

/// Crawls a site breadth-first, following links, each URL once.
#[derive(Parser, Debug)]
struct Options {
    /// Where to start (http:// or https://); without it, an embedded local site, over https://.
    start_url: Option<String>,
    /// At most this many pages.
    #[arg(long, default_value_t = 100)]
    max: usize,
    /// At most this many fetches at once.
    #[arg(long, default_value_t = 50)]
    concurrency: usize,
}

fn main() {
    let options = Options::parse();
    let max_pages = options.max;
    let pool = GreenPool::new(options.concurrency);
    let site;
    let (start_url, agent) = match options.start_url {
        Some(url) => (url, fetch::agent(None, Duration::from_secs(30))),
        None => {
            site = Site::start().expect("cannot start the local site");
            (site.https_url("/"), site.agent())
        }
    };
    let home = authority(&start_url);

    let started = Instant::now();
    let queue: Queue<String> = Queue::new();
    queue.put(start_url);
    let mut seen = HashSet::new();
    let (mut fetched, mut bytes, mut failed) = (0, 0, 0);
    while !queue.is_empty() {
        let wave: GreenPile<(String, Result<usize, String>)> = GreenPile::with_pool(&pool);
        while let Some(url) = queue.try_get() {
            if authority(&url) == home && seen.len() < max_pages && seen.insert(url.clone()) {
                let (found, agent) = (queue.clone(), agent.clone());
                wave.spawn(move || visit(&agent, url, found));
            }
        }
        for (url, outcome) in wave {
            fetched += 1;
            match outcome {
                Ok(size) => {
                    bytes += size;
                    println!("fetched {url} ({size} bytes)");
                }
                Err(error) => {
                    failed += 1;
                    println!("failed {url}: {error}");
                }
            }
        }
    }
    println!(
        "crawled {fetched} pages ({failed} failed, {bytes} bytes) in {:.3} s",
        started.elapsed().as_secs_f64()
    );
}
