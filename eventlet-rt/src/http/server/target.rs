//! The request target and `Host` (RFC 9112 section 3.2): which of the four
//! forms the target takes, whether the method allows it, and whether the
//! `Host` field is one a server may accept.

use ::http::{StatusCode, Uri};

use super::grammar::{ByteClass, alphanumeric_and};
use super::swar;

/// How a request names its target (RFC 9112 3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TargetForm {
    /// `/path?query`: every method but `CONNECT`.
    Origin,
    /// `http://host/path`: the host comes from the target, not `Host`.
    Absolute,
    /// `host:port`: `CONNECT` only.
    Authority,
    /// `*`: `OPTIONS` only.
    Asterisk,
}

/// Checks the raw target's bytes (as `httparse` let them through: visible
/// and non-ASCII bytes) for its form before it becomes a [`Uri`], and finds
/// where its query starts: a fragment (`#`) is never sent (RFC 9110 4.2.4)
/// and a target that starts with neither `/`, `*`, nor a scheme or host is
/// no target at all. `method` is the method's token, as sent.
pub(crate) fn read_target(
    method: &[u8],
    target: &[u8],
) -> Result<(TargetForm, Option<usize>), StatusCode> {
    let bad = Err(StatusCode::BAD_REQUEST);
    let Some(query_at) = scan(target) else {
        return bad;
    };
    let connect = method == b"CONNECT";
    let form = match target {
        [b'/', ..] => TargetForm::Origin,
        b"*" => TargetForm::Asterisk,
        _ if connect => TargetForm::Authority,
        [first, ..] if first.is_ascii_alphabetic() => TargetForm::Absolute,
        _ => return bad,
    };
    let allowed = match form {
        TargetForm::Origin | TargetForm::Absolute => !connect,
        TargetForm::Authority => true,
        TargetForm::Asterisk => method == b"OPTIONS",
    };
    if allowed { Ok((form, query_at)) } else { bad }
}

/// Where the first `?` of `target` is; `None` when it holds a `#`. Eight
/// bytes at a time up to the first word holding either, byte by byte from
/// there (most targets hold neither).
fn scan(target: &[u8]) -> Option<Option<usize>> {
    let mut at = 0;
    while at < target.len() {
        let word = swar::word_at(target, at, 0);
        if swar::marks(word, b'#') | swar::marks(word, b'?') != 0 {
            break;
        }
        at += 8;
    }
    let mut query_at = None;
    for (at, &b) in target.iter().enumerate().skip(at) {
        match b {
            b'#' => return None,
            b'?' if query_at.is_none() => query_at = Some(at),
            _ => {}
        }
    }
    Some(query_at)
}

/// Whether the parsed `uri` is what its form promised: an absolute target
/// has a scheme and a host, an authority target nothing but `host:port`.
pub(crate) fn uri_fits(form: TargetForm, uri: &Uri) -> bool {
    match form {
        TargetForm::Origin | TargetForm::Asterisk => true,
        TargetForm::Absolute => {
            uri.scheme().is_some() && uri.authority().is_some_and(|a| !a.host().is_empty())
        }
        TargetForm::Authority => {
            uri.scheme().is_none() && uri.authority().is_some_and(|a| a.port().is_some())
        }
    }
}

/// Whether `value` is a `Host` a server may accept: `uri-host [":" port]`,
/// checked byte by byte as Go's `net/http` does (RFC 3986's unreserved,
/// sub-delims, `%` escapes, `:` and the brackets of an IP literal). An empty
/// value is valid (RFC 9110 7.2, a target without authority).
pub(crate) fn valid_host(value: &[u8]) -> bool {
    // No early exit: one table look-up and one `and` per byte.
    value
        .iter()
        .fold(true, |valid, &b| valid & HOST_BYTE[usize::from(b)])
}

/// The bytes a `Host` value may hold, by value: RFC 3986's unreserved and
/// sub-delims, `%`, `:` and the brackets of an IP literal.
const HOST_BYTE: ByteClass = alphanumeric_and(b"-._~%!$&'()*+,;=:[]");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_and_the_methods_they_belong_to() {
        let form = |method: &str, target: &str| {
            read_target(method.as_bytes(), target.as_bytes()).map(|(form, _)| form)
        };
        assert_eq!(form("GET", "/a?b"), Ok(TargetForm::Origin));
        assert_eq!(form("GET", "http://h/a"), Ok(TargetForm::Absolute));
        assert_eq!(form("OPTIONS", "*"), Ok(TargetForm::Asterisk));
        assert_eq!(form("CONNECT", "h:443"), Ok(TargetForm::Authority));
        assert_eq!(
            form("connect", "h:443"),
            Ok(TargetForm::Absolute),
            "methods are case-sensitive"
        );
        for (method, target) in [
            ("GET", "!"),
            ("GET", "/p#frag"),
            ("GET", "*"),
            ("CONNECT", "/"),
            ("GET", "?q"),
        ] {
            assert_eq!(
                form(method, target),
                Err(StatusCode::BAD_REQUEST),
                "{method} {target}"
            );
        }
    }

    #[test]
    fn queries_and_fragments_found_anywhere() {
        let long = "/abcdefgh".repeat(5);
        for target in ["/", "/a", "/plaintext", long.as_str()] {
            assert_eq!(scan(target.as_bytes()), Some(None), "{target}");
            for at in 1..=target.len() {
                let (before, after) = target.split_at(at);
                let queried = format!("{before}?{after}?x");
                assert_eq!(scan(queried.as_bytes()), Some(Some(at)), "{queried}");
                let fragment = format!("{before}#{after}");
                assert_eq!(scan(fragment.as_bytes()), None, "{fragment}");
                let both = format!("{before}?q#{after}");
                assert_eq!(scan(both.as_bytes()), None, "{both}");
            }
        }
        // Bytes next to the ones sought, and non-ASCII bytes, are not taken for them.
        assert_eq!(
            scan("/\x22\x24\x3e\x40\u{e9}\u{3f}".as_bytes()),
            Some(Some(7))
        );
        assert_eq!(
            scan(&[b'/', 0xa3, 0xbf, 0x23 ^ 0x80, b'a', b'b', b'c', b'd', b'e']),
            Some(None)
        );
    }

    #[test]
    fn a_parsed_target_must_match_its_form() {
        let fits = |form, uri: &'static str| uri_fits(form, &Uri::from_static(uri));
        assert!(fits(TargetForm::Absolute, "http://h/a"));
        assert!(!fits(TargetForm::Absolute, "h:443"));
        assert!(fits(TargetForm::Authority, "h:443"));
        assert!(!fits(TargetForm::Authority, "http://h:443/"));
    }

    #[test]
    fn host_values() {
        for good in [
            "",
            "a.com",
            "a.com:80",
            "1.2.3.4",
            "[::1]:80",
            "[::1%25en0]",
            "a_b-c",
        ] {
            assert!(valid_host(good.as_bytes()), "{good}");
        }
        for bad in [&b"{"[..], b"}", b"a b", b"\xff", b"\x06", b"a/b", b"a@b"] {
            assert!(!valid_host(bad), "{bad:?}");
        }
    }
}
