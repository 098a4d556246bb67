//! The crawler program, run as a child process against a loopback site.

use std::process::Command;

use eventlet_examples::site::{PAGES, Page, Site};

fn bodies_and_summary(stdout: &str) -> (Vec<usize>, &str) {
    let bodies = stdout
        .lines()
        .filter_map(|line| line.strip_prefix("got body "))
        .map(|n| n.parse().unwrap())
        .collect();
    (bodies, stdout.lines().last().unwrap())
}

#[test]
fn crawler_with_no_arguments_fetches_its_local_site_concurrently_in_order() {
    let output = Command::new(env!("CARGO_BIN_EXE_crawler"))
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let (bodies, summary) = bodies_and_summary(&stdout);
    let expected: Vec<usize> = (0..PAGES).map(|i| Page::new(i).size).collect();
    assert_eq!(bodies, expected, "input order, right sizes");
    let total: usize = expected.iter().sum();
    assert!(
        summary.starts_with(&format!(
            "fetched {PAGES} URLs (0 failed), {total} bytes in "
        )),
        "{summary}"
    );
    // "... one by one: 3.333 s (13.5x faster)": the fetches overlapped.
    let speedup: f64 = summary
        .rsplit('(')
        .next()
        .and_then(|s| s.strip_suffix("x faster)"))
        .unwrap()
        .parse()
        .unwrap();
    assert!(speedup > 3.0, "{summary}");
}

#[test]
fn crawler_fetches_the_urls_it_is_given() {
    let site = Site::start().unwrap();
    let urls = [
        site.url("/page/5"),
        site.url("/page/3"),
        site.url("/"),
        site.url("/page/3"),
    ];
    let args = urls.clone();
    // The site runs on this thread's hub: wait for the child on a pool thread.
    let output = eventlet_rt::tpool::execute(move || {
        Command::new(env!("CARGO_BIN_EXE_crawler"))
            .args(args)
            .output()
    })
    .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let (bodies, summary) = bodies_and_summary(&stdout);
    let (five, three) = (Page::new(5).size, Page::new(3).size);
    assert_eq!(bodies, [five, three, 1_000, three]);
    assert!(
        summary.starts_with("fetched 4 URLs (0 failed)"),
        "{summary}"
    );
}

#[test]
fn crawler_reports_a_url_it_cannot_fetch_and_fails() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", closed.local_addr().unwrap());
    drop(closed);
    let output = Command::new(env!("CARGO_BIN_EXE_crawler"))
        .arg(&url)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains(&format!("failed {url}: ")), "{stdout}");
    assert!(stdout.contains("fetched 1 URLs (1 failed)"), "{stdout}");
}
