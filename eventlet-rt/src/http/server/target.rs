//! The request target and `Host` (RFC 9112 section 3.2): which of the four
//! forms the target takes, whether the method allows it, and whether the
//! `Host` field is one a server may accept.

use ::http::{Method, StatusCode, Uri};

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

/// Checks the raw target's bytes for its form before it becomes a [`Uri`]:
/// a fragment (`#`) is never sent (RFC 9110 4.2.4) and a target that starts
/// with neither `/`, `*`, nor a scheme or host is no target at all.
pub(crate) fn target_form(method: &Method, target: &[u8]) -> Result<TargetForm, StatusCode> {
    let bad = Err(StatusCode::BAD_REQUEST);
    if target.contains(&b'#') {
        return bad;
    }
    let form = match target {
        [b'/', ..] => TargetForm::Origin,
        b"*" => TargetForm::Asterisk,
        _ if *method == Method::CONNECT => TargetForm::Authority,
        [first, ..] if first.is_ascii_alphabetic() => TargetForm::Absolute,
        _ => return bad,
    };
    let allowed = match form {
        TargetForm::Origin | TargetForm::Absolute => *method != Method::CONNECT,
        TargetForm::Authority => true,
        TargetForm::Asterisk => *method == Method::OPTIONS,
    };
    if allowed { Ok(form) } else { bad }
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
    value.iter().all(|&b| HOST_BYTE[usize::from(b)])
}

/// The bytes a `Host` value may hold, by value.
const HOST_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'%'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'['
                    | b']'
            );
        b += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_and_the_methods_they_belong_to() {
        let form = |method: &str, target: &str| {
            target_form(
                &Method::from_bytes(method.as_bytes()).unwrap(),
                target.as_bytes(),
            )
        };
        assert_eq!(form("GET", "/a?b"), Ok(TargetForm::Origin));
        assert_eq!(form("GET", "http://h/a"), Ok(TargetForm::Absolute));
        assert_eq!(form("OPTIONS", "*"), Ok(TargetForm::Asterisk));
        assert_eq!(form("CONNECT", "h:443"), Ok(TargetForm::Authority));
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
