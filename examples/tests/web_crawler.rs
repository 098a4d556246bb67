//! The web crawler program, run as a child process against its local site
//! (which it crawls over `https://`).

use std::collections::HashSet;
use std::process::Command;

use eventlet_examples::site::{PAGES, Page};

#[test]
fn web_crawler_fetches_every_page_of_the_site_exactly_once() {
    let output = Command::new(env!("CARGO_BIN_EXE_web_crawler"))
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let fetched: Vec<&str> = stdout
        .lines()
        .filter_map(|line| line.strip_prefix("fetched https://"))
        .map(|rest| {
            let path_and_size = &rest[rest.find('/').unwrap()..];
            path_and_size.split(' ').next().unwrap()
        })
        .collect();
    let unique: HashSet<&str> = fetched.iter().copied().collect();
    assert_eq!(unique.len(), fetched.len(), "no page twice: {fetched:?}");
    let mut expected: HashSet<String> = (0..PAGES).map(|i| Page::new(i).path()).collect();
    expected.insert("/".to_owned());
    assert_eq!(
        unique,
        expected.iter().map(String::as_str).collect(),
        "every page of the site, nothing off-site"
    );
    let summary = stdout.lines().last().unwrap();
    assert!(
        summary.starts_with(&format!("crawled {} pages (0 failed", PAGES + 1)),
        "{summary}"
    );
}
