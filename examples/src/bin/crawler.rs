//! Eventlet's first example, the web crawler client: fetch many URLs at once
//! through a green pool and print each body's size in input order.
//!
//! ```text
//! cargo run --release -p eventlet-examples --bin crawler              # crawl an embedded local site
//! cargo run --release -p eventlet-examples --bin crawler -- URL...    # fetch these http:// and https:// URLs
//! ```
//!
//! With no URLs it starts a small web site in this same process, serving
//! `http://` and `https://` (a certificate made at start-up, trusted by this
//! run's client only), whose pages take 40 to 240 ms each, and fetches all
//! its pages, half of them over each. A URL that fails prints
//! `failed URL: reason` in its place and the crawl goes on; the exit code
//! says whether every fetch succeeded. The last line compares the wall time
//! with the sum of the single fetch times: what the same fetches would take
//! one by one.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use eventlet_examples::fetch;
use eventlet_examples::site::Site;
use eventlet_rt::http::ureq::{self, Agent};
use eventlet_rt::{GreenPool, pool_imap};

/// Fetches URLs at once on green threads and prints each body's size.
#[derive(Parser, Debug)]
struct Options {
    /// The URLs to fetch, http:// or https://; without any, the pages of an
    /// embedded local site, over both.
    urls: Vec<String>,
    /// At most this many fetches at once.
    #[arg(long, default_value_t = 200)]
    concurrency: usize,
    /// Seconds before a fetch gives up.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// Trust this CA certificate (a PEM file) for https:// instead of the
    /// usual roots, as curl's --cacert does.
    #[arg(long, value_name = "FILE")]
    cacert: Option<PathBuf>,
}

/// Fetches `url`: its body or why not, and how long that took.
fn timed_get(agent: &Agent, url: String) -> (String, Result<Vec<u8>, ureq::Error>, Duration) {
    let began = Instant::now();
    let body = fetch::get(agent, &url);
    (url, body, began.elapsed())
}

fn main() -> ExitCode {
    let options = Options::parse();
    let timeout = Duration::from_secs(options.timeout);
    let site;
    let (urls, agent) = if options.urls.is_empty() {
        site = Site::start().expect("cannot start the local site");
        println!(
            "serving a local site at {} and {}",
            site.url("/"),
            site.https_url("/")
        );
        (site.mixed_page_urls(), site.agent())
    } else {
        let agent = match &options.cacert {
            None => fetch::agent(None, timeout),
            Some(file) => {
                match std::fs::read(file)
                    .map_err(ureq::Error::from)
                    .and_then(|pem| fetch::agent_from_pem(&pem, timeout))
                {
                    Ok(agent) => agent,
                    Err(error) => {
                        eprintln!("crawler: --cacert {}: {error}", file.display());
                        return ExitCode::from(2);
                    }
                }
            }
        };
        (options.urls, agent)
    };

    let pool = GreenPool::new(options.concurrency);
    let start = Instant::now();
    let fetches = pool_imap!(pool, timed_get(&agent, url) for url in urls);
    let (mut count, mut failed, mut bytes) = (0, 0, 0);
    let mut one_by_one = Duration::ZERO;
    for (url, body, took) in fetches {
        count += 1;
        one_by_one += took;
        match body {
            Ok(body) => {
                bytes += body.len();
                println!("got body {}", body.len());
            }
            Err(error) => {
                failed += 1;
                println!("failed {url}: {error}");
            }
        }
    }
    let wall = start.elapsed();
    println!(
        "fetched {count} URLs ({failed} failed), {bytes} bytes in {:.3} s; one by one: {:.3} s ({:.1}x faster)",
        wall.as_secs_f64(),
        one_by_one.as_secs_f64(),
        one_by_one.as_secs_f64() / wall.as_secs_f64().max(1e-9),
    );
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
