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
    let first = stdout.lines().next().unwrap();
    assert!(
        first.contains("http://") && first.contains("https://"),
        "{first}"
    );
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

/// Runs the crawler with `args` while this thread's hub serves the site:
/// the child is waited for on a pool thread.
fn crawl(args: Vec<String>) -> (bool, String) {
    let output = eventlet_rt::tpool::execute(move || {
        Command::new(env!("CARGO_BIN_EXE_crawler"))
            .args(args)
            .output()
    })
    .unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

/// The site's certificate in a PEM file for `--cacert`; removed on drop.
struct CaFile(std::path::PathBuf);

impl CaFile {
    fn of(site: &Site) -> CaFile {
        let path = std::env::temp_dir().join(format!(
            "eventlet-crawler-test-{}-{}.pem",
            std::process::id(),
            site.addr().port()
        ));
        std::fs::write(&path, site.certificate_pem()).unwrap();
        CaFile(path)
    }

    fn arg(&self) -> String {
        self.0.to_str().unwrap().to_owned()
    }
}

impl Drop for CaFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn crawler_fetches_the_http_and_https_urls_it_is_given() {
    let site = Site::start().unwrap();
    let ca = CaFile::of(&site);
    let urls = [
        site.https_url("/page/5"),
        site.url("/page/3"),
        site.https_url("/"),
        site.https_url("/page/3"),
    ];
    let mut args = vec!["--cacert".to_owned(), ca.arg()];
    args.extend(urls);
    let (success, stdout) = crawl(args);
    assert!(success, "{stdout}");
    let (bodies, summary) = bodies_and_summary(&stdout);
    let (five, three) = (Page::new(5).size, Page::new(3).size);
    assert_eq!(bodies, [five, three, 1_000, three]);
    assert!(
        summary.starts_with("fetched 4 URLs (0 failed)"),
        "{summary}"
    );
}

#[test]
fn an_https_url_it_cannot_verify_fails_alone_and_the_crawl_goes_on() {
    let site = Site::start().unwrap();
    // No --cacert: the site's self-signed certificate is not trusted.
    let untrusted = site.https_url("/page/2");
    let (success, stdout) = crawl(vec![site.url("/page/1"), untrusted.clone(), site.url("/")]);
    assert!(!success, "the exit code says one failed");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], format!("got body {}", Page::new(1).size));
    assert!(
        lines[1].starts_with(&format!("failed {untrusted}: ")),
        "{stdout}"
    );
    assert!(lines[1].contains("UnknownIssuer"), "{stdout}");
    assert_eq!(lines[2], "got body 1000");
    assert!(
        lines[3].starts_with("fetched 3 URLs (1 failed)"),
        "{stdout}"
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
