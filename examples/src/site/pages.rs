//! What the site serves: its pages, the bodies of the test routes, and
//! which path gets what.

use std::time::Duration;

/// How many pages the site has (besides its index, `/`).
pub const PAGES: usize = 24;

/// How long `/stall` waits before it answers.
pub const STALL: Duration = Duration::from_secs(60);

/// What the site serves at `/page/{index}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Its position, 0 to `PAGES - 1`.
    pub index: usize,
    /// Body length in bytes.
    pub size: usize,
    /// How long the server takes before it answers.
    pub latency: Duration,
}

impl Page {
    /// Page `index`: sizes from 2 KB to 62 KB, latencies from 40 to 240 ms.
    ///
    /// ```
    /// let page = eventlet_examples::site::Page::new(3);
    /// assert_eq!(page.path(), "/page/3");
    /// assert!(page.size >= 2_000 && page.latency >= std::time::Duration::from_millis(40));
    /// ```
    pub fn new(index: usize) -> Page {
        Page {
            index,
            size: 2_000 + (index * 7_919) % 60_000,
            latency: Duration::from_millis(40 + (index as u64 * 53) % 200),
        }
    }

    /// Its path on the site.
    ///
    /// ```
    /// assert_eq!(eventlet_examples::site::Page::new(7).path(), "/page/7");
    /// ```
    pub fn path(&self) -> String {
        format!("/page/{}", self.index)
    }

    /// The pages it links to: its children in a binary tree, so a crawl
    /// from `/page/0` reaches them all; plus links back home and off-site.
    ///
    /// ```
    /// let links = eventlet_examples::site::Page::new(0).links();
    /// assert_eq!(links[..2], ["/page/1", "/page/2"]);
    /// ```
    pub fn links(&self) -> Vec<String> {
        let mut links: Vec<String> = [2 * self.index + 1, 2 * self.index + 2]
            .into_iter()
            .filter(|&child| child < PAGES)
            .map(|child| Page::new(child).path())
            .collect();
        links.push("/".to_owned());
        links.push("http://elsewhere.invalid/".to_owned());
        links
    }

    fn body(&self) -> Vec<u8> {
        let mut html = format!("<html><body><h1>Page {}</h1>\n", self.index);
        for link in self.links() {
            html.push_str(&format!("<a href=\"{link}\">{link}</a>\n"));
        }
        html.push_str("<p>");
        filled_to(html.into_bytes(), self.size, "</p></body></html>\n")
    }
}

/// The body of `/bytes/{len}` and `/chunked/{len}`: `len` bytes counting
/// up modulo 251, so a misplaced byte shows.
///
/// ```
/// assert_eq!(eventlet_examples::site::bytes(3), [0, 1, 2]);
/// ```
pub fn bytes(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// `start`, padded with text until it is `size` bytes long with `end` last.
fn filled_to(mut start: Vec<u8>, size: usize, end: &str) -> Vec<u8> {
    const FILLER: &[u8] = b"green threads cooperate on one hub. ";
    let room = size.saturating_sub(start.len() + end.len());
    start.extend(FILLER.iter().cycle().take(room));
    start.extend_from_slice(end.as_bytes());
    start
}

/// What the site sends for a path.
pub(super) enum Route {
    Body {
        latency: Duration,
        content_type: &'static str,
        body: Vec<u8>,
        chunked: bool,
    },
    Redirect(String),
}

pub(super) fn route(path: &str) -> Option<Route> {
    let html = |latency, body, chunked| Route::Body {
        latency,
        content_type: "text/html",
        body,
        chunked,
    };
    let binary = |len: usize, chunked| Route::Body {
        latency: Duration::ZERO,
        content_type: "application/octet-stream",
        body: bytes(len),
        chunked,
    };
    let (kind, arg) = match path.rsplit_once('/') {
        Some((kind, arg)) if !kind.is_empty() => (kind, arg),
        _ => (path, ""),
    };
    match (kind, arg.parse::<usize>().ok()) {
        ("/", None) => Some(html(Duration::from_millis(10), index_body(), false)),
        ("/stall", None) => Some(html(STALL, Vec::new(), false)),
        ("/page", Some(index)) if index < PAGES => {
            let page = Page::new(index);
            Some(html(page.latency, page.body(), index % 3 == 0))
        }
        ("/bytes", Some(len)) => Some(binary(len, false)),
        ("/chunked", Some(len)) => Some(binary(len, true)),
        ("/redirect", Some(index)) => Some(Route::Redirect(Page::new(index).path())),
        _ => None,
    }
}

fn index_body() -> Vec<u8> {
    let start = format!(
        "<html><body><a href=\"{}\">start</a>\n",
        Page::new(0).path()
    );
    filled_to(start.into_bytes(), 1_000, "</body></html>\n")
}
