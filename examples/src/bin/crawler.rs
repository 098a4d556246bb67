//! Eventlet's first example, the web crawler client: fetch many URLs at once
//! through a green pool and print each body's size in input order.
//!
//! ```text
//! cargo run --release -p eventlet-examples --bin crawler              # crawl an embedded local site
//! cargo run --release -p eventlet-examples --bin crawler -- URL...    # fetch these http:// URLs
//! ```
//!
//! With no URLs it starts a small web site in this same process (a green
//! server whose pages take 40 to 240 ms each) and fetches all its pages. The
//! last line compares the wall time with the sum of the single fetch times:
//! what the same fetches would take one by one.

use std::time::{Duration, Instant};

use eventlet_examples::args::Args;
use eventlet_examples::http_fetch;
use eventlet_examples::site::Site;
use eventlet_rt::GreenPool;

fn main() {
    let args = Args::from_env();
    let concurrency: usize = args.value("concurrency", 200);
    let site;
    let urls: Vec<String> = if args.positional().is_empty() {
        site = Site::start().expect("cannot start the local site");
        println!("serving a local site at {}", site.url("/"));
        site.page_urls()
    } else {
        args.positional().to_vec()
    };

    let pool = GreenPool::new(concurrency);
    let start = Instant::now();
    let fetches = pool.imap(
        |url: String| {
            let began = Instant::now();
            let response = http_fetch::get(&url);
            (url, response, began.elapsed())
        },
        urls,
    );
    let (mut count, mut failed, mut bytes) = (0, 0, 0);
    let mut one_by_one = Duration::ZERO;
    for (url, response, took) in fetches {
        count += 1;
        one_by_one += took;
        match response {
            Ok(response) => {
                bytes += response.body().len();
                println!("got body {}", response.body().len());
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
        std::process::exit(1);
    }
}
