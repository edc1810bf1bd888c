//! Redirect targets that come from input (`retour=`, `suite=`): only a path
//! on this site, or the fallback. One check for every such redirect, so
//! that no `Location` header ever sends a browser to another host and none
//! fails to be written (a CR or LF in a header value).

use axum::http::header::LOCATION;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Is `target` a path on this site, whatever a browser or a proxy does to it?
///
/// Accepted: visible ASCII only (no control character, no space, no
/// non-ASCII letter: our own URLs are percent-encoded), starting with one
/// `/` that is not followed by `/` or `\`, no `\` anywhere (browsers read it
/// as `/`), and the same again once percent-decoded (`/%09/host`,
/// `/%2F/host`, `/%5Chost`), with no malformed `%` escape.
pub fn is_local(target: &str) -> bool {
    fn starts_local(s: &[u8]) -> bool {
        s.first() == Some(&b'/') && !matches!(s.get(1), Some(b'/') | Some(b'\\'))
    }
    let raw = target.as_bytes();
    if !starts_local(raw) || !raw.iter().all(|b| (0x21..=0x7e).contains(b) && *b != b'\\') {
        return false;
    }
    // Decoded, a space or a UTF-8 letter is fine (`sant%C3%A9`), a control
    // character or a backslash is not.
    match percent_decode(raw) {
        Some(d) => starts_local(&d) && d.iter().all(|b| *b >= 0x20 && *b != 0x7f && *b != b'\\'),
        None => false,
    }
}

/// Decode `%XX` escapes; `None` on a malformed escape.
fn percent_decode(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    Some(out)
}

/// `target` when it is local (see [`is_local`]), else `fallback`.
pub fn local_or(target: Option<&str>, fallback: &str) -> String {
    match target {
        Some(t) if is_local(t) => t.to_owned(),
        _ => fallback.to_owned(),
    }
}

/// A 303 to a target already checked by [`local_or`] (or built by us).
/// Never panics and never answers 500: an unwritable target goes to `/`.
pub fn see_other(target: &str) -> Response {
    let value = HeaderValue::from_str(target).unwrap_or_else(|_| HeaderValue::from_static("/"));
    (StatusCode::SEE_OTHER, [(LOCATION, value)]).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_pass() {
        for ok in [
            "/",
            "/admin/",
            "/t/lens-lievin/agenda?page=2&theme=sant%C3%A9",
            "/t/lens-lievin/evenements/3#inscription",
        ] {
            assert!(is_local(ok), "{ok}");
        }
    }

    #[test]
    fn other_hosts_and_bad_bytes_are_refused() {
        for bad in [
            "",
            "evil.example",
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/%09/evil.example",
            "/%0d/x",
            "/\r\nSet-Cookie: x=1",
            "/%2F/evil.example",
            "/%5Cevil.example",
            "/a\\b",
            "/ x",
            "/é",
            "/%zz",
            "/%",
            " /admin/",
        ] {
            assert!(!is_local(bad), "{bad:?}");
        }
        assert_eq!(local_or(Some("/%09/evil.example"), "/"), "/");
        assert_eq!(local_or(None, "/admin/"), "/admin/");
    }

    mod fuzz {
        use super::super::*;
        use proptest::prelude::*;

        /// Pieces that make redirect targets tricky.
        fn piece() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("/".to_owned()),
                Just("\\".to_owned()),
                Just("%".to_owned()),
                Just("%2f".to_owned()),
                Just("%2F".to_owned()),
                Just("%5c".to_owned()),
                Just("%09".to_owned()),
                Just("%0d".to_owned()),
                Just("%0a".to_owned()),
                Just("%00".to_owned()),
                Just("%25".to_owned()),
                Just("\t".to_owned()),
                Just("\r".to_owned()),
                Just("\n".to_owned()),
                Just(" ".to_owned()),
                Just(".".to_owned()),
                Just(":".to_owned()),
                Just("@".to_owned()),
                Just("?".to_owned()),
                Just("#".to_owned()),
                Just("evil.example".to_owned()),
                Just("https:".to_owned()),
                Just("javascript:".to_owned()),
                Just("é".to_owned()),
                proptest::collection::vec(
                    proptest::sample::select(vec!['a', 'z', '0', '9', '-', '_']),
                    1..6
                )
                .prop_map(|v| v.into_iter().collect::<String>()),
                any::<char>().prop_map(String::from),
            ]
        }

        fn target() -> impl Strategy<Value = String> {
            prop_oneof![
                proptest::collection::vec(piece(), 0..8).prop_map(|v| v.concat()),
                any::<String>(),
            ]
        }

        /// The host a browser would go to for `target` on our site, read
        /// by a WHATWG URL parser (the one reqwest uses).
        fn host_for(target: &str) -> Option<String> {
            let base = reqwest::Url::parse("https://maillage.test/t/lens/").unwrap();
            base.join(target)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(4000))]

            #[test]
            fn never_panics_and_never_leaves_the_site(t in target()) {
                let ok = is_local(&t);
                let _ = local_or(Some(&t), "/");
                let _ = see_other(&t);
                if ok {
                    // Writable as a header, read as this site by a browser,
                    // as is, and once percent-decoded.
                    prop_assert!(HeaderValue::from_str(&t).is_ok());
                    prop_assert_eq!(host_for(&t), Some("maillage.test".to_owned()));
                    let decoded = String::from_utf8_lossy(&percent_decode(t.as_bytes()).unwrap()).into_owned();
                    prop_assert_eq!(host_for(&decoded), Some("maillage.test".to_owned()));
                    prop_assert!(t.starts_with('/') && !t.starts_with("//"));
                }
            }
        }
    }
}
